package org.factorbird.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HashMap;
import java.util.Map;

import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

/**
 * --batch-rows: 32768 / --parallelism (at least 64) unless given; --implicit's own default; refused below 1. A given
 * --batch-ratings that makes many ratings per column is warned about.
 */
class TrainConfigBatchRowsTest {

    private static TrainConfig config(String... keyValues) {
        Map<String, String> m = new HashMap<>(Map.of("input", "/tmp/in", "output", "/tmp/out"));
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put(keyValues[i], keyValues[i + 1]);
        }
        return TrainConfig.from(Configuration.fromMap(m), 1L);
    }

    @Test
    void theDefaultShrinksWithTheParallelism() {
        assertEquals(32_768, config("parallelism", "1").batchRows);
        assertEquals(16_384, config("parallelism", "2").batchRows);
        assertEquals(4_096, config("parallelism", "8").batchRows);
        assertEquals(64, config("parallelism", "1024").batchRows, "at least 64");
        assertEquals(16_384, BatchSizes.defaultBatchRows(2, false), "what estimate uses");
    }

    @Test
    void adagradModelsKeepTheUndampedDefaults() {
        TrainConfig ada = config("parallelism", "2", "schedule", "adagrad");
        assertEquals(4_096, ada.batchRows);
        assertEquals(262_144, ada.batchRatings);
        assertEquals(4_096, BatchSizes.defaultBatchRows(2, true), "what estimate --schedule adagrad uses");
        assertEquals(16_384, config("parallelism", "2").batchRows);
        assertEquals(1 << 20, config("parallelism", "2").batchRatings);
        TrainConfig given = config("parallelism", "2", "schedule", "adagrad", "batch-rows", "9000",
                "batch-ratings", "500000");
        assertEquals(9_000, given.batchRows);
        assertEquals(500_000, given.batchRatings);
    }

    @Test
    void aGivenValueWinsAndImplicitFeedbackHasItsOwn() {
        assertEquals(100, config("parallelism", "2", "batch-rows", "100").batchRows);
        assertEquals(64, config("parallelism", "2", "implicit", "true").batchRows);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> config("batch-rows", "0"));
        assertEquals("--batch-rows must be >= 1 but was 0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> BatchSizes.defaultBatchRows(0, false));
        assertEquals("--parallelism must be >= 1 but was 0", e.getMessage());
    }

    @Test
    void aGivenBatchRatingsWithManyRatingsPerColumnIsWarnedAbout() {
        // 270,000 ratings of 1,000 rows and 1,000 columns per subtask (dense, 270 a row)
        TrainConfig given = config("parallelism", "2", "batch-ratings", "100000");
        String w = BatchSizes.stepsPerColumnWarning(given, given.batchRows, 270_000, 1_000, 1_000);
        assertEquals("the given --batch-ratings makes batches of ~100 ratings per training column (1,000 such "
                + "columns per subtask); above 20, subtasks can grow a factor with opposite signs and cancel it for "
                + "good (held-out RMSE stuck as if the rank were lower): leave --batch-ratings out (5 per column) or "
                + "give at most 20,000", w);
        // the rows per batch close them first: 50 rows x 270 = 13,500 ratings, 13.5 a column
        assertEquals(null, BatchSizes.stepsPerColumnWarning(given, 50, 270_000, 1_000, 1_000));
        assertEquals(null, BatchSizes.stepsPerColumnWarning(config("parallelism", "2", "batch-ratings", "20000"),
                16_384, 270_000, 1_000, 1_000), "20 a column is the limit");
        assertEquals(null, BatchSizes.stepsPerColumnWarning(config("parallelism", "2"), 16_384, 270_000, 1_000, 1_000),
                "not given: the per-column cap applies");
        assertEquals(null, BatchSizes.stepsPerColumnWarning(config("parallelism", "1", "batch-ratings", "100000"),
                32_768, 270_000, 1_000, 1_000), "one subtask: nothing to cancel");
    }
}
