package org.factorbird.pipeline.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.factorbird.pipeline.TrainConfig;
import org.factorbird.pipeline.io.OutLine;
import org.factorbird.pipeline.io.Rating;
import org.factorbird.pipeline.sgd.SgdKernel;
import org.factorbird.ps.ModelSpec;
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
        m.putAll(extra);
        return TrainConfig.from(Configuration.fromMap(m), 77L);
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
        try (KeyedOneInputStreamOperatorTestHarness<Long, Rating, OutLine> h =
                new KeyedOneInputStreamOperatorTestHarness<>(op, r -> r.row, Types.LONG)) {
            h.open();
            h.processElement(new StreamRecord<>(new Rating(5, 9, 4.0f, Rating.TRAIN)));
            h.processElement(new StreamRecord<>(new Rating(6, 9, 2.0f, Rating.TEST)));
            h.processElement(new StreamRecord<>(new Rating(5, 123, 1.0f, Rating.TEST)));
            h.processElement(new StreamRecord<>(Rating.bad("f:3: missing rating value")));
            h.endInput();

            float[] row = new float[3];
            float[] col = new float[3];
            ModelSpec.single(3, 1, 1L, 42L ^ TrainOperator.ROW_SEED_SALT, 0.1f).init(5, row, 0);
            ModelSpec.single(3, 1, 1L, 42L, 0.1f).init(9, col, 0);
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

            String model = Files.readString(out.resolve("model.json"));
            assertTrue(model.contains("\"globalMean\": 4.000000"), model);
            assertTrue(model.contains("\"trainRatings\": 1, \"testRatings\": 2, \"rows\": 1, \"columns\": 1, "
                    + "\"testOnlyRows\": 1, \"skippedLines\": 1"), model);
            assertEquals(List.of("f:3: missing rating value"), Files.readAllLines(out.resolve("skipped-lines.txt")));
        }
    }

    @Test
    void heldOutPredictionsUseTheBiasesThatExist() throws Exception {
        // Row 1 trains on column 2; held out: (1, 3) with an unknown column, (4, 2) with an
        // unknown row. Their predictions are mu + b_1 and mu + b_2, clipped to the training range [3, 3].
        TrainOperator op = new TrainOperator(config(Map.of("epochs", "3")));
        try (KeyedOneInputStreamOperatorTestHarness<Long, Rating, OutLine> h =
                new KeyedOneInputStreamOperatorTestHarness<>(op, r -> r.row, Types.LONG)) {
            h.open();
            h.processElement(new StreamRecord<>(new Rating(1, 2, 3.0f, Rating.TRAIN)));
            h.processElement(new StreamRecord<>(new Rating(1, 3, 5.0f, Rating.TEST)));
            h.processElement(new StreamRecord<>(new Rating(4, 2, 1.0f, Rating.TEST)));
            h.endInput();
            String model = Files.readString(out.resolve("model.json"));
            // clipped predictions are exactly 3: errors 2 and -2 -> RMSE 2, MAE 2
            assertTrue(model.contains("\"testRmse\": 2.000000, \"testMae\": 2.000000"), model);
        }
    }
}
