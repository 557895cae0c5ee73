package org.factorbird.pipeline.recommend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.factorbird.pipeline.FactorbirdJob;
import org.factorbird.pipeline.ModelFiles;
import org.factorbird.pipeline.TrainConfig;
import org.factorbird.pipeline.data.PlantedData;
import org.factorbird.pipeline.model.ModelDir;
import org.factorbird.pipeline.model.ModelFile;
import org.factorbird.ps.server.PsServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * recommend and predict on a model trained here (planted data), on the MiniCluster: every number checked against
 * the model's files by brute force.
 */
class RecommendITCase {

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2)
                    .build());

    @TempDir
    static Path tmp;
    static Path data;
    static Path model;
    static Map<Long, float[]> rows;
    static Map<Long, float[]> cols;
    static ModelFile meta;

    @BeforeAll
    static void train() throws Exception {
        data = tmp.resolve("data");
        new PlantedData(300, 5000, 40_000, 4, 0.3, 0.5, 0.1, 5L, 2).write(data);
        model = tmp.resolve("model");
        try (PsServer a = PsServer.startLocal(0, 2); PsServer b = PsServer.startLocal(1, 2)) {
            TrainConfig cfg = TrainConfig.from(Configuration.fromMap(Map.of("input", data.resolve("train").toString(),
                    "output", model.toString(), "parallelism", "2", "rank", "4", "epochs", "5", "recommend", "7",
                    "ps", a.address() + "," + b.address())), 9L);
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(
                    FactorbirdJob.flinkConfig(cfg));
            FactorbirdJob.build(env, cfg);
            env.execute("train");
        }
        rows = ModelFiles.readFactors(model.resolve("rows"));
        cols = ModelFiles.readFactors(model.resolve("columns"));
        meta = ModelFiles.model(model);
    }

    static StreamExecutionEnvironment env() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        return env;
    }

    static float predict(long row, long col) {
        float[] u = rows.get(row);
        float[] v = cols.get(col);
        float p = (float) meta.globalMean() + (u == null ? 0f : u[0]) + (v == null ? 0f : v[0]);
        if (u != null && v != null) {
            for (int f = 1; f < u.length; f++) {
                p += u[f] * v[f];
            }
        }
        return p;
    }

    static List<String[]> lines(Path dir) throws IOException {
        return ModelFiles.outputLines(dir);
    }

    @Test
    void topKOfEveryRowMatchesBruteForceAndNeverRecommendsAnExcludedPair() throws Exception {
        Path recs = tmp.resolve("recs");
        int k = 7;
        StreamExecutionEnvironment env = env();
        Recommendations.recommend(env, ModelDir.open(model.toString()), k, recs.toString(),
                data.resolve("train").toString(), null);
        env.execute("recommend");

        // train --recommend 7 wrote the same lines at the end of training (rows from state, columns from the PS)
        Set<String> fromJob = new HashSet<>();
        lines(recs).forEach(l -> fromJob.add(String.join("\t", l)));
        Set<String> fromTraining = new HashSet<>();
        lines(model.resolve("recommendations")).forEach(l -> fromTraining.add(String.join("\t", l)));
        assertEquals(fromJob, fromTraining);

        Map<Long, Set<Long>> excluded = new HashMap<>();
        for (String[] p : ModelFiles.ratingsOf(data.resolve("train"))) {
            excluded.computeIfAbsent(Long.parseLong(p[0]), r -> new HashSet<>()).add(Long.parseLong(p[1]));
        }
        Map<Long, List<String[]>> byRow = new HashMap<>();
        for (String[] l : lines(recs)) {
            byRow.computeIfAbsent(Long.parseLong(l[0]), r -> new ArrayList<>()).add(l);
        }
        assertEquals(rows.keySet(), byRow.keySet(), "one block of lines for every row of the model");
        for (Map.Entry<Long, List<String[]>> e : byRow.entrySet()) {
            long row = e.getKey();
            List<String[]> got = e.getValue();
            got.sort((a, b) -> Integer.compare(Integer.parseInt(a[1]), Integer.parseInt(b[1])));
            assertEquals(k, got.size(), "row " + row);
            // brute force over every column: best k by prediction, ties to the smaller id, excluded ones skipped
            List<Long> candidates = new ArrayList<>(cols.keySet());
            candidates.removeIf(c -> excluded.getOrDefault(row, Set.of()).contains(c));
            candidates.sort((a, b) -> {
                int byScore = Float.compare(predict(row, b), predict(row, a));
                return byScore != 0 ? byScore : Long.compare(a, b);
            });
            for (int i = 0; i < k; i++) {
                String[] l = got.get(i);
                long col = Long.parseLong(l[2]);
                assertEquals(i + 1, Integer.parseInt(l[1]));
                assertFalse(excluded.getOrDefault(row, Set.of()).contains(col), "excluded pair " + row + "," + col);
                assertEquals(predict(row, col), Float.parseFloat(l[3]), 1e-5, "score of " + row + "," + col);
                // the same column as brute force, or one whose prediction ties with it within rounding
                long expected = candidates.get(i);
                assertTrue(col == expected || Math.abs(predict(row, col) - predict(row, expected)) < 1e-5,
                        "row " + row + " rank " + (i + 1) + ": " + col + " vs " + expected);
            }
        }
    }

    @Test
    void onlyTheRowsAskedFor() throws Exception {
        Path wanted = tmp.resolve("wanted.txt");
        List<Long> some = new ArrayList<>(rows.keySet()).subList(0, 5);
        StringBuilder sb = new StringBuilder("row\n");
        some.forEach(r -> sb.append(r).append('\n'));
        sb.append("123456789\n"); // not in the model: nothing for it
        Files.writeString(wanted, sb);
        Path recs = tmp.resolve("recs-some");
        StreamExecutionEnvironment env = env();
        Recommendations.recommend(env, ModelDir.open(model.toString()), 3, recs.toString(), null, wanted.toString());
        env.execute("recommend some");
        Set<Long> seen = new HashSet<>();
        List<String[]> out = lines(recs);
        out.forEach(l -> seen.add(Long.parseLong(l[0])));
        assertEquals(new HashSet<>(some), seen);
        assertEquals(15, out.size());
    }

    @Test
    void predictWritesOneLinePerPairEqualToTheModelAndCountsUnknownIds() throws Exception {
        Path pairs = tmp.resolve("pairs.csv");
        List<String[]> test = ModelFiles.ratingsOf(data.resolve("test"));
        StringBuilder sb = new StringBuilder("row,col,rating\n");
        for (String[] p : test) {
            sb.append(p[0]).append(',').append(p[1]).append(',').append(p[2]).append('\n');
        }
        sb.append("987654321,").append(cols.keySet().iterator().next()).append('\n'); // unknown row
        sb.append(rows.keySet().iterator().next()).append(",987654321\n"); // unknown column
        // and random known pairs up to a million lines in all
        long[] rowIds = rows.keySet().stream().mapToLong(Long::longValue).toArray();
        long[] colIds = cols.keySet().stream().mapToLong(Long::longValue).toArray();
        java.util.Random random = new java.util.Random(3);
        int extra = 1_000_000 - test.size() - 2;
        for (int i = 0; i < extra; i++) {
            sb.append(rowIds[random.nextInt(rowIds.length)]).append('\t').append(colIds[random.nextInt(colIds.length)])
                    .append('\n');
        }
        Files.writeString(pairs, sb);
        Path pred = tmp.resolve("pred");
        StreamExecutionEnvironment env = env();
        Recommendations.predict(env, ModelDir.open(model.toString()), pairs.toString(), pred.toString(), false);
        JobExecutionResult result = env.execute("predict");

        List<String[]> out = lines(pred);
        assertEquals(1_000_000, out.size(), "one line per pair");
        for (String[] l : out) {
            assertEquals(predict(Long.parseLong(l[0]), Long.parseLong(l[1])), Float.parseFloat(l[2]), 1e-5,
                    String.join(" ", l));
        }
        assertEquals(1_000_000L, (Long) result.getAccumulatorResult(PredictOperator.PREDICTED));
        long unknownRows = test.stream().filter(p -> !rows.containsKey(Long.parseLong(p[0]))).count() + 1;
        long unknownCols = test.stream().filter(p -> !cols.containsKey(Long.parseLong(p[1]))).count() + 1;
        assertEquals(unknownRows, (Long) result.getAccumulatorResult(PredictOperator.UNKNOWN_ROWS));
        assertEquals(unknownCols, (Long) result.getAccumulatorResult(PredictOperator.UNKNOWN_COLUMNS));
    }

    @Test
    void aModelWhoseRowsAndColumnsDisagreeInRankIsRefusedWithTheFileAndLine() throws Exception {
        Path bad = tmp.resolve("bad-model");
        Files.createDirectories(bad.resolve("rows"));
        Files.createDirectories(bad.resolve("columns"));
        Files.copy(model.resolve("model.json"), bad.resolve("model.json"));
        Files.writeString(bad.resolve("rows/part-0.tsv"), "1\t0.1\t0.2\t0.3\t0.4\t0.5\n");
        Files.writeString(bad.resolve("columns/part-0.tsv"), "2\t0.1\t0.2\t0.3\n");
        ModelDir dir = ModelDir.open(bad.toString());
        IOException e = assertThrows(IOException.class, () -> dir.read(new org.apache.flink.core.fs.Path(
                bad.resolve("columns/part-0.tsv").toUri()), (id, v) -> { }));
        assertTrue(e.getMessage().endsWith("part-0.tsv:1: 3 values, the model's rank needs 5 (bias and 4 factors)"),
                e.getMessage());
        assertThrows(IOException.class, () -> ModelDir.open(tmp.resolve("nothing").toString()));
    }

    @Test
    void rankingMetricsOfTrainingEqualThoseRecomputedFromItsRecommendations() throws Exception {
        Path out = tmp.resolve("ranked");
        float threshold = 3.0f;
        try (PsServer a = PsServer.startLocal(0, 2); PsServer b = PsServer.startLocal(1, 2)) {
            TrainConfig cfg = TrainConfig.from(Configuration.fromMap(Map.ofEntries(
                    Map.entry("input", data.resolve("train").toString()), Map.entry("test",
                            data.resolve("test").toString()), Map.entry("output", out.toString()),
                    Map.entry("parallelism", "2"), Map.entry("rank", "4"), Map.entry("epochs", "4"),
                    Map.entry("recommend", "10"), Map.entry("ranking-k", "10"), Map.entry("ranking-every", "2"),
                    Map.entry("ranking-rows", "1000000"), Map.entry("relevance-threshold", String.valueOf(threshold)),
                    Map.entry("ps", a.address() + "," + b.address()))), 11L);
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(
                    FactorbirdJob.flinkConfig(cfg));
            FactorbirdJob.build(env, cfg);
            env.execute("train with ranking");
        }
        ModelFile m = ModelFiles.model(out);
        assertEquals(null, m.epochs().get(0).ndcgAtK(), "epoch 1 is not due with --ranking-every 2");
        org.factorbird.pipeline.model.EpochRecord last = m.lastEpoch();

        Map<Long, List<Long>> top = new HashMap<>();
        for (String[] l : lines(out.resolve("recommendations"))) {
            List<Long> cols = top.computeIfAbsent(Long.parseLong(l[0]), r -> new ArrayList<>());
            while (cols.size() < Integer.parseInt(l[1])) {
                cols.add(null);
            }
            cols.set(Integer.parseInt(l[1]) - 1, Long.parseLong(l[2]));
        }
        Map<Long, Set<Long>> relevant = new HashMap<>();
        for (String[] p : ModelFiles.ratingsOf(data.resolve("test"))) {
            if (Float.parseFloat(p[2]) >= threshold) {
                relevant.computeIfAbsent(Long.parseLong(p[0]), r -> new HashSet<>()).add(Long.parseLong(p[1]));
            }
        }
        double[] sum = new double[4];
        int rowsCounted = 0;
        Set<Long> covered = new HashSet<>();
        for (Map.Entry<Long, Set<Long>> e : relevant.entrySet()) {
            List<Long> recs = top.get(e.getKey());
            if (recs == null) {
                continue; // no training ratings: no factors, not ranked
            }
            Set<Long> rel = e.getValue();
            covered.addAll(recs);
            int hits = 0;
            double dcg = 0;
            double ap = 0;
            for (int i = 0; i < recs.size(); i++) {
                if (rel.contains(recs.get(i))) {
                    hits++;
                    dcg += 1 / (Math.log(i + 2) / Math.log(2));
                    ap += hits / (double) (i + 1);
                }
            }
            double idcg = 0;
            for (int i = 0; i < Math.min(rel.size(), 10); i++) {
                idcg += 1 / (Math.log(i + 2) / Math.log(2));
            }
            sum[0] += hits / 10.0;
            sum[1] += hits / (double) rel.size();
            sum[2] += dcg / idcg;
            sum[3] += ap / Math.min(rel.size(), 10);
            rowsCounted++;
        }
        assertTrue(rowsCounted > 100, "rows with a relevant held-out rating: " + rowsCounted);
        assertEquals(sum[0] / rowsCounted, last.precisionAtK(), 1e-6, "precision@10");
        assertEquals(sum[1] / rowsCounted, last.recallAtK(), 1e-6, "recall@10");
        assertEquals(sum[2] / rowsCounted, last.ndcgAtK(), 1e-6, "ndcg@10");
        assertEquals(sum[3] / rowsCounted, last.mapAtK(), 1e-6, "map@10");
        // coverage is a HyperLogLog estimate; at these sizes linear counting over m = 512 registers, whose standard
        // error for n distinct columns is sqrt(m (e^t - t - 1)) / n, t = n / m (Whang et al.): within 3 of those
        double coverage = covered.size() / (double) ModelFiles.readFactors(out.resolve("columns")).size();
        double n = covered.size();
        double t = n / 512;
        double sigma = Math.sqrt(512 * (Math.exp(t) - t - 1)) / n;
        assertEquals(coverage, last.coverageAtK(), 3 * sigma * coverage, "catalog coverage of " + n + " columns");
        System.out.printf("ranking@10 on %d rows: precision %.4f recall %.4f ndcg %.4f map %.4f coverage %.4f "
                + "(exact %.4f)%n", rowsCounted, last.precisionAtK(), last.recallAtK(), last.ndcgAtK(), last.mapAtK(),
                last.coverageAtK(), coverage);
    }

    @Test
    void selectByNdcgPicksTheGridModelWithTheBestFinalNdcg() throws Exception {
        Path out = tmp.resolve("grid-ndcg");
        Map<String, String> m = new HashMap<>(Map.of("input", data.resolve("train").toString(), "test",
                data.resolve("test").toString(), "output", out.toString(), "parallelism", "2", "rank", "2,6",
                "epochs", "3", "ranking-k", "5", "relevance-threshold", "3", "select-by", "ndcg"));
        assertThrows(IllegalArgumentException.class, () -> TrainConfig.grid(Configuration.fromMap(Map.of("input",
                "x", "output", "y", "select-by", "ndcg")), 1L), "ndcg needs --ranking-k");
        try (PsServer a = PsServer.startLocal(0, 2); PsServer b = PsServer.startLocal(1, 2)) {
            m.put("ps", a.address() + "," + b.address());
            TrainConfig cfg = TrainConfig.grid(Configuration.fromMap(m), 12L);
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(
                    FactorbirdJob.flinkConfig(cfg));
            FactorbirdJob.build(env, cfg);
            env.execute("grid by ndcg");
        }
        org.factorbird.pipeline.model.GridFile grid = ModelFiles.grid(out);
        double bestNdcg = -1;
        int best = -1;
        for (org.factorbird.pipeline.model.GridFile.Entry e : grid.models()) {
            double ndcg = e.epochs().get(e.epochs().size() - 1).ndcgAtK();
            if (ndcg > bestNdcg) {
                bestNdcg = ndcg;
                best = e.index();
            }
        }
        assertEquals(best, grid.best());
        assertEquals(1, grid.models().get(0).place());
        assertEquals(best, grid.models().get(0).index(), "ranked by NDCG, best first");
    }
}
