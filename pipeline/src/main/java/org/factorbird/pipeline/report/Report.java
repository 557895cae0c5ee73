package org.factorbird.pipeline.report;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Function;

import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;
import org.factorbird.pipeline.model.EpochRecord;
import org.factorbird.pipeline.model.GridFile;
import org.factorbird.pipeline.model.Json;
import org.factorbird.pipeline.model.ModelFile;
import org.factorbird.pipeline.model.ModelFile.HyperParameters;

/**
 * {@code OUT/report.html} and {@code OUT/metrics.csv} of a run, from its model.json (and grid.json for a grid):
 * errors per epoch (one line per model of a grid), ranking metrics when measured, the grid ranked and as a heat map
 * over two swept hyper-parameters, ratings per second, PS requests and bytes per epoch and shard, and the time per
 * phase. The HTML is one self-contained file: inline SVG and CSS, no scripts, fonts or network.
 */
public final class Report {

    public static final String HTML = "report.html";
    public static final String CSV = "metrics.csv";

    private Report() {}

    /** Writes both files into {@code dir} (any Flink file system). */
    public static void write(String dir, ModelFile model, GridFile grid) throws IOException {
        writeFile(new Path(dir, HTML), html(model, grid));
        writeFile(new Path(dir, CSV), csv(model, grid));
    }

    /** Rebuilds both files of the run in {@code dir} from its model.json and grid.json ({@code factorbird report}). */
    public static void rebuild(String dir) throws IOException {
        Path modelPath = new Path(dir, "model.json");
        if (!modelPath.getFileSystem().exists(modelPath)) {
            throw new IOException(dir + " holds no model.json: not the output of a training run");
        }
        ModelFile model = Json.read(modelPath, ModelFile.class);
        Path gridPath = new Path(dir, "grid.json");
        GridFile grid = gridPath.getFileSystem().exists(gridPath) ? Json.read(gridPath, GridFile.class) : null;
        write(dir, model, grid);
    }

    /** One model's numbers per epoch: its index in the grid (0 for a single model) and its records. */
    private record Run(int index, String label, HyperParameters params, List<EpochRecord> epochs, Integer stopped) {}

    private static List<Run> runs(ModelFile model, GridFile grid) {
        List<Run> out = new ArrayList<>();
        if (grid == null) {
            out.add(new Run(model.gridIndex() == null ? 0 : model.gridIndex(), "model", model.hyperParameters(),
                    model.epochs(), null));
        } else {
            for (GridFile.Entry e : grid.models()) { // best first
                out.add(new Run(e.index(), "model " + e.index(), e.hyperParameters(), e.epochs(),
                        e.stoppedAfterEpoch()));
            }
        }
        return out;
    }

    /** metrics.csv: a header, then one line per model and epoch. */
    public static String csv(ModelFile model, GridFile grid) {
        StringBuilder sb = new StringBuilder("model,epoch,train_rmse,train_rmse_during_epoch,validation_rmse,test_rmse,"
                + "test_mae,precision_at_k,recall_at_k,ndcg_at_k,map_at_k,coverage_at_k,ratings_per_second,seconds,"
                + "ps_requests,ps_bytes\n");
        for (Run r : runs(model, grid)) {
            for (EpochRecord e : r.epochs) {
                sb.append(r.index).append(',').append(e.epoch());
                for (Double v : new Double[] {e.trainRmse(), e.trainRmseDuringEpoch(), e.validationRmse(), e.testRmse(),
                    e.testMae(), e.precisionAtK(), e.recallAtK(), e.ndcgAtK(), e.mapAtK(), e.coverageAtK()}) {
                    sb.append(',').append(v == null || v.isNaN() ? "" : v.toString());
                }
                sb.append(',').append(e.ratingsPerSecond()).append(',').append(e.seconds()).append(',')
                        .append(sum(e.psRequestsPerShard())).append(',').append(sum(e.psBytesPerShard())).append('\n');
            }
        }
        return sb.toString();
    }

    /** report.html. */
    public static String html(ModelFile model, GridFile grid) {
        List<Run> runs = runs(model, grid);
        Run best = runs.get(0);
        if (grid != null) {
            for (Run r : runs) {
                if (r.index == grid.best()) {
                    best = r;
                }
            }
        }
        boolean validation = best.epochs.stream().anyMatch(e -> e.validationRmse() != null);
        StringBuilder sb = new StringBuilder();
        sb.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Factorbird report: ")
                .append(Svg.escape(model.input())).append("</title>\n<style>body{font-family:sans-serif;margin:24px;"
                + "color:#222;max-width:1340px}h1{font-size:20px}h2{font-size:16px;margin-top:28px}"
                + "table{border-collapse:collapse;font-size:13px}td,th{border-bottom:1px solid #ddd;padding:3px 8px;"
                + "text-align:right}th{background:#f4f4f4}td.l,th.l{text-align:left}.charts{display:flex;"
                + "flex-wrap:wrap;gap:16px}.chart{border:1px solid #ddd}.facts td{text-align:left}</style></head>"
                + "<body>\n");
        sb.append("<h1>Factorbird training report</h1>\n");
        facts(sb, model, grid);
        sb.append("<h2>Errors per epoch</h2>\n<div class=\"charts\">\n");
        if (grid == null) {
            List<Svg.Series> s = new ArrayList<>();
            add(s, "train", best, EpochRecord::trainRmse, Svg.COLORS[0], 2);
            add(s, "validation", best, EpochRecord::validationRmse, Svg.COLORS[2], 2);
            add(s, "test", best, EpochRecord::testRmse, Svg.COLORS[1], 2);
            sb.append(Svg.lines("RMSE per epoch", "epoch", "RMSE", s));
        } else {
            String what = validation ? "validation RMSE" : "held-out RMSE";
            Function<EpochRecord, Double> metric = validation ? EpochRecord::validationRmse : EpochRecord::testRmse;
            List<Svg.Series> s = new ArrayList<>();
            for (int i = runs.size() - 1; i >= 0; i--) { // the best drawn last, on top
                Run r = runs.get(i);
                boolean isBest = r == best;
                // red is the best's alone
                String color = isBest ? Svg.COLORS[1] : i % Svg.COLORS.length == 1 ? "#999999"
                        : Svg.COLORS[i % Svg.COLORS.length];
                add(s, (isBest ? "best: " : "") + r.label, r, metric, color, isBest ? 2.5 : 1);
            }
            java.util.Collections.reverse(s); // the legend lists the best first
            sb.append(Svg.lines(what + " per epoch, every model", "epoch", what, s));
            List<Svg.Series> b = new ArrayList<>();
            add(b, "train", best, EpochRecord::trainRmse, Svg.COLORS[0], 2);
            add(b, "validation", best, EpochRecord::validationRmse, Svg.COLORS[2], 2);
            add(b, "test", best, EpochRecord::testRmse, Svg.COLORS[1], 2);
            sb.append(Svg.lines("the best model (" + best.label + ")", "epoch", "RMSE", b));
        }
        sb.append("</div>\n");
        if (best.epochs.stream().anyMatch(e -> e.ndcgAtK() != null)) {
            int k = model.settings() == null ? 0 : model.settings().rankingK();
            List<Svg.Series> s = new ArrayList<>();
            add(s, "NDCG@" + k, best, EpochRecord::ndcgAtK, Svg.COLORS[0], 2);
            add(s, "precision@" + k, best, EpochRecord::precisionAtK, Svg.COLORS[1], 2);
            add(s, "recall@" + k, best, EpochRecord::recallAtK, Svg.COLORS[2], 2);
            add(s, "MAP@" + k, best, EpochRecord::mapAtK, Svg.COLORS[3], 2);
            sb.append("<h2>Ranking metrics</h2>\n<div class=\"charts\">\n")
                    .append(Svg.lines("ranking metrics at " + k + " (" + best.label + ")", "epoch", "metric", s))
                    .append("</div>\n");
        }
        if (grid != null) {
            table(sb, runs, grid, validation);
            heatMap(sb, runs, validation);
        }
        sb.append("<h2>Speed and communication</h2>\n<div class=\"charts\">\n");
        List<Svg.Series> speed = new ArrayList<>();
        add(speed, "ratings/s", best, e -> (double) e.ratingsPerSecond(), Svg.COLORS[0], 2);
        sb.append(Svg.lines("training ratings per second", "epoch", "ratings / s", speed));
        int shards = best.epochs.isEmpty() ? 0 : best.epochs.get(0).psBytesPerShard().length;
        List<Svg.Series> bytes = new ArrayList<>();
        List<Svg.Series> requests = new ArrayList<>();
        for (int sh = 0; sh < shards; sh++) {
            int shard = sh;
            add(bytes, "shard " + sh, best, e -> e.psBytesPerShard()[shard] / 1e6, Svg.COLORS[sh % Svg.COLORS.length], 2);
            add(requests, "shard " + sh, best, e -> (double) e.psRequestsPerShard()[shard],
                    Svg.COLORS[sh % Svg.COLORS.length], 2);
        }
        sb.append(Svg.lines("PS traffic per epoch (both directions)", "epoch", "MB", bytes));
        sb.append(Svg.lines("PS requests per epoch", "epoch", "requests", requests));
        if (model.phases() != null && !model.phases().isEmpty()) {
            List<String> labels = new ArrayList<>(model.phases().keySet());
            double[] v = new double[labels.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = model.phases().get(labels.get(i));
            }
            sb.append(Svg.bars("time per phase (slowest subtask)", "seconds", labels, v));
        }
        sb.append("</div>\n<p style=\"font-size:12px;color:#666\">Written by Factorbird from model.json")
                .append(grid == null ? "" : " and grid.json").append("; the same numbers are in metrics.csv.</p>\n")
                .append("</body></html>\n");
        return sb.toString();
    }

    private static void facts(StringBuilder sb, ModelFile m, GridFile grid) {
        Map<String, String> f = new LinkedHashMap<>();
        f.put("input", m.input());
        if (m.test() != null) {
            f.put("test", m.test());
        }
        if (m.counts() != null) {
            f.put("ratings", String.format(Locale.ROOT, "%,d training, %,d validation, %,d held-out; %,d rows and "
                    + "%,d columns written", m.counts().trainRatings(), m.counts().validationRatings(),
                    m.counts().testRatings(), m.counts().rows(), m.counts().columns()));
        }
        f.put(grid == null ? "model" : "best model", describe(m.hyperParameters()));
        if (grid != null) {
            f.put("grid", grid.models().size() + " models" + (grid.pruning() == null ? "" : ", " + grid.pruning()));
        }
        f.put("final RMSE", String.format(Locale.ROOT, "train %s, validation %s, held-out %s", str(m.finalTrainRmse()),
                str(m.finalValidationRmse()), str(m.finalTestRmse())));
        f.put("epochs", m.epochs().size() + (m.resumedFromEpoch() == null ? "" : " after resuming from epoch "
                + m.resumedFromEpoch()) + (m.stoppedEarly() == null ? "" : "; early stop " + m.stoppedEarly()));
        f.put("cluster", String.format(Locale.ROOT, "parallelism %d, %d PS shards, %s state", m.parallelism(),
                m.psShards(), m.stateBackend()));
        sb.append("<table class=\"facts\">\n");
        f.forEach((k, v) -> sb.append("<tr><th class=\"l\">").append(Svg.escape(k)).append("</th><td>")
                .append(Svg.escape(String.valueOf(v))).append("</td></tr>\n"));
        sb.append("</table>\n");
    }

    private static void table(StringBuilder sb, List<Run> runs, GridFile grid, boolean validation) {
        sb.append("<h2>The grid, best first</h2>\n<table class=\"grid\"><tr><th>place</th><th>index</th>")
                .append(validation ? "<th>validation RMSE</th>" : "")
                .append("<th>held-out RMSE</th><th>train RMSE</th><th>epochs trained</th>"
                        + "<th class=\"l\">hyper-parameters</th></tr>\n");
        for (GridFile.Entry e : grid.models()) {
            sb.append("<tr><td>").append(e.place()).append("</td><td>").append(e.index()).append("</td>");
            if (validation) {
                sb.append("<td>").append(str(e.finalValidationRmse())).append("</td>");
            }
            sb.append("<td>").append(str(e.finalTestRmse())).append("</td><td>").append(str(e.finalTrainRmse()))
                    .append("</td><td>").append(e.epochs().size()).append(Boolean.TRUE.equals(e.diverged()) ? " (diverged)"
                            : e.stoppedAfterEpoch() == null ? "" : " (pruned)")
                    .append("</td><td class=\"l\">").append(Svg.escape(describe(e.hyperParameters())))
                    .append("</td></tr>\n");
        }
        sb.append("</table>\n");
    }

    /** The hyper-parameters a grid may sweep, by name. */
    private static final Map<String, Function<HyperParameters, String>> SWEPT = new LinkedHashMap<>();

    static {
        SWEPT.put("rank", h -> String.valueOf(h.rank()));
        SWEPT.put("learning rate", h -> String.valueOf(h.learningRate()));
        SWEPT.put("lambda", h -> String.valueOf(h.lambda()));
        SWEPT.put("lambda-bias", h -> String.valueOf(h.lambdaBias()));
        SWEPT.put("schedule", HyperParameters::schedule);
        SWEPT.put("decay", h -> String.valueOf(h.decay()));
        SWEPT.put("init-std", h -> String.valueOf(h.initStd()));
    }

    /** The final score of every model over the first two swept hyper-parameters (the best where several share a cell). */
    private static void heatMap(StringBuilder sb, List<Run> runs, boolean validation) {
        List<String> swept = new ArrayList<>();
        for (Map.Entry<String, Function<HyperParameters, String>> e : SWEPT.entrySet()) {
            TreeSet<String> values = new TreeSet<>(Report::compareValues);
            runs.forEach(r -> values.add(e.getValue().apply(r.params)));
            if (values.size() > 1) {
                swept.add(e.getKey());
            }
        }
        if (swept.size() < 2) {
            return;
        }
        Function<HyperParameters, String> fx = SWEPT.get(swept.get(0));
        Function<HyperParameters, String> fy = SWEPT.get(swept.get(1));
        TreeSet<String> xs = new TreeSet<>(Report::compareValues);
        TreeSet<String> ys = new TreeSet<>(Report::compareValues);
        runs.forEach(r -> {
            xs.add(fx.apply(r.params));
            ys.add(fy.apply(r.params));
        });
        List<String> cols = new ArrayList<>(xs);
        List<String> rows = new ArrayList<>(ys);
        double[][] cells = new double[rows.size()][cols.size()];
        for (double[] row : cells) {
            java.util.Arrays.fill(row, Double.NaN);
        }
        for (Run r : runs) {
            Double v = r.epochs.isEmpty() ? null : validation ? r.epochs.get(r.epochs.size() - 1).validationRmse()
                    : r.epochs.get(r.epochs.size() - 1).testRmse();
            if (v == null) {
                continue;
            }
            int y = rows.indexOf(fy.apply(r.params));
            int x = cols.indexOf(fx.apply(r.params));
            cells[y][x] = Double.isNaN(cells[y][x]) ? v : Math.min(cells[y][x], v);
        }
        sb.append("<h2>The grid over ").append(swept.get(0)).append(" and ").append(swept.get(1)).append("</h2>\n")
                .append("<div class=\"charts\">").append(Svg.heatMap("final " + (validation ? "validation" : "held-out")
                        + " RMSE, the best model of each cell (darker is better)", swept.get(0), cols, swept.get(1),
                        rows, cells)).append("</div>\n");
    }

    private static int compareValues(String a, String b) {
        try {
            return Double.compare(Double.parseDouble(a), Double.parseDouble(b));
        } catch (NumberFormatException e) {
            return a.compareTo(b);
        }
    }

    private static void add(List<Svg.Series> out, String name, Run r, Function<EpochRecord, Double> f, String color,
            double width) {
        double[] x = new double[r.epochs.size()];
        double[] y = new double[r.epochs.size()];
        boolean any = false;
        for (int i = 0; i < x.length; i++) {
            EpochRecord e = r.epochs.get(i);
            x[i] = e.epoch();
            Double v = f.apply(e);
            y[i] = v == null ? Double.NaN : v;
            any |= v != null && !v.isNaN();
        }
        if (any) {
            out.add(new Svg.Series(name, x, y, color, width));
        }
    }

    private static String describe(HyperParameters h) {
        if (h == null) {
            return "-";
        }
        return String.format(Locale.ROOT, "rank %d, learning rate %s, lambda %s, lambda-bias %s, %s%s, init-std %s",
                h.rank(), h.learningRate(), h.lambda(), h.lambdaBias(), h.schedule(),
                "decay".equals(h.schedule()) ? " " + h.decay() : "", h.initStd());
    }

    private static String str(Double v) {
        return v == null || v.isNaN() ? "-" : String.format(Locale.ROOT, "%.4f", v);
    }

    private static long sum(long[] v) {
        long s = 0;
        for (long x : v) {
            s += x;
        }
        return s;
    }

    private static void writeFile(Path p, String content) throws IOException {
        FileSystem fs = p.getFileSystem();
        try (OutputStream out = fs.create(p, FileSystem.WriteMode.OVERWRITE)) {
            out.write(content.getBytes(StandardCharsets.UTF_8));
        }
    }
}
