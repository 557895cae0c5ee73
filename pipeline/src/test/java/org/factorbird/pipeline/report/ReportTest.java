package org.factorbird.pipeline.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.factorbird.pipeline.model.EpochRecord;
import org.factorbird.pipeline.model.GridFile;
import org.factorbird.pipeline.model.ModelFile;
import org.junit.jupiter.api.Test;

class ReportTest {

    @Test
    void ticksAreRoundAndCoverTheRange() {
        assertArrayEquals(new double[] {0.2, 0.4, 0.6, 0.8, 1.0, 1.2}, Svg.ticks(0.3, 1.1), 1e-12);
        assertArrayEquals(new double[] {0, 20, 40, 60, 80, 100}, Svg.ticks(0, 100), 1e-12);
        assertArrayEquals(new double[] {0, 0.2, 0.4, 0.6, 0.8, 1.0}, Svg.ticks(0, 0), 1e-12);
        assertEquals("0.8", Svg.num(0.8000000000000002));
        assertEquals("12,345", Svg.num(12_345));
        assertEquals("1.5e+07", Svg.num(1.5e7));
    }

    @Test
    void aLineChartHasOnePointPerEpochInsideItsAxesAndLabels() {
        double[] x = {1, 2, 3, 4, 5};
        String svg = Svg.lines("RMSE per epoch", "epoch", "RMSE", List.of(
                new Svg.Series("train", x, new double[] {1.0, 0.8, 0.6, 0.5, 0.45}, Svg.COLORS[0], 2),
                new Svg.Series("test", x, new double[] {1.1, 0.9, Double.NaN, 0.7, 0.65}, Svg.COLORS[1], 2)));
        List<String> lines = all(svg, "<polyline class=\"series\" data-name=\"([a-z]+)\"[^>]* points=\"([^\"]+)\"");
        // the NaN of "test" splits its line in two
        assertEquals(List.of("train|5", "test|2", "test|2"), lines);
        assertEquals(9, count(svg, "<circle class=\"pt\""), "a marker per value");
        assertTrue(svg.contains(">epoch</text>") && svg.contains(">RMSE</text>") && svg.contains(">RMSE per epoch</text>"));
        for (String p : all(svg, "<circle class=\"pt\" cx=\"([0-9.]+)\" cy=\"([0-9.]+)\"")) {
            double cx = Double.parseDouble(p.split("\\|")[0]);
            double cy = Double.parseDouble(p.split("\\|")[1]);
            assertTrue(cx >= 70 && cx <= Svg.WIDTH - 150 && cy >= 34 && cy <= Svg.HEIGHT - 44, p);
        }
        // the values run from 0.45 to 1.1: round ticks just outside them
        assertTrue(svg.contains(">0.4<") && svg.contains(">1.2<"), "y ticks span the values: " + svg);
    }

    private static EpochRecord epoch(int e, double train, Double val, double test) {
        return new EpochRecord(e, train, train + 0.01, test, test * 0.8, 1_000_000, 0.5, new long[] {10, 12},
                new long[] {1000 * e, 1200 * e}, null, null, null, null, null, val);
    }

    @Test
    void aGridReportRanksEveryModelMapsTwoSweptParametersAndItsCsvHasALinePerModelAndEpoch() {
        List<GridFile.Entry> entries = new ArrayList<>();
        int place = 1;
        int[][] order = {{3, 128}, {1, 32}, {2, 128}, {0, 32}}; // index, rank; lambda by index
        for (int[] o : order) {
            float lambda = o[0] % 2 == 0 ? 0.05f : 0.1f;
            List<EpochRecord> eps = new ArrayList<>();
            int epochs = o[0] == 0 ? 2 : 3; // model 0 was pruned after epoch 2
            for (int e = 1; e <= epochs; e++) {
                eps.add(epoch(e, 1.0 - 0.1 * e, 0.9 - 0.05 * e + 0.01 * place, 0.95 - 0.05 * e + 0.01 * place));
            }
            entries.add(new GridFile.Entry(o[0], place++, new ModelFile.HyperParameters(o[1], 0.02f, lambda, 0.01f,
                    "constant", 0.1f, 0.1f), eps.get(eps.size() - 1).testRmse(), 0.5, eps.get(eps.size() - 1).trainRmse(),
                    eps.get(eps.size() - 1).validationRmse(), o[0] == 0 ? 2 : null, null, eps));
        }
        GridFile grid = new GridFile(3, entries, 3.5f, 1000, 100, 50, "halving every 2 epochs, keep 0.5");
        ModelFile model = new ModelFile(ModelFile.FORMAT, 3.5f, 128, ModelFile.LINE_FORMAT, "in.csv", "test.csv", 3,
                entries.get(0).hyperParameters(), null, new ModelFile.Counts(1000, 100, 10, 20, 0, 0, 50),
                new float[] {1, 5}, 1.0, 100, 2, 2, "heap", null, null, entries.get(0).finalTestRmse(), 0.7, 0.76,
                Map.of("load", 1.0, "training", 2.5, "output", 0.2), entries.get(0).epochs(), null);
        String html = Report.html(model, grid);
        assertEquals(4, count(html, "<tr><td>"), "a table row per model");
        assertEquals(4, count(html, "<rect class=\"cell\""), "rank x lambda: 2 x 2 cells");
        assertTrue(html.contains("The grid over rank and lambda"), html);
        assertTrue(html.contains("2 (pruned)"), "model 0's epochs and that it was pruned");
        // one line per model in the validation chart, the best drawn last (on top) and named first in its legend
        List<String> series = all(html, "<polyline class=\"series\" data-name=\"([^\"]+)\"[^>]* points=\"([^\"]+)\"");
        assertTrue(series.containsAll(List.of("best: model 3|3", "model 1|3", "model 2|3", "model 0|2")), "" + series);
        assertEquals(3, count(html, "<rect class=\"bar\""), "a bar per phase");
        assertEquals(0, count(html, "<script"), "no scripts");
        assertEquals(0, count(html, "src=\""), "nothing loaded from elsewhere");

        String[] csv = Report.csv(model, grid).split("\n");
        assertEquals(1 + 3 + 3 + 3 + 2, csv.length, "a header and a line per model and epoch");
        EpochRecord first = entries.get(0).epochs().get(0); // model 3, the best, epoch 1
        assertEquals("3,1," + first.trainRmse() + "," + first.trainRmseDuringEpoch() + "," + first.validationRmse() + ","
                + first.testRmse() + "," + first.testMae() + ",,,,,,1000000,0.5,22,2200", csv[1]);
    }

    private static int count(String s, String needle) {
        int n = 0;
        for (int i = s.indexOf(needle); i >= 0; i = s.indexOf(needle, i + 1)) {
            n++;
        }
        return n;
    }

    /** For each match: group 1, then "|" and group 2 (the number of points when it is a points list). */
    private static List<String> all(String s, String regex) {
        List<String> out = new ArrayList<>();
        Matcher m = Pattern.compile(regex).matcher(s);
        while (m.find()) {
            String g2 = m.group(2);
            out.add(m.group(1) + "|" + (g2.contains(",") ? String.valueOf(g2.split(" ").length) : g2));
        }
        return out;
    }
}
