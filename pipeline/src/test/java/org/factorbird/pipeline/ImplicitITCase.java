package org.factorbird.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.factorbird.pipeline.model.ModelFile;
import org.factorbird.ps.server.PsServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Implicit feedback on MovieLens, the protocol of the recommender literature: positives are ratings >= 4; train
 * on the training file's positives with --implicit and the defaults, recommend 10 columns per row excluding its
 * training positives, and measure NDCG@10 against the test file's positives, over the rows with a positive in both.
 */
class ImplicitITCase {

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2)
                    .build());

    @TempDir
    Path tmp;

    /** The lines of {@code file} with rating >= 4, header kept. */
    private Path positives(Path file, String name) throws IOException {
        List<String> kept = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            String[] p = line.split(",");
            if (!Character.isDigit(line.charAt(0)) || Float.parseFloat(p[2]) >= 4f) {
                kept.add(line);
            }
        }
        return Files.write(tmp.resolve(name), kept);
    }

    private static Map<Long, Set<Long>> byRow(Path file) throws IOException {
        Map<Long, Set<Long>> out = new HashMap<>();
        for (String line : Files.readAllLines(file)) {
            if (Character.isDigit(line.charAt(0))) {
                String[] p = line.split(",");
                out.computeIfAbsent(Long.parseLong(p[0]), r -> new HashSet<>()).add(Long.parseLong(p[1]));
            }
        }
        return out;
    }

    static double ndcg(List<Long> top, Set<Long> relevant) {
        double dcg = 0;
        for (int i = 0; i < Math.min(10, top.size()); i++) {
            if (relevant.contains(top.get(i))) {
                dcg += 1 / (Math.log(i + 2) / Math.log(2));
            }
        }
        double idcg = 0;
        for (int i = 0; i < Math.min(10, relevant.size()); i++) {
            idcg += 1 / (Math.log(i + 2) / Math.log(2));
        }
        return dcg / idcg;
    }

    @Test
    void movieLensImplicitDefaultsBeatThePopularityBaselineByFortyPercent() throws Exception {
        Path ml = MovieLens.require();
        Path train = positives(ml.resolve("train.csv"), "train4.csv");
        Path test = positives(ml.resolve("test.csv"), "test4.csv");
        Path out = tmp.resolve("model");
        try (PsServer a = PsServer.startLocal(0, 2); PsServer b = PsServer.startLocal(1, 2)) {
            TrainConfig cfg = TrainConfig.from(Configuration.fromMap(Map.of("input", train.toString(), "test",
                    test.toString(), "output", out.toString(), "parallelism", "2", "implicit", "true",
                    "recommend", "10", "ranking-k", "10", "ranking-every", "60", "ps",
                    a.address() + "," + b.address())), 21L);
            assertEquals(64, cfg.models.get(0).rank, "the implicit defaults apply");
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(
                    FactorbirdJob.flinkConfig(cfg));
            FactorbirdJob.build(env, cfg);
            env.execute("implicit");
        }
        Map<Long, Set<Long>> seen = byRow(train);
        Map<Long, Set<Long>> relevant = byRow(test);
        Map<Long, List<String[]>> recs = new HashMap<>();
        try (Stream<Path> files = Files.walk(out.resolve("recommendations"))) {
            for (Path f : (Iterable<Path>) files.filter(p -> p.getFileName().toString().startsWith("part"))::iterator) {
                for (String line : Files.readAllLines(f)) {
                    String[] l = line.split("\t");
                    recs.computeIfAbsent(Long.parseLong(l[0]), r -> new ArrayList<>()).add(l);
                }
            }
        }
        // the most popular training columns, best first, ties to the smaller id
        Map<Long, Long> popularity = seen.values().stream().flatMap(Set::stream)
                .collect(Collectors.groupingBy(c -> c, Collectors.counting()));
        List<Long> popular = new ArrayList<>(popularity.keySet());
        popular.sort(Comparator.comparing((Long c) -> -popularity.get(c)).thenComparing(c -> c));
        double model = 0;
        double baseline = 0;
        int rows = 0;
        for (Map.Entry<Long, Set<Long>> e : relevant.entrySet()) {
            long row = e.getKey();
            if (!seen.containsKey(row)) {
                continue;
            }
            List<String[]> lines = recs.get(row);
            lines.sort(Comparator.comparingInt(l -> Integer.parseInt(l[1])));
            List<Long> top = lines.stream().map(l -> Long.parseLong(l[2])).collect(Collectors.toList());
            assertTrue(top.stream().noneMatch(seen.get(row)::contains), "a training positive recommended: " + row);
            model += ndcg(top, e.getValue());
            baseline += ndcg(popular.stream().filter(c -> !seen.get(row).contains(c)).limit(10)
                    .collect(Collectors.toList()), e.getValue());
            rows++;
        }
        model /= rows;
        baseline /= rows;
        ModelFile m = ModelFiles.model(out);
        System.out.printf("MovieLens implicit (ratings >= 4), defaults: NDCG@10 %.4f over %d rows; most popular "
                + "%.4f (%.2fx); reported by training %.4f%n", model, rows, baseline, model / baseline,
                m.lastEpoch().ndcgAtK());
        assertTrue(model >= 0.150, "NDCG@10 " + model + " < 0.150");
        assertTrue(model >= 1.4 * baseline, "NDCG@10 " + model + " < 1.4 x most popular " + baseline);
        assertEquals(model, m.lastEpoch().ndcgAtK(), 1e-6, "training measured the same rows the same way");
        assertTrue(m.settings().implicit() && m.settings().loss().equals("bpr"), "" + m.settings());

        // predict on an implicit model: scores, never clipped to the range of the values (4..5 here)
        Path pred = tmp.resolve("pred");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        org.factorbird.pipeline.recommend.Recommendations.predict(env,
                org.factorbird.pipeline.model.ModelDir.open(out.toString()), test.toString(), pred.toString(), true);
        env.execute("predict implicit");
        List<Float> scores = new ArrayList<>();
        try (Stream<Path> files = Files.walk(pred)) {
            for (Path f : (Iterable<Path>) files.filter(p -> p.getFileName().toString().startsWith("part"))::iterator) {
                Files.readAllLines(f).forEach(l -> scores.add(Float.parseFloat(l.split("\t")[2])));
            }
        }
        assertEquals(4_889, scores.size());
        assertTrue(scores.stream().anyMatch(v -> v < 4f || v > 5f), "implicit scores were clipped");

        // implicit grids and early stopping need a ranking to judge by
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> TrainConfig.grid(Configuration.fromMap(Map.of("input", "x", "output", "y", "implicit", "true",
                        "rank", "8,16")), 1L));
        assertEquals("--implicit grid needs --ranking-k K: held-out RMSE cannot judge implicit feedback",
                e.getMessage());
    }
}
