package org.factorbird.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.factorbird.pipeline.ModelFiles.idsOf;
import static org.factorbird.pipeline.ModelFiles.model;
import static org.factorbird.pipeline.ModelFiles.readFactors;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.factorbird.pipeline.model.ModelDir;
import org.factorbird.pipeline.model.ModelFile;
import org.factorbird.pipeline.recommend.Recommendations;
import org.factorbird.pipeline.data.PlantedData;
import org.factorbird.ps.server.PsServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The whole job on Flink's MiniCluster (2 TaskManagers x 2 slots) against 2 real PS shards on loopback: held-out
 * RMSE against the planted noise floor, and complete outputs (every id exactly once).
 */
class TrainJobITCase {

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(2).setNumberSlotsPerTaskManager(2)
                    .setConfiguration(CollectingReporter.addTo(new Configuration())).build());

    static final double SIGMA = 0.3;

    @TempDir
    static Path tmp;
    static Path data;
    static PlantedData planted;
    static final List<PsServer> servers = new ArrayList<>();

    @BeforeAll
    static void setUp() throws IOException {
        data = tmp.resolve("planted");
        planted = new PlantedData(2000, 1000, 600_000, 8, SIGMA, 0.0, 0.1, 11L, 2);
        planted.write(data);
        servers.add(PsServer.startLocal(0, 2));
        servers.add(PsServer.startLocal(1, 2));
    }

    @AfterAll
    static void tearDown() {
        servers.forEach(PsServer::close);
    }

    static TrainConfig config(String input, String test, Path out, Map<String, String> extra) {
        Map<String, String> m = new HashMap<>();
        m.put("input", input);
        if (test != null) {
            m.put("test", test);
        }
        m.put("output", out.toString());
        m.put("parallelism", "2");
        m.putAll(extra);
        List<String> ps = new ArrayList<>();
        servers.forEach(s -> ps.add(s.address()));
        m.put("ps", String.join(",", ps));
        return TrainConfig.from(Configuration.fromMap(m), System.nanoTime() | 1);
    }

    static void run(TrainConfig cfg) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(
                FactorbirdJob.flinkConfig(cfg));
        FactorbirdJob.build(env, cfg);
        env.execute("test");
    }

    /** Held-out RMSE recomputed from the written factor files, clipped like the job. */
    static double rmseFromFiles(Path out, Path testDir) throws IOException {
        ModelFile model = model(out);
        float mu = (float) model.globalMean();
        assertEquals(2, model.ratingRange().length);
        float lo = model.ratingRange()[0];
        float hi = model.ratingRange()[1];
        Map<Long, float[]> rows = readFactors(out.resolve("rows"));
        Map<Long, float[]> cols = readFactors(out.resolve("columns"));
        double se = 0;
        long n = 0;
        try (Stream<Path> files = Files.list(testDir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                for (String line : Files.readAllLines(f)) {
                    if (line.startsWith("row")) {
                        continue;
                    }
                    String[] p = line.split(",");
                    float[] u = rows.get(Long.parseLong(p[0]));
                    float[] v = cols.get(Long.parseLong(p[1]));
                    float pred = mu + (u == null ? 0 : u[0]) + (v == null ? 0 : v[0]);
                    if (u != null && v != null) {
                        for (int q = 1; q < u.length; q++) {
                            pred += u[q] * v[q];
                        }
                    }
                    pred = Math.max(lo, Math.min(hi, pred));
                    double e = Float.parseFloat(p[2]) - pred;
                    se += e * e;
                    n++;
                }
            }
        }
        return Math.sqrt(se / n);
    }

    @ParameterizedTest(name = "state backend {0}")
    @ValueSource(strings = {"heap", "rocksdb"})
    void plantedDataReachesTheNoiseFloorWithCompleteOutputs(String backend) throws Exception {
        CollectingReporter.reset(); // the other backend's run must not answer for this one
        Path out = tmp.resolve("out-" + backend);
        // The planted noise is small next to the signal: regularise less than the MovieLens-tuned default.
        TrainConfig cfg = config(data.resolve("train").toString(), data.resolve("test").toString(), out,
                Map.of("rank", "10", "epochs", "20", "lambda", "0.02", "state-backend", backend,
                        "batch-rows", "256"));
        run(cfg);

        ModelFile model = model(out);
        double reported = model.finalTestRmse();
        System.out.printf("planted (%s): held-out RMSE %.4f = %.3f x sigma%n", backend, reported, reported / SIGMA);
        assertTrue(reported <= 1.10 * SIGMA, "held-out RMSE " + reported + " > 1.10 x sigma " + SIGMA);
        double recomputed = rmseFromFiles(out, data.resolve("test"));
        assertEquals(reported, recomputed, 2e-3, "RMSE from the written factors");

        Set<Long>[] train = idsOf(data.resolve("train"));
        Map<Long, float[]> rows = readFactors(out.resolve("rows"));
        Map<Long, float[]> cols = readFactors(out.resolve("columns"));
        assertEquals(train[0], rows.keySet());
        assertEquals(train[1], cols.keySet());
        rows.values().forEach(v -> assertEquals(11, v.length));
        assertEquals(planted.trainWritten, model.counts().trainRatings());
        assertEquals(planted.testWritten, model.counts().testRatings());
        assertEquals(train[0].size(), model.counts().rows());
        assertEquals(train[1].size(), model.counts().columns());
        assertEquals(0, model.counts().skippedLines());

        // the operator's Flink metrics, as a metric reporter saw them at the end
        assertEquals(20, ((Number) CollectingReporter.find("factorbird.epoch")).intValue());
        assertEquals(reported, ((Number) CollectingReporter.find("factorbird.testRmse")).doubleValue(), 1e-6);
        assertTrue(((Number) CollectingReporter.find("factorbird.ratingsPerSecond")).doubleValue() > 0);
        assertEquals(0L, ((Number) CollectingReporter.find("factorbird.skippedLines")).longValue());
    }

    /**
     * Four subtasks on skewed data (Zipf 0.8 over 2,000 columns: a popular column has hundreds of ratings in every
     * subtask's batch) sum four deltas per popular column per round: without push damping they overshoot and the run
     * diverges (it did with every default before damping); with it the four train as well as one subtask does.
     */
    @Test
    void fourSubtasksOnSkewedDataDivergeWithoutPushDampingAndTrainAsOneDoesWithIt() throws Exception {
        Path skewed = tmp.resolve("skewed");
        new PlantedData(20_000, 2_000, 400_000, 5, 0.5, 0.8, 0.05, 3L, 1).write(skewed);
        String train = skewed.resolve("train").toString();
        String test = skewed.resolve("test").toString();
        Map<String, String> common = Map.of("rank", "5", "epochs", "10");

        Exception e = assertThrows(Exception.class, () -> run(config(train, test, tmp.resolve("skewed-undamped"),
                with(common, "parallelism", "4", "push-damping", "false"))));
        assertTrue(messages(e).contains("non-finite delta"), messages(e));

        run(config(train, test, tmp.resolve("skewed-1"), with(common, "parallelism", "1")));
        run(config(train, test, tmp.resolve("skewed-4"), with(common, "parallelism", "4")));
        double one = model(tmp.resolve("skewed-1")).finalTestRmse();
        double four = model(tmp.resolve("skewed-4")).finalTestRmse();
        System.out.printf("skewed: held-out RMSE %.4f with one subtask, %.4f with four (damped)%n", one, four);
        assertTrue(one < 0.70, "one subtask: " + one); // 0.671 here; the noise floor is 0.5
        assertTrue(four <= 1.03 * one, "four subtasks " + four + " against one " + one);
    }

    private static Map<String, String> with(Map<String, String> base, String... keyValues) {
        Map<String, String> m = new HashMap<>(base);
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put(keyValues[i], keyValues[i + 1]);
        }
        return m;
    }

    /** The messages of {@code e} and its causes, one per line. */
    private static String messages(Throwable e) {
        StringBuilder b = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            b.append(t.getMessage()).append('\n');
        }
        return b.toString();
    }

    @Test
    void gzipAndBzip2CopiesGiveTheSameModelAsThePlainFile() throws Exception {
        // the planted training files, then gzip and bzip2 copies of them (file names say the compression)
        Path gz = Files.createDirectories(tmp.resolve("gz"));
        Path bz2 = Files.createDirectories(tmp.resolve("bz2"));
        List<Path> parts;
        try (var files = Files.list(data.resolve("train"))) {
            parts = files.filter(f -> f.getFileName().toString().endsWith(".csv")).sorted().toList();
        }
        for (Path part : parts) {
            byte[] bytes = Files.readAllBytes(part);
            try (java.io.OutputStream o = new java.util.zip.GZIPOutputStream(Files.newOutputStream(
                    gz.resolve(part.getFileName() + ".gz")))) {
                o.write(bytes);
            }
            try (java.io.OutputStream o = new org.apache.commons.compress.compressors.bzip2
                    .BZip2CompressorOutputStream(Files.newOutputStream(bz2.resolve(part.getFileName() + ".bz2")))) {
                o.write(bytes);
            }
        }
        Map<String, Map<Long, float[]>> rows = new HashMap<>();
        Map<String, Map<Long, float[]>> cols = new HashMap<>();
        for (Path in : List.of(data.resolve("train"), gz, bz2)) {
            String name = in.getFileName().toString();
            Path out = tmp.resolve("compressed-" + name);
            run(config(in.toString(), data.resolve("test").toString(), out, Map.of("parallelism", "1", "epochs", "3")));
            assertEquals(540_000, model(out).counts().trainRatings(), 2_000, name);
            rows.put(name, ModelFiles.readFactors(out.resolve("rows")));
            cols.put(name, ModelFiles.readFactors(out.resolve("columns")));
        }
        for (String name : List.of("gz", "bz2")) {
            assertEquals(rows.get("train").keySet(), rows.get(name).keySet(), name);
            for (Map.Entry<Long, float[]> e : rows.get("train").entrySet()) {
                assertArrayEquals(e.getValue(), rows.get(name).get(e.getKey()), name + " row " + e.getKey());
            }
            assertEquals(cols.get("train").keySet(), cols.get(name).keySet(), name);
            for (Map.Entry<Long, float[]> e : cols.get("train").entrySet()) {
                assertArrayEquals(e.getValue(), cols.get(name).get(e.getKey()), name + " column " + e.getKey());
            }
        }
    }

    @Test
    void movieLensWithDefaultSettingsBeatsTheFirstBar() throws Exception {
        Path ml = MovieLens.require();
        Path out = tmp.resolve("out-ml");
        run(config(ml.resolve("train.csv").toString(), ml.resolve("test.csv").toString(), out, Map.of()));
        ModelFile model = model(out);
        double rmse = model.finalTestRmse();
        System.out.printf("MovieLens, defaults: held-out RMSE %.4f%n", rmse);
        assertTrue(rmse <= 0.880, "MovieLens held-out RMSE " + rmse + " > 0.880 (README \"Defaults\")");
        assertEquals(90_752, model.counts().trainRatings());
        assertEquals(10_084, model.counts().testRatings());
    }

    @Test
    void malformedLinesAreSkippedAndCountedOrFailTheJobInStrictMode() throws Exception {
        Path in = tmp.resolve("bad-input");
        Files.createDirectories(in);
        StringBuilder sb = new StringBuilder("user,item,rating\n");
        for (int i = 0; i < 200; i++) {
            sb.append(i % 20).append(',').append(i % 13).append(',').append(1 + i % 5).append('\n');
        }
        sb.append("oops\n1,2,NaN\n-3,4,5\n");
        Files.writeString(in.resolve("ratings.csv"), sb);

        Path out = tmp.resolve("out-bad");
        run(config(in.toString(), null, out, Map.of("epochs", "2")));
        ModelFile model = model(out);
        assertEquals(3, model.counts().skippedLines());
        assertEquals(200, model.counts().trainRatings());
        assertEquals(20, model.counts().rows());
        assertEquals(13, model.counts().columns());
        List<String> skipped = Files.readAllLines(out.resolve("skipped-lines.txt"));
        assertEquals(3, skipped.size());
        assertTrue(skipped.get(0).endsWith("ratings.csv:202: row id 'oops' is not a non-negative integer (string ids "
                + "need --ids string) in 'oops'"), skipped.get(0));

        Exception e = assertThrows(Exception.class,
                () -> run(config(in.toString(), null, tmp.resolve("out-strict"), Map.of("strict", "true"))));
        String chain = "";
        for (Throwable t = e; t != null; t = t.getCause()) {
            chain = t.getMessage();
        }
        assertTrue(chain.contains("ratings.csv:202: row id 'oops' is not a non-negative integer"), chain);
        assertFalse(Files.exists(tmp.resolve("out-strict").resolve("model.json")));
    }

    @Test
    void stringIdsGiveTheHeldOutRmseOfTheNumericIdsAndTheOutputsUseTheStrings() throws Exception {
        // the planted files with ids u<row> and i<col>, header included ("row,col,value": skipped by its value)
        Path strTrain = stringCopy(data.resolve("train"), tmp.resolve("str-train"));
        Path strTest = stringCopy(data.resolve("test"), tmp.resolve("str-test"));
        // 20 epochs: near convergence the run-to-run spread of Hogwild (about 0.001 here) is small next to 1%
        Map<String, String> settings = Map.of("rank", "10", "epochs", "20", "lambda", "0.02");
        Path numeric = tmp.resolve("out-numeric-ids");
        run(config(data.resolve("train").toString(), data.resolve("test").toString(), numeric, settings));
        Path strings = tmp.resolve("out-string-ids");
        Map<String, String> stringSettings = new HashMap<>(settings);
        stringSettings.put("ids", "string");
        run(config(strTrain.toString(), strTest.toString(), strings, stringSettings));

        ModelFile n = model(numeric);
        ModelFile s = model(strings);
        System.out.printf("held-out RMSE: numeric ids %.4f, string ids %.4f%n", n.finalTestRmse(), s.finalTestRmse());
        // the same data and settings; only the keys (hence initial values and the order of rows) differ
        assertEquals(n.finalTestRmse(), s.finalTestRmse(), 0.01 * n.finalTestRmse());
        assertEquals("string", s.settings().ids());
        assertEquals(n.counts().trainRatings(), s.counts().trainRatings());
        assertEquals(n.counts().testRatings(), s.counts().testRatings());
        assertEquals(0, s.counts().skippedLines());

        Set<Long>[] train = idsOf(data.resolve("train"));
        Set<String> rowNames = new java.util.HashSet<>();
        train[0].forEach(r -> rowNames.add("u" + r));
        Set<String> colNames = new java.util.HashSet<>();
        train[1].forEach(c -> colNames.add("i" + c));
        Map<String, float[]> rows = ModelFiles.readNamedFactors(strings.resolve("rows"));
        Map<String, float[]> cols = ModelFiles.readNamedFactors(strings.resolve("columns"));
        assertEquals(rowNames, rows.keySet());
        assertEquals(colNames, cols.keySet());
        assertEquals(rows.size(), s.counts().rows());
        assertEquals(cols.size(), s.counts().columns());

        // recommend and predict read the strings, hash them like training, and write them back
        float mu = (float) s.globalMean();
        Path recs = tmp.resolve("str-recs");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        Recommendations.recommend(env, ModelDir.open(strings.toString()), 3, recs.toString(), strTrain.toString(),
                null);
        env.execute("recommend");
        Map<String, Set<String>> rated = new HashMap<>();
        for (String[] p : ModelFiles.ratingsOf(strTrain)) {
            rated.computeIfAbsent(p[0], r -> new java.util.HashSet<>()).add(p[1]);
        }
        Map<String, Integer> perRow = new HashMap<>();
        for (String[] l : ModelFiles.outputLines(recs)) {
            perRow.merge(l[0], 1, Integer::sum);
            assertTrue(cols.containsKey(l[2]), "recommended column " + l[2]);
            assertFalse(rated.get(l[0]).contains(l[2]), "a rated pair recommended: " + l[0] + " " + l[2]);
            assertEquals(score(mu, rows.get(l[0]), cols.get(l[2])), Float.parseFloat(l[3]), 1e-5f);
        }
        assertEquals(rowNames, perRow.keySet());
        perRow.values().forEach(k -> assertEquals(3, k));

        Path pairs = tmp.resolve("str-pairs.txt");
        Files.writeString(pairs, "u1 i2\nu3\ti5\nnobody i2\n");
        Path pred = tmp.resolve("str-pred");
        env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        Recommendations.predict(env, ModelDir.open(strings.toString()), pairs.toString(), pred.toString(), false);
        env.execute("predict");
        Map<String, Float> predicted = new HashMap<>();
        for (String[] l : ModelFiles.outputLines(pred)) {
            predicted.put(l[0] + " " + l[1], Float.parseFloat(l[2]));
        }
        assertEquals(Set.of("u1 i2", "u3 i5", "nobody i2"), predicted.keySet());
        assertEquals(score(mu, rows.get("u1"), cols.get("i2")), predicted.get("u1 i2"), 1e-5f);
        assertEquals(score(mu, rows.get("u3"), cols.get("i5")), predicted.get("u3 i5"), 1e-5f);
        assertEquals(mu + cols.get("i2")[0], predicted.get("nobody i2"), 1e-5f); // an unknown row: mu + b_j
    }

    static float score(float mu, float[] u, float[] v) {
        float p = mu + u[0] + v[0];
        for (int f = 1; f < u.length; f++) {
            p += u[f] * v[f];
        }
        return p;
    }

    /** {@code dir}'s rating files with row r written u<r> and column c written i<c>. */
    static Path stringCopy(Path dir, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                StringBuilder sb = new StringBuilder();
                for (String line : Files.readAllLines(f)) {
                    if (line.startsWith("row")) {
                        sb.append(line).append('\n');
                        continue;
                    }
                    int a = line.indexOf(',');
                    int b = line.indexOf(',', a + 1);
                    sb.append('u').append(line, 0, a).append(",i").append(line, a + 1, b).append(line, b, line.length())
                            .append('\n');
                }
                Files.writeString(to.resolve(f.getFileName()), sb);
            }
        }
        return to;
    }
}
