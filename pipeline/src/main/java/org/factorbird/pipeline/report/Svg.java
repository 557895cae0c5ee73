package org.factorbird.pipeline.report;

import java.util.List;
import java.util.Locale;

/**
 * Charts as inline SVG strings, for {@link Report}: line charts (one polyline per series, a point marker per
 * value), horizontal bar charts and heat maps, each with a title, labelled axes and ticks. No scripts and no fonts
 * beyond the browser's own: the report is one self-contained file.
 */
final class Svg {

    static final int WIDTH = 640;
    static final int HEIGHT = 300;
    private static final int LEFT = 70;
    private static final int RIGHT = 150;
    private static final int TOP = 34;
    private static final int BOTTOM = 44;
    /** Distinct colours for the first series; later ones cycle. */
    static final String[] COLORS = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
        "#17becf", "#bcbd22", "#7f7f7f"};

    private Svg() {}

    /** One line of a chart: y[i] at x[i]; NaN values are gaps. */
    record Series(String name, double[] x, double[] y, String color, double strokeWidth) {}

    /** A line chart of {@code series}; the legend lists at most 12 of them. */
    static String lines(String title, String xLabel, String yLabel, List<Series> series) {
        double xMin = Double.POSITIVE_INFINITY;
        double xMax = Double.NEGATIVE_INFINITY;
        double yMin = Double.POSITIVE_INFINITY;
        double yMax = Double.NEGATIVE_INFINITY;
        for (Series s : series) {
            for (int i = 0; i < s.x.length; i++) {
                if (Double.isFinite(s.y[i])) {
                    xMin = Math.min(xMin, s.x[i]);
                    xMax = Math.max(xMax, s.x[i]);
                    yMin = Math.min(yMin, s.y[i]);
                    yMax = Math.max(yMax, s.y[i]);
                }
            }
        }
        StringBuilder sb = start(title);
        if (xMin > xMax) {
            sb.append(text(WIDTH / 2.0, HEIGHT / 2.0, "middle", "no values")).append("</svg>\n");
            return sb.toString();
        }
        if (xMin == xMax) {
            xMin -= 1;
            xMax += 1;
        }
        double pad = (yMax - yMin) * 0.05;
        if (pad == 0) {
            pad = Math.max(Math.abs(yMax) * 0.05, 1e-9);
        }
        // counts and rates never go below 0: neither does their axis
        double[] ys = ticks(yMin >= 0 ? Math.max(0, yMin - pad) : yMin - pad, yMax + pad);
        double[] xs = ticks(xMin, xMax);
        Scale sx = new Scale(xMin, xMax, LEFT, WIDTH - RIGHT);
        Scale sy = new Scale(ys[0], ys[ys.length - 1], HEIGHT - BOTTOM, TOP);
        axes(sb, xLabel, yLabel, xs, ys, sx, sy);
        int legend = 0;
        for (Series s : series) {
            StringBuilder pts = new StringBuilder();
            StringBuilder dots = new StringBuilder();
            for (int i = 0; i < s.x.length; i++) {
                if (!Double.isFinite(s.y[i])) {
                    flush(sb, pts, s);
                    continue;
                }
                String p = fmt(sx.at(s.x[i])) + "," + fmt(sy.at(s.y[i]));
                pts.append(pts.length() == 0 ? "" : " ").append(p);
                if (s.x.length <= 60) {
                    dots.append(String.format(Locale.ROOT, "<circle class=\"pt\" cx=\"%s\" cy=\"%s\" r=\"%s\" fill=\"%s\"/>",
                            fmt(sx.at(s.x[i])), fmt(sy.at(s.y[i])), fmt(1 + s.strokeWidth), s.color));
                }
            }
            flush(sb, pts, s);
            sb.append(dots);
            if (legend < 12) {
                double ly = TOP + 8 + 16 * legend++;
                sb.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%s\" x2=\"%d\" y2=\"%s\" stroke=\"%s\" "
                        + "stroke-width=\"3\"/>", WIDTH - RIGHT + 12, fmt(ly), WIDTH - RIGHT + 30, fmt(ly), s.color));
                sb.append(text(WIDTH - RIGHT + 35, ly + 4, "start", s.name));
            } else if (legend++ == 12) {
                sb.append(text(WIDTH - RIGHT + 12, TOP + 8 + 16 * 12 + 4, "start",
                        "and " + (series.size() - 12) + " more"));
            }
        }
        return sb.append("</svg>\n").toString();
    }

    private static void flush(StringBuilder sb, StringBuilder pts, Series s) {
        if (pts.length() > 0) {
            sb.append(String.format(Locale.ROOT, "<polyline class=\"series\" data-name=\"%s\" fill=\"none\" "
                    + "stroke=\"%s\" stroke-width=\"%s\" points=\"%s\"/>", escape(s.name), s.color, fmt(s.strokeWidth),
                    pts));
            pts.setLength(0);
        }
    }

    /** Horizontal bars: {@code values[i]} (in {@code unit}) for {@code labels[i]}. */
    static String bars(String title, String unit, List<String> labels, double[] values) {
        int rowH = 22;
        int height = TOP + BOTTOM + rowH * Math.max(1, labels.size());
        StringBuilder sb = start(title, height);
        double max = 0;
        for (double v : values) {
            max = Math.max(max, v);
        }
        double[] xs = ticks(0, max > 0 ? max : 1);
        Scale sx = new Scale(0, xs[xs.length - 1], LEFT + 70, WIDTH - 40);
        for (double t : xs) {
            sb.append(String.format(Locale.ROOT, "<line x1=\"%s\" y1=\"%d\" x2=\"%s\" y2=\"%d\" stroke=\"#ddd\"/>",
                    fmt(sx.at(t)), TOP, fmt(sx.at(t)), height - BOTTOM));
            sb.append(text(sx.at(t), height - BOTTOM + 16, "middle", num(t)));
        }
        sb.append(text((LEFT + 70 + WIDTH - 40) / 2.0, height - 8, "middle", unit));
        for (int i = 0; i < labels.size(); i++) {
            double y = TOP + i * rowH + 3;
            sb.append(text(LEFT + 64, y + 13, "end", labels.get(i)));
            sb.append(String.format(Locale.ROOT, "<rect class=\"bar\" x=\"%d\" y=\"%s\" width=\"%s\" height=\"%d\" "
                    + "fill=\"%s\"/>", LEFT + 70, fmt(y), fmt(Math.max(1, sx.at(values[i]) - (LEFT + 70))), rowH - 6,
                    COLORS[0]));
            sb.append(text(Math.max(sx.at(values[i]), LEFT + 71) + 4, y + 13, "start", num(values[i])));
        }
        return sb.append("</svg>\n").toString();
    }

    /**
     * A heat map: {@code cells[r][c]} for row value {@code rows[r]} and column value {@code cols[c]} (NaN: no
     * model), the lowest value darkest; each cell shows its value.
     */
    static String heatMap(String title, String colName, List<String> cols, String rowName, List<String> rows,
            double[][] cells) {
        int cellW = Math.min(90, (WIDTH - LEFT - 40) / Math.max(1, cols.size()));
        int cellH = 26;
        int height = TOP + BOTTOM + cellH * rows.size() + 10;
        StringBuilder sb = start(title, height);
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (double[] r : cells) {
            for (double v : r) {
                if (Double.isFinite(v)) {
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
            }
        }
        int x0 = LEFT + 40;
        for (int r = 0; r < rows.size(); r++) {
            sb.append(text(x0 - 6, TOP + r * cellH + 17, "end", rows.get(r)));
            for (int c = 0; c < cols.size(); c++) {
                double v = cells[r][c];
                double t = !Double.isFinite(v) || hi == lo ? 0 : (v - lo) / (hi - lo); // 0 best
                String fill = Double.isFinite(v) ? String.format(Locale.ROOT, "rgb(%d,%d,%d)", (int) (30 + 215 * t),
                        (int) (120 + 110 * t), (int) (60 + 180 * t)) : "#f4f4f4";
                sb.append(String.format(Locale.ROOT, "<rect class=\"cell\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                        + "fill=\"%s\" stroke=\"#fff\"/>", x0 + c * cellW, TOP + r * cellH, cellW, cellH, fill));
                sb.append(String.format(Locale.ROOT, "<text x=\"%s\" y=\"%d\" text-anchor=\"middle\" font-size=\"11\" "
                        + "fill=\"%s\">%s</text>", fmt(x0 + c * cellW + cellW / 2.0), TOP + r * cellH + 17,
                        t < 0.5 && Double.isFinite(v) ? "#fff" : "#222", Double.isFinite(v) ? num(v) : "-"));
            }
        }
        for (int c = 0; c < cols.size(); c++) {
            sb.append(text(x0 + c * cellW + cellW / 2.0, TOP + rows.size() * cellH + 16, "middle", cols.get(c)));
        }
        sb.append(text(x0 + cols.size() * cellW / 2.0, height - 6, "middle", colName));
        sb.append(String.format(Locale.ROOT, "<text x=\"14\" y=\"%s\" text-anchor=\"middle\" font-size=\"12\" "
                + "transform=\"rotate(-90 14 %s)\">%s</text>", fmt(TOP + rows.size() * cellH / 2.0),
                fmt(TOP + rows.size() * cellH / 2.0), escape(rowName)));
        return sb.append("</svg>\n").toString();
    }

    /** Round tick values covering [lo, hi]: steps of 1, 2 or 5 times a power of ten, 4 to 8 of them. */
    static double[] ticks(double lo, double hi) {
        if (!(hi > lo)) {
            hi = lo + 1;
        }
        double raw = (hi - lo) / 5;
        double pow = Math.pow(10, Math.floor(Math.log10(raw)));
        double step = raw / pow < 1.5 ? pow : raw / pow < 3.5 ? 2 * pow : raw / pow < 7.5 ? 5 * pow : 10 * pow;
        double first = Math.floor(lo / step) * step;
        double last = Math.ceil(hi / step - 1e-9) * step;
        int n = (int) Math.round((last - first) / step) + 1;
        double[] t = new double[n];
        for (int i = 0; i < n; i++) {
            t[i] = first + i * step;
        }
        return t;
    }

    /** Linear map from a data range to pixels. */
    record Scale(double lo, double hi, double from, double to) {
        double at(double v) {
            return from + (v - lo) / (hi - lo) * (to - from);
        }
    }

    private static StringBuilder start(String title) {
        return start(title, HEIGHT);
    }

    private static StringBuilder start(String title, int height) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"%d\" "
                + "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">", WIDTH, height,
                WIDTH, height));
        sb.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>", WIDTH, height));
        sb.append(String.format(Locale.ROOT, "<text class=\"title\" x=\"%d\" y=\"20\" font-size=\"14\" "
                + "font-weight=\"bold\">%s</text>", LEFT, escape(title)));
        return sb;
    }

    private static void axes(StringBuilder sb, String xLabel, String yLabel, double[] xs, double[] ys, Scale sx,
            Scale sy) {
        int x0 = LEFT;
        int x1 = WIDTH - RIGHT;
        int y0 = HEIGHT - BOTTOM;
        for (double t : ys) {
            sb.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%s\" x2=\"%d\" y2=\"%s\" stroke=\"#e5e5e5\"/>",
                    x0, fmt(sy.at(t)), x1, fmt(sy.at(t))));
            sb.append(text(x0 - 6, sy.at(t) + 4, "end", num(t)));
        }
        for (double t : xs) {
            if (t >= sx.lo() - 1e-9 && t <= sx.hi() + 1e-9) {
                sb.append(text(sx.at(t), y0 + 16, "middle", num(t)));
            }
        }
        sb.append(String.format(Locale.ROOT, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
                + "stroke=\"#333\"/>", x0, y0, x1, y0));
        sb.append(String.format(Locale.ROOT, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
                + "stroke=\"#333\"/>", x0, TOP, x0, y0));
        sb.append("<text class=\"xlabel\" x=\"").append(fmt((x0 + x1) / 2.0)).append("\" y=\"").append(HEIGHT - 8)
                .append("\" text-anchor=\"middle\">").append(escape(xLabel)).append("</text>");
        sb.append(String.format(Locale.ROOT, "<text class=\"ylabel\" x=\"16\" y=\"%s\" text-anchor=\"middle\" "
                + "transform=\"rotate(-90 16 %s)\">%s</text>", fmt((TOP + y0) / 2.0), fmt((TOP + y0) / 2.0),
                escape(yLabel)));
    }

    private static String text(double x, double y, String anchor, String s) {
        return String.format(Locale.ROOT, "<text x=\"%s\" y=\"%s\" text-anchor=\"%s\">%s</text>", fmt(x), fmt(y),
                anchor, escape(s));
    }

    /** A tick or value label: few digits, no exponent for everyday magnitudes. */
    static String num(double v) {
        double a = Math.abs(v);
        if (a != 0 && (a >= 1e7 || a < 1e-3)) {
            return String.format(Locale.ROOT, "%.2g", v);
        }
        if (a >= 100 || v == Math.rint(v)) {
            return String.format(Locale.ROOT, "%,.0f", v);
        }
        String s = String.format(Locale.ROOT, a >= 1 ? "%.2f" : "%.4f", v);
        return s.contains(".") ? s.replaceAll("0+$", "").replaceAll("\\.$", "") : s;
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
