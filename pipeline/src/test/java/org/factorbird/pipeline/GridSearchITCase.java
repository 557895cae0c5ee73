package org.factorbird.pipeline;

import static org.factorbird.pipeline.ModelFiles.model;
import static org.factorbird.pipeline.ModelFiles.readFactors;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.factorbird.pipeline.model.EpochRecord;
import org.factorbird.pipeline.model.GridFile;
import org.factorbird.pipeline.model.ModelFile;
import org.factorbird.pipeline.data.PlantedData;
import org.factorbird.pipeline.io.HoldoutSplit;
import org.factorbird.ps.server.PsServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Grid search, the full model's options and held-out evaluation, on the MiniCluster with 2 PS shards. */
class GridSearchITCase {

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(2).setNumberSlotsPerTaskManager(2)
                    .build());

    @TempDir
    static Path tmp;
    static Path small;
    static Path planted;
    static final double SIGMA = 0.3;
    static final List<PsServer> servers = new ArrayList<>();

    @BeforeAll
    static void setUp() throws IOException {
        small = tmp.resolve("small");
        new PlantedData(300, 200, 30_000, 4, 0.2, 0.5, 0.1, 5L, 1).write(small);
        planted = tmp.resolve("planted");
        new PlantedData(2000, 1000, 600_000, 8, SIGMA, 0.0, 0.0, 11L, 2).write(planted);
        servers.add(PsServer.startLocal(0, 2));
        servers.add(PsServer.startLocal(1, 2));
    }

    @AfterAll
    static void tearDown() {
        servers.forEach(PsServer::close);
    }

    static Map<String, String> base(String input, String test, Path out, int parallelism) {
        Map<String, String> m = new HashMap<>();
        m.put("input", input);
        if (test != null) {
            m.put("test", test);
        }
        m.put("output", out.toString());
        m.put("parallelism", String.valueOf(parallelism));
        List<String> ps = new ArrayList<>();
        servers.forEach(s -> ps.add(s.address()));
        m.put("ps", String.join(",", ps));
        return m;
    }

    static void run(TrainConfig cfg) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(
                FactorbirdJob.flinkConfig(cfg));
        FactorbirdJob.build(env, cfg);
        env.execute("test");
    }

    /** Each epoch's losses and errors, to compare runs (times and traffic differ). */
    static List<List<Double>> epochsOf(ModelFile model) {
        List<List<Double>> out = new ArrayList<>();
        for (EpochRecord e : model.epochs()) {
            out.add(java.util.Arrays.asList(e.trainRmse(), e.trainRmseDuringEpoch(), e.testRmse(), e.testMae()));
        }
        return out;
    }

    @Test
    void everyModelOfAGridEqualsTheSameModelTrainedAlone() throws Exception {
        Map<String, String> grid = base(small.resolve("train").toString(), small.resolve("test").toString(),
                tmp.resolve("grid"), 1);
        grid.putAll(Map.of("epochs", "4", "rank", "3,6", "lambda", "0.02", "schedule", "constant,decay,adagrad",
                "learning-rate", "0.02", "keep-all", "true", "batch-rows", "32", "validation", "0"));
        TrainConfig g = TrainConfig.grid(Configuration.fromMap(grid), 101L);
        assertEquals(6, g.models.size());
        run(g);
        GridFile gridFile = ModelFiles.grid(tmp.resolve("grid"));
        for (int m = 0; m < g.models.size(); m++) {
            HyperParams p = g.models.get(m);
            Map<String, String> single = base(small.resolve("train").toString(), small.resolve("test").toString(),
                    tmp.resolve("single-" + m), 1);
            single.putAll(Map.of("epochs", "4", "rank", String.valueOf(p.rank), "lambda", "0.02",
                    "schedule", p.schedule.name().toLowerCase(), "learning-rate", "0.02", "batch-rows", "32"));
            run(TrainConfig.from(Configuration.fromMap(single), 202L + m));
            Path alone = tmp.resolve("single-" + m);
            Path inGrid = tmp.resolve("grid").resolve("models").resolve(String.valueOf(m));
            for (String kind : List.of("rows", "columns")) {
                Map<Long, float[]> a = readFactors(alone.resolve(kind));
                Map<Long, float[]> b = readFactors(inGrid.resolve(kind));
                assertEquals(a.keySet(), b.keySet(), "model " + m + " " + kind);
                for (Map.Entry<Long, float[]> e : a.entrySet()) {
                    assertArrayEquals(e.getValue(), b.get(e.getKey()), "model " + m + " " + kind + " id " + e.getKey());
                }
            }
            List<List<Double>> e1 = epochsOf(model(alone));
            assertEquals(4, e1.size());
            assertEquals(e1, epochsOf(model(inGrid)), "metrics of model " + m);
            int index = m;
            assertTrue(gridFile.models().stream().anyMatch(e -> e.index() == index && e.place() >= 1), "grid.json: " + gridFile);
        }
        // the best model is also the top-level model
        int best = gridFile.best();
        assertEquals(Files.readString(tmp.resolve("grid").resolve("models").resolve(String.valueOf(best))
                .resolve("model.json")), Files.readString(tmp.resolve("grid").resolve("model.json")));
    }

    @Test
    void holdoutSplitIsTheSameAtEveryParallelismAndReachesTheNoiseFloor() throws Exception {
        long expectedHeldOut = 0;
        long lines = 0;
        for (Path f : Files.list(planted.resolve("train")).toList()) {
            for (String line : Files.readAllLines(f)) {
                if (line.startsWith("row")) {
                    continue;
                }
                String[] p = line.split(",");
                lines++;
                expectedHeldOut += HoldoutSplit.isHeldOut(42, Long.parseLong(p[0]), Long.parseLong(p[1]), 0.1) ? 1 : 0;
            }
        }
        double best = Double.POSITIVE_INFINITY;
        for (int parallelism : new int[] {1, 3}) {
            Path out = tmp.resolve("holdout-" + parallelism);
            Map<String, String> m = base(planted.resolve("train").toString(), null, out, parallelism);
            m.putAll(Map.of("holdout", "0.1", "seed", "42", "rank", "10", "epochs", "20", "learning-rate", "0.01",
                    "lambda", "0.01,0.02", "schedule", "constant,decay", "decay", "0.1", "init-std", "0.1",
                    "batch-rows", "256"));
            run(TrainConfig.grid(Configuration.fromMap(m), 300L + parallelism));
            ModelFile model = model(out);
            assertEquals(expectedHeldOut, model.counts().testRatings(), "parallelism " + parallelism);
            // an explicit grid sets 5% of the training input aside for validation
            assertEquals(lines - expectedHeldOut, model.counts().trainRatings() + model.counts().validationRatings());
            assertTrue(model.counts().validationRatings() > 0.04 * lines, "" + model.counts());
            best = Math.min(best, model.finalTestRmse());
        }
        System.out.printf("planted, --holdout 0.1: best held-out RMSE %.4f = %.3f x sigma%n", best, best / SIGMA);
        assertTrue(best <= 1.05 * SIGMA, "best held-out RMSE " + best + " > 1.05 x sigma");
    }

    @Test
    void zeroWeightsSilenceCorruptedRatings() throws Exception {
        // A fifth of the training ratings is replaced by garbage with weight 0; the rest keep weight 1.
        Path in = Files.createDirectories(tmp.resolve("weighted"));
        StringBuilder sb = new StringBuilder("row,col,rating,weight\n");
        int i = 0;
        for (String line : Files.readAllLines(small.resolve("train").resolve("part-00000.csv"))) {
            if (line.startsWith("row")) {
                continue;
            }
            String[] p = line.split(",");
            boolean garbage = i++ % 5 == 0;
            sb.append(p[0]).append(',').append(p[1]).append(',').append(garbage ? "40" : p[2]).append(',')
                    .append(garbage ? "0" : "1").append('\n');
        }
        Files.writeString(in.resolve("r.csv"), sb);
        // the reference: the same file without the garbage lines, no weights
        Path clean = Files.createDirectories(tmp.resolve("clean"));
        Files.write(clean.resolve("r.csv"), sb.toString().lines().filter(l -> !l.endsWith(",40,0")).toList());
        double[] rmse = new double[3];
        for (int run = 0; run < 3; run++) {
            Path out = tmp.resolve("weighted-out-" + run);
            // parallelism 1: deterministic runs (with 2, Hogwild! interleaving moved the clean RMSE by up to 2%)
            Map<String, String> m = base((run == 2 ? clean : in).toString(), small.resolve("test").toString(), out, 1);
            // the old defaults' small constant step: the unweighted run must survive ratings of 40, not diverge
            m.putAll(Map.of("epochs", "30", "rank", "4", "lambda", "0.02", "clip", "false", "schedule", "constant",
                    "learning-rate", "0.01", "init-std", "0.1"));
            if (run == 1) {
                m.put("weight-column", "4");
            }
            run(TrainConfig.from(Configuration.fromMap(m), 400L + run));
            rmse[run] = model(out).finalTestRmse();
        }
        System.out.printf("corrupted 20%%: held-out RMSE unweighted %.4f, weighted %.4f, clean data %.4f%n", rmse[0],
                rmse[1], rmse[2]);
        assertEquals(rmse[2], rmse[1], 0.03 * rmse[2], "weight 0 must make the garbage invisible");
        assertTrue(rmse[0] > 3 * rmse[1], "the unweighted run must suffer: " + rmse[0] + " vs " + rmse[1]);
    }

    @Test
    void earlyStopEndsTheRunWhenHeldOutErrorStopsImproving() throws Exception {
        Path out = tmp.resolve("early");
        Map<String, String> m = base(small.resolve("train").toString(), small.resolve("test").toString(), out, 2);
        // no regularisation and a large rank: the model overfits within a few epochs
        m.putAll(Map.of("epochs", "200", "rank", "40", "lambda", "0", "lambda-bias", "0", "learning-rate", "0.05",
                "early-stop", "2"));
        run(TrainConfig.from(Configuration.fromMap(m), 500L));
        ModelFile model = model(out);
        assertTrue(model.stoppedEarly() != null && model.stoppedEarly().startsWith("after epoch "), "" + model);
        int epochs = epochsOf(model).size();
        assertTrue(epochs < 200 && epochs >= 3, "epochs run: " + epochs);
    }

    @Test
    void movieLensGridBeatsLibmfsBestOfTwelve() throws Exception {
        Path ml = MovieLens.require();
        Path out = tmp.resolve("ml-grid");
        Map<String, String> m = base(ml.resolve("train.csv").toString(), ml.resolve("test.csv").toString(), out, 2);
        m.putAll(Map.of("rank", "100,200", "lambda", "0.08,0.1", "learning-rate", "0.02", "epochs", "40",
                "schedule", "constant", "init-std", "0.1", "validation", "0"));
        run(TrainConfig.grid(Configuration.fromMap(m), 600L));
        GridFile grid = ModelFiles.grid(out);
        double best = model(out).finalTestRmse();
        System.out.printf("MovieLens grid of 4: best held-out RMSE %.4f (%s)%n", best,
                model(out).hyperParameters());
        assertTrue(best <= 0.860, "best held-out RMSE " + best + " > 0.860: " + grid);
    }

    @Test
    void withAValidationSplitTheTestSetInfluencesNothing() throws Exception {
        // a second test set: other values, a third of the lines gone, and rows and columns the first never had
        Path otherTest = Files.createDirectories(tmp.resolve("other-test"));
        List<String> lines = new ArrayList<>();
        int i = 0;
        for (String line : Files.readAllLines(small.resolve("test").resolve("part-00000.csv"))) {
            if (line.startsWith("row") || i++ % 3 == 0) {
                continue;
            }
            String[] p = line.split(",");
            lines.add(p[0] + "," + p[1] + "," + (Float.parseFloat(p[2]) + 1.5f));
        }
        lines.add("999999,888888,3.0");
        Files.write(otherTest.resolve("t.csv"), lines);
        GridFile[] grids = new GridFile[2];
        Map<Long, float[]>[] rows = new Map[2];
        Map<Long, float[]>[] cols = new Map[2];
        for (int run = 0; run < 2; run++) {
            Path out = tmp.resolve("validated-" + run);
            Map<String, String> m = base(small.resolve("train").toString(),
                    (run == 0 ? small.resolve("test") : otherTest).toString(), out, 1);
            m.putAll(Map.of("epochs", "4", "rank", "3,6", "lambda", "0.01,0.1", "validation", "0.1", "seed", "9",
                    "batch-rows", "32", "early-stop", "2"));
            run(TrainConfig.grid(Configuration.fromMap(m), 700L + run));
            grids[run] = ModelFiles.grid(out);
            rows[run] = readFactors(out.resolve("rows"));
            cols[run] = readFactors(out.resolve("columns"));
            ModelFile model = model(out);
            assertTrue(model.counts().validationRatings() > 2000, "validation ratings: " + model.counts());
            assertTrue(model.finalValidationRmse() != null && model.epochs().get(0).validationRmse() != null,
                    "" + model);
        }
        assertEquals(grids[0].best(), grids[1].best(), "the same model chosen");
        for (int k = 0; k < grids[0].models().size(); k++) {
            assertEquals(grids[0].models().get(k).index(), grids[1].models().get(k).index(), "the same ranking");
            assertEquals(grids[0].models().get(k).finalValidationRmse(), grids[1].models().get(k).finalValidationRmse());
        }
        assertTrue(!grids[0].models().get(0).finalTestRmse().equals(grids[1].models().get(0).finalTestRmse()),
                "the test sets differ, and so do their errors");
        for (int run = 1; run < 2; run++) {
            assertEquals(rows[0].keySet(), rows[run].keySet());
            assertEquals(cols[0].keySet(), cols[run].keySet());
            for (Map.Entry<Long, float[]> e : rows[0].entrySet()) {
                assertArrayEquals(e.getValue(), rows[run].get(e.getKey()), "row " + e.getKey());
            }
            for (Map.Entry<Long, float[]> e : cols[0].entrySet()) {
                assertArrayEquals(e.getValue(), cols[run].get(e.getKey()), "column " + e.getKey());
            }
        }
    }

    @Test
    void rungSharesGrowByOneOverKeepUntilAFullEpochOrOneModel() {
        assertEquals("0.0625, 0.2500", Rungs.of(64, 0.25, 0.0625).toString());
        assertEquals("0.0313, 0.0625, 0.1250, 0.2500, 0.5000", Rungs.of(64, 0.5, 0.03125).toString());
        assertEquals(1, Rungs.of(2, 0.5, 0.1).count(), "one model left after one pass");
        assertEquals(0, Rungs.of(64, 0.5, 1.0).count());
        assertEquals(0.0625f, Rungs.of(64, 0.25, 0.0625).share(1));
        assertEquals(1f, Rungs.of(64, 0.25, 0.0625).share(3));
    }

    @Test
    void firstRungPrunesAfterPartialPassesThatEvaluateOnValidationOnly() throws Exception {
        Path out = tmp.resolve("rungs");
        Map<String, String> m = base(small.resolve("train").toString(), small.resolve("test").toString(), out, 2);
        m.putAll(Map.of("epochs", "3", "rank", "3,6", "lambda", "0.01,0.1", "learning-rate", "0.01,0.03",
                "prune", "halving", "prune-every", "1", "keep", "0.5", "first-rung", "0.25", "batch-rows", "32"));
        m.put("prune-tie", "0"); // exactly half at each cut: the rank 3 and 6 models of a setting tie early
        TrainConfig g = TrainConfig.grid(Configuration.fromMap(m), 803L);
        assertEquals(5, g.epochs, "3 full epochs after 2 rung passes (1/4 and 1/2 of the rows)");
        assertEquals(0.75, g.rungs.passesBefore(3), 1e-9);
        assertEquals(1.75, g.rungs.passesBefore(4), 1e-9);
        run(g);
        GridFile grid = ModelFiles.grid(out);
        assertEquals("halving every 1 epochs, keep 0.5, after rung passes on 0.2500, 0.5000 of the rows (epochs 1-2)",
                grid.pruning());
        Map<Integer, Integer> stops = new java.util.TreeMap<>();
        for (GridFile.Entry e : grid.models()) {
            stops.merge(e.stoppedAfterEpoch() == null ? 5 : e.stoppedAfterEpoch(), 1, Integer::sum);
        }
        assertEquals(Map.of(1, 4, 2, 2, 3, 1, 5, 1), stops, "8 models: 4 stop after the first rung pass, 2 after "
                + "the second, 1 after the first full epoch");
        GridFile.Entry best = grid.models().get(0);
        assertEquals(null, best.stoppedAfterEpoch());
        List<EpochRecord> epochs = best.epochs();
        assertEquals(5, epochs.size());
        for (int e = 0; e < 5; e++) {
            assertTrue(epochs.get(e).validationRmse() != null, "validation after every pass");
            // the rung passes are judged on validation alone: no test numbers, no loss sample
            assertEquals(e < 2, epochs.get(e).testRmse() == null, "test RMSE after epoch " + (e + 1));
        }
        assertTrue(grid.models().get(0).finalTestRmse() < 1.2, "" + grid.models().get(0).finalTestRmse());
    }

    @Test
    void halvingStopsModelsWhichThenCostNoBytesAndKeepTheirParameters() throws Exception {
        Path out = tmp.resolve("halving");
        Map<String, String> m = base(small.resolve("train").toString(), small.resolve("test").toString(), out, 1);
        m.putAll(Map.of("epochs", "6", "rank", "3,6", "lambda", "0.01,0.1", "learning-rate", "0.01,0.03",
                "prune", "halving", "prune-every", "2", "keep", "0.5", "keep-all", "true", "batch-rows", "32"));
        m.put("prune-tie", "0"); // exactly half at each cut (the tie rule has PruningTest)
        TrainConfig g = TrainConfig.grid(Configuration.fromMap(m), 801L);
        assertEquals(0.05f, g.validation, "an explicit grid validates on 5% unless told otherwise");
        run(g);
        GridFile grid = ModelFiles.grid(out);
        assertEquals("halving every 2 epochs, keep 0.5", grid.pruning());
        Map<Integer, Integer> stops = new java.util.TreeMap<>();
        for (GridFile.Entry e : grid.models()) {
            int last = e.stoppedAfterEpoch() == null ? 6 : e.stoppedAfterEpoch();
            stops.merge(last, 1, Integer::sum);
            assertEquals(last, e.epochs().size(), "model " + e.index() + " has a record per epoch it trained");
        }
        assertEquals(Map.of(2, 4, 4, 2, 6, 2), stops, "8 models: 4 stop after epoch 2, 2 after epoch 4");
        // each pruning stopped the worse half on validation, and the best is the best of those trained to the end
        for (GridFile.Entry e : grid.models()) {
            if (e.stoppedAfterEpoch() != null) {
                int at = e.stoppedAfterEpoch();
                long better = grid.models().stream().filter(o -> o.epochs().size() > at
                        && o.epochs().get(at - 1).validationRmse() <= e.epochs().get(at - 1).validationRmse()).count();
                assertEquals(at == 2 ? 4 : 2, better, "models kept over model " + e.index() + " after epoch " + at);
            }
        }
        GridFile.Entry best = grid.models().get(0);
        assertEquals(grid.best(), best.index());
        assertEquals(null, best.stoppedAfterEpoch());
        // PS bytes per epoch fall as the models stop: 8, 4, then 2 models' floats per column
        List<EpochRecord> epochs = best.epochs();
        double[] bytes = new double[6];
        for (int e = 0; e < 6; e++) {
            bytes[e] = java.util.Arrays.stream(epochs.get(e).psBytesPerShard()).sum();
        }
        // (batches differ by epoch, so their distinct columns do too: a fraction of a percent)
        assertEquals(bytes[0], bytes[1], 0.01 * bytes[0], "as many bytes every epoch while the same models train");
        assertTrue(bytes[2] < 0.6 * bytes[1] && bytes[2] > 0.4 * bytes[1], java.util.Arrays.toString(bytes));
        assertTrue(bytes[4] < 0.6 * bytes[3] && bytes[4] > 0.4 * bytes[3], java.util.Arrays.toString(bytes));
        // a stopped model keeps the parameters it had: the same as training it alone for the epochs it trained
        GridFile.Entry stopped = grid.models().stream().filter(e -> Integer.valueOf(2).equals(e.stoppedAfterEpoch()))
                .findFirst().orElseThrow();
        HyperParams p = g.models.get(stopped.index());
        Map<String, String> single = base(small.resolve("train").toString(), small.resolve("test").toString(),
                tmp.resolve("halving-alone"), 1);
        single.putAll(Map.of("epochs", "2", "rank", String.valueOf(p.rank), "lambda", String.valueOf(p.lambda),
                "learning-rate", String.valueOf(p.learningRate), "batch-rows", "32", "validation", "0.05"));
        run(TrainConfig.from(Configuration.fromMap(single), 802L));
        for (String kind : List.of("rows", "columns")) {
            Map<Long, float[]> a = readFactors(tmp.resolve("halving-alone").resolve(kind));
            Map<Long, float[]> b = readFactors(out.resolve("models").resolve(String.valueOf(stopped.index()))
                    .resolve(kind));
            assertEquals(a.keySet(), b.keySet(), kind);
            for (Map.Entry<Long, float[]> e : a.entrySet()) {
                assertArrayEquals(e.getValue(), b.get(e.getKey()), kind + " id " + e.getKey());
            }
        }
    }

    @Test
    void plainTrainWithTheDefaultsEndsNearTheNoiseFloor() throws Exception {
        // shape (i) of the defaults' measurements (README "Defaults"): 2,000 x 1,000, 600k ratings, rank 8, noise 0.3
        Path out = tmp.resolve("defaults");
        Map<String, String> m = base(planted.resolve("train").toString(), null, out, 2);
        m.put("holdout", "0.1"); // no hyper-parameter, no epochs: the defaults
        TrainConfig cfg = TrainConfig.from(Configuration.fromMap(m), 901L);
        run(cfg);
        ModelFile model = model(out);
        assertEquals(cfg.epochs, model.epochs().size());
        System.out.printf("planted 2,000 x 1,000, defaults: held-out RMSE %.4f = %.3f x sigma%n", model.finalTestRmse(),
                model.finalTestRmse() / SIGMA);
        assertTrue(model.finalTestRmse() <= 1.35 * SIGMA, "held-out RMSE " + model.finalTestRmse() + " > 1.35 x "
                + SIGMA);
        // Dense data: a training batch holds at most BATCH_STEPS_PER_COLUMN ratings per column, blocks of 256 rows
        // (~69,000 ratings here) notwithstanding. With 4 batches a subtask, two subtasks once grew one factor with
        // opposite signs and cancelled each other's pushes for good (held-out 0.47, ClusterIT). Every batch pulls
        // and pushes once per shard, so the requests of an epoch count the batches.
        long perSubtask = model.counts().trainRatings() / 2;
        long batches = perSubtask / (BatchSizes.BATCH_STEPS_PER_COLUMN * 1_000L);
        long requests = java.util.Arrays.stream(model.epochs().get(1).psRequestsPerShard()).sum();
        // (pull + push) x 2 shards x 2 subtasks per batch
        assertTrue(requests >= 2 * 2 * 2 * batches, "an epoch sent " + requests + " requests; at most "
                + BatchSizes.BATCH_STEPS_PER_COLUMN + " ratings a column per batch needs >= " + batches
                + " batches per subtask, 8 requests each");
    }

    @Test
    void aGivenBatchRatingsThatLetsSubtasksCancelAFactorIsWarnedAboutInModelJson() throws Exception {
        // 2,000 x 1,000 with 270 ratings a row: 1,000 training columns a subtask, batches of whole subtasks
        Path out = tmp.resolve("warned");
        Map<String, String> m = base(planted.resolve("train").toString(), null, out, 2);
        m.putAll(Map.of("holdout", "0.1", "epochs", "1", "batch-rows", "100000", "batch-ratings", "100000000"));
        run(TrainConfig.from(Configuration.fromMap(m), 903L));
        List<String> warnings = model(out).warnings();
        assertEquals(1, warnings == null ? 0 : warnings.size(), "warnings: " + warnings);
        assertTrue(warnings.get(0).startsWith("the given --batch-ratings makes batches of ~"), warnings.get(0));
        // without --batch-ratings the per-column cap holds: no warning, and model.json has no "warnings" at all
        Path plain = tmp.resolve("not-warned");
        Map<String, String> p = base(planted.resolve("train").toString(), null, plain, 2);
        p.putAll(Map.of("holdout", "0.1", "epochs", "1"));
        run(TrainConfig.from(Configuration.fromMap(p), 904L));
        assertEquals(null, model(plain).warnings());
        assertTrue(!Files.readString(plain.resolve("model.json")).contains("\"warnings\""));
    }

    @Test
    void aDivergingModelStopsAloneAndTheGridGoesOn() throws Exception {
        Path out = tmp.resolve("diverging");
        Map<String, String> m = base(small.resolve("train").toString(), small.resolve("test").toString(), out, 1);
        // a step of 50 overflows within the first epoch; 0.02 trains normally
        m.putAll(Map.of("epochs", "3", "rank", "4", "learning-rate", "0.02,50", "schedule", "constant",
                "validation", "0", "batch-rows", "32"));
        run(TrainConfig.grid(Configuration.fromMap(m), 1001L));
        GridFile grid = ModelFiles.grid(out);
        assertEquals(2, grid.models().size());
        GridFile.Entry good = grid.models().get(0);
        GridFile.Entry bad = grid.models().get(1);
        assertEquals(0.02f, good.hyperParameters().learningRate());
        assertEquals(null, good.diverged());
        assertEquals(3, good.epochs().size());
        // the diverging neighbour changed nothing: the same numbers as training 0.02 alone
        Map<String, String> alone = base(small.resolve("train").toString(), small.resolve("test").toString(),
                tmp.resolve("diverging-alone"), 1);
        alone.putAll(Map.of("epochs", "3", "rank", "4", "learning-rate", "0.02", "schedule", "constant",
                "batch-rows", "32"));
        run(TrainConfig.from(Configuration.fromMap(alone), 1002L));
        assertEquals(model(tmp.resolve("diverging-alone")).finalTestRmse(), good.finalTestRmse());
        assertEquals(50f, bad.hyperParameters().learningRate());
        assertEquals(Boolean.TRUE, bad.diverged());
        assertEquals(Integer.valueOf(bad.epochs().size() + 1), bad.stoppedAfterEpoch(),
                "no record for the epoch it diverged in");
        assertEquals(good.index(), grid.best());
    }

    @Test
    void pruningIsRefusedWhereItCannotWork() {
        Map<String, String> m = base("in", null, tmp.resolve("x"), 1);
        m.putAll(Map.of("rank", "3,6", "prune", "halving", "validation", "0"));
        assertEquals("--prune halving ranks models on the validation split: --validation must be > 0 (it is 0.05 "
                + "unless set)", assertThrows(IllegalArgumentException.class,
                        () -> TrainConfig.grid(Configuration.fromMap(m), 1L)).getMessage());
        m.put("prune", "fast");
        assertEquals("--prune must be 'none' or 'halving' but was 'fast'", assertThrows(
                IllegalArgumentException.class, () -> TrainConfig.grid(Configuration.fromMap(m), 1L)).getMessage());
        m.putAll(Map.of("prune", "halving", "validation", "0.1", "keep", "1"));
        assertEquals("--keep must be in (0, 1) but was 1.0", assertThrows(
                IllegalArgumentException.class, () -> TrainConfig.grid(Configuration.fromMap(m), 1L)).getMessage());
    }
}
