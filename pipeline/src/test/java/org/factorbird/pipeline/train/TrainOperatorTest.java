package org.factorbird.pipeline.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.factorbird.pipeline.ModelFiles;
import org.factorbird.pipeline.TrainConfig;
import org.factorbird.pipeline.model.EpochRecord;
import org.factorbird.pipeline.model.ModelFile;
import org.factorbird.pipeline.io.OutLine;
import org.factorbird.pipeline.io.Rating;
import org.factorbird.pipeline.io.RatingChunk;
import org.factorbird.pipeline.io.StringIds;
import org.factorbird.pipeline.sgd.SgdKernel;
import org.factorbird.ps.TableSpec;
import org.factorbird.ps.server.PsServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The operator alone in Flink's keyed test harness, against one real PS shard. */
class TrainOperatorTest {

    @TempDir
    Path out;
    private PsServer ps;

    @BeforeEach
    void start() {
        ps = PsServer.startLocal(0, 1);
    }

    @AfterEach
    void stop() {
        ps.close();
    }

    private TrainConfig config(Map<String, String> extra) {
        Map<String, String> m = new java.util.HashMap<>(Map.of("input", "unused", "output", out.toString(),
                "ps", ps.address(), "parallelism", "1", "rank", "2", "epochs", "1", "learning-rate", "0.1",
                "lambda", "0.2", "lambda-bias", "0.1", "seed", "42"));
        m.put("schedule", "constant"); // the hand-computed steps use a constant step and init-std 0.1
        m.put("init-std", "0.1");
        m.putAll(extra);
        return TrainConfig.from(Configuration.fromMap(m), 77L);
    }

    /** One subtask of parallelism 1, with the key groups a job of parallelism 1 has (the operator checks them). */
    private static KeyedOneInputStreamOperatorTestHarness<Long, RatingChunk, OutLine> harness(TrainOperator op)
            throws Exception {
        return new KeyedOneInputStreamOperatorTestHarness<>(op, c -> c.key, Types.LONG,
                KeyGroupRangeAssignment.computeDefaultMaxParallelism(1), 1, 0);
    }

    private static float[] parse(String line) {
        String[] p = line.split("\t");
        float[] v = new float[p.length - 1];
        for (int i = 1; i < p.length; i++) {
            v[i - 1] = Float.parseFloat(p[i]);
        }
        return v;
    }

    @Test
    void oneRatingGivesTheHandComputedStepInRowAndColumnOutput() throws Exception {
        TrainConfig cfg = config(Map.of());
        TrainOperator op = new TrainOperator(cfg);
        try (KeyedOneInputStreamOperatorTestHarness<Long, RatingChunk, OutLine> h =
                harness(op)) {
            h.open();
            h.processElement(new StreamRecord<>(RatingChunk.of(new Rating(5, 9, 4.0f, Rating.TRAIN))));
            h.processElement(new StreamRecord<>(RatingChunk.of(new Rating(6, 9, 2.0f, Rating.TEST))));
            h.processElement(new StreamRecord<>(RatingChunk.of(new Rating(5, 123, 1.0f, Rating.TEST))));
            h.processElement(new StreamRecord<>(RatingChunk.of(Rating.bad("f:3: missing rating value"))));
            h.endInput();

            float[] row = new float[3];
            float[] col = new float[3];
            TableSpec.single(3, 1, 1L, 42L ^ BlockStore.ROW_SEED_SALT, 0.1f).init(5, row, 0);
            TableSpec.single(3, 1, 1L, 42L, 0.1f).init(9, col, 0);
            float[] colStart = col.clone();
            // mu is the mean of the single training rating
            SgdKernel.step(4.0f, 1f, 4.0f, row, 0, col, 0, 2, 0.1f, 0.2f, 0.1f);

            List<OutLine> lines = h.extractOutputValues();
            List<String> rows = lines.stream().filter(l -> l.bucket.equals("rows")).map(l -> l.line)
                    .collect(Collectors.toList());
            assertEquals(1, rows.size(), "only row 5 has training ratings: " + lines);
            assertTrue(rows.get(0).startsWith("5\t"));
            assertArrayEquals(row, parse(rows.get(0)));

            List<String> cols = lines.stream().filter(l -> l.bucket.equals("columns")).map(l -> l.line)
                    .collect(Collectors.toList());
            assertEquals(2, lines.size(), lines.toString());
            assertEquals(1, cols.size(), "column 123 is held-out only and must not exist: " + cols);
            assertTrue(cols.get(0).startsWith("9\t"));
            float[] written = parse(cols.get(0));
            for (int j = 0; j < 3; j++) {
                // the PS holds start + (trained - start): equal to the trained value up to one rounding
                assertEquals(colStart[j] + (col[j] - colStart[j]), written[j], 0f);
                assertEquals(col[j], written[j], 1e-6f);
            }
            assertEquals(1, ps.storedKeys());

            ModelFile model = ModelFiles.model(out);
            assertEquals(4.0, model.globalMean(), 0.0);
            assertEquals(new ModelFile.Counts(1, 2, 1, 1, 1, 1, 0), model.counts());
            assertEquals(List.of("load", "pack", "restore", "training", "trainingBarrier", "snapshots", "evaluation",
                    "evaluationBarrier", "output"), List.copyOf(model.phases().keySet()));
            assertTrue(model.phases().values().stream().allMatch(v -> v >= 0 && v < 60), "" + model.phases());
            // milliseconds here, rounded to 3 decimals: a phase may round to 0, but the whole run took time
            assertTrue(model.phases().values().stream().mapToDouble(Double::doubleValue).sum() > 0,
                    "" + model.phases());
            assertEquals(List.of("f:3: missing rating value"), Files.readAllLines(out.resolve("skipped-lines.txt")));
        }
    }

    @Test
    void heldOutPredictionsUseTheBiasesThatExist() throws Exception {
        // Row 1 trains on column 2; held out: (1, 3) with an unknown column, (4, 2) with an
        // unknown row. Their predictions are mu + b_1 and mu + b_2, clipped to the training range [3, 3].
        TrainOperator op = new TrainOperator(config(Map.of("epochs", "3")));
        try (KeyedOneInputStreamOperatorTestHarness<Long, RatingChunk, OutLine> h =
                harness(op)) {
            h.open();
            h.processElement(new StreamRecord<>(RatingChunk.of(new Rating(1, 2, 3.0f, Rating.TRAIN))));
            h.processElement(new StreamRecord<>(RatingChunk.of(new Rating(1, 3, 5.0f, Rating.TEST))));
            h.processElement(new StreamRecord<>(RatingChunk.of(new Rating(4, 2, 1.0f, Rating.TEST))));
            h.endInput();
            ModelFile model = ModelFiles.model(out);
            // clipped predictions are exactly 3: errors 2 and -2 -> RMSE 2, MAE 2
            for (EpochRecord e : model.epochs()) {
                assertEquals(2.0, e.testRmse(), 0.0, "epoch " + e.epoch());
                assertEquals(2.0, e.testMae(), 0.0, "epoch " + e.epoch());
            }
            assertEquals(3, model.epochs().size());
        }
    }

    /**
     * Evaluation's two alternating batches (one batch's pull in flight while the next is laid out) give the same
     * held-out errors however the rows are batched: one row per batch, 7, or all in one. The learning rate is too
     * small to move a prediction (a float near mu does not change by 1e-30), so every run evaluates the same
     * model; the errors are summed in block order in every case, so they agree to the last bit.
     */
    @Test
    void heldOutErrorsDoNotDependOnHowRowsAreBatched() throws Exception {
        double[] rmse = new double[3];
        double[] mae = new double[3];
        String[] batchRows = {"1", "7", "100000"};
        for (int run = 0; run < batchRows.length; run++) {
            Path dir = out.resolve("run-" + run);
            TrainConfig cfg = TrainConfig.from(Configuration.fromMap(Map.of("input", "unused", "output",
                    dir.toString(), "ps", ps.address(), "parallelism", "1", "rank", "3", "epochs", "1",
                    "learning-rate", "1e-30", "batch-rows", batchRows[run], "seed", "42")), 500L + run);
            try (KeyedOneInputStreamOperatorTestHarness<Long, RatingChunk, OutLine> h =
                    harness(new TrainOperator(cfg))) {
                h.open();
                for (long row = 0; row < 300; row++) {
                    for (int t = 0; t < 6; t++) {
                        long col = (row * 7 + t * 13) % 50;
                        float value = 1 + (row * 31 + col * 17) % 5;
                        byte kind = t < 4 ? Rating.TRAIN : Rating.TEST;
                        h.processElement(new StreamRecord<>(RatingChunk.of(new Rating(row, col, value, kind))));
                    }
                }
                h.endInput();
            }
            ModelFile model = ModelFiles.model(dir);
            rmse[run] = model.finalTestRmse();
            mae[run] = model.epochs().get(0).testMae();
            assertEquals(600, model.counts().testRatings());
        }
        assertTrue(rmse[0] > 0.5, "errors of an untrained model: " + rmse[0]);
        assertEquals(rmse[2], rmse[0], 0.0, "one row per batch");
        assertEquals(rmse[2], rmse[1], 0.0, "7 rows per batch");
        assertEquals(mae[2], mae[0], 0.0);
        assertEquals(mae[2], mae[1], 0.0);
    }

    @Test
    void modelJsonEscapesEveryStringAndReadsBack() throws Exception {
        // quotes, a tab, non-ASCII and an emoji in the output directory (Flink paths turn '\\' into '/'), and a
        // backslash too in the input name, which model.json records
        Path weird = Files.createDirectories(out.resolve("qu\"ote slash\tü-é-😀"));
        String input = weird.resolve("in \\\"put\".csv").toString();
        Map<String, String> m = new java.util.HashMap<>(Map.of("input", input, "output", weird.toString(), "ps",
                ps.address(), "parallelism", "1", "rank", "2", "epochs", "2", "seed", "42", "early-stop", "1"));
        TrainOperator op = new TrainOperator(TrainConfig.from(Configuration.fromMap(m), 78L));
        try (KeyedOneInputStreamOperatorTestHarness<Long, RatingChunk, OutLine> h =
                harness(op)) {
            h.open();
            h.processElement(new StreamRecord<>(RatingChunk.of(new Rating(1, 2, 3.0f, Rating.TRAIN))));
            h.processElement(new StreamRecord<>(RatingChunk.of(new Rating(1, 3, 5.0f, Rating.TEST))));
            h.endInput();
        }
        String text = Files.readString(weird.resolve("model.json"));
        com.fasterxml.jackson.databind.JsonNode tree = new com.fasterxml.jackson.databind.ObjectMapper().readTree(text);
        assertEquals(input, tree.get("input").asText());
        ModelFile model = ModelFiles.model(weird);
        assertEquals(input, model.input());
        assertEquals(ModelFile.FORMAT, model.format());
        assertEquals(3.0, model.globalMean(), 0.0);
        // the constant error of a held-out rating clipped to [3, 3] never improves: stopped after epoch 2
        assertEquals("after epoch 2: held-out RMSE 2.0000 has not improved for 1 epochs", model.stoppedEarly());
    }

    @Test
    void stringIdsAreWrittenAsTheirTextsAndACollisionStopsTheRunNamingBoth() throws Exception {
        TrainConfig cfg = config(Map.of("ids", "string"));
        long u = StringIds.key("u5");
        long i = StringIds.key("i9");
        try (KeyedOneInputStreamOperatorTestHarness<Long, RatingChunk, OutLine> h =
                harness(new TrainOperator(cfg))) {
            h.open();
            // one chunk of three records under two keys (u, and i for the column's name), as a chunker sends them
            h.processElement(new StreamRecord<>(RatingChunk.of(Rating.name(Rating.ROW_NAME, u, "u5"),
                    Rating.name(Rating.COLUMN_NAME, i, "i9"), new Rating(u, i, 4.0f, Rating.TRAIN))));
            // repeats are fine
            h.processElement(new StreamRecord<>(RatingChunk.of(Rating.name(Rating.COLUMN_NAME, i, "i9"),
                    Rating.name(Rating.ROW_NAME, u, "u5"))));
            h.endInput();
            List<OutLine> lines = h.extractOutputValues();
            assertEquals(2, lines.size(), lines.toString());
            for (OutLine l : lines) {
                assertTrue(l.line.startsWith(l.bucket.equals("rows") ? "u5\t" : "i9\t"), l.toString());
                assertEquals(3, parse(l.line).length);
            }
            assertEquals("string", ModelFiles.model(out).settings().ids());
        }
        try (KeyedOneInputStreamOperatorTestHarness<Long, RatingChunk, OutLine> h =
                harness(new TrainOperator(cfg))) {
            h.open();
            h.processElement(new StreamRecord<>(RatingChunk.of(Rating.name(Rating.COLUMN_NAME, 77L, "apple"))));
            RatingChunk pear = RatingChunk.of(Rating.name(Rating.COLUMN_NAME, 77L, "pear"));
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> h.processElement(new StreamRecord<>(pear)));
            assertEquals("--ids string: column ids 'apple' and 'pear' have the same 63-bit key 77 (XXH64); rename "
                    + "one of them", e.getMessage());
        }
    }
}
