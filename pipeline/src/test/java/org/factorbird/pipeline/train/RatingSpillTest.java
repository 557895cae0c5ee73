package org.factorbird.pipeline.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.factorbird.pipeline.io.Rating;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The on-disk spill of incoming ratings: every record back exactly, grouped by row, in arrival order. */
class RatingSpillTest {

    @TempDir
    Path tmp;

    @Test
    void everyRowComesBackOnceWithItsRatingsInArrivalOrder() throws Exception {
        File dir = tmp.resolve("spill").toFile();
        Map<Long, List<String>> expected = new HashMap<>();
        // small buffers (two records) so that most records go through many flushes
        try (RatingSpill spill = new RatingSpill(dir, 8, 2 * RatingSpill.RECORD_BYTES)) {
            for (int i = 0; i < 20_000; i++) {
                long row = (i * 7919L) % 1_000 - 500; // negative ids too
                long col = i * 31L + (1L << 40);
                float value = i * 0.25f;
                float weight = (i % 3) * 0.5f;
                byte kind = i % 10 == 0 ? Rating.TEST : Rating.TRAIN;
                spill.add(row, col, value, weight, kind);
                expected.computeIfAbsent(row, k -> new ArrayList<>()).add(col + ":" + value + ":" + weight + ":" + kind);
            }
            assertEquals(20_000, spill.count());
            Map<Long, List<String>> seen = new HashMap<>();
            spill.forEachRow((row, sp, from, to) -> {
                List<String> got = new ArrayList<>();
                for (int k = from; k < to; k++) {
                    got.add(sp.col(k) + ":" + sp.value(k) + ":" + sp.weight(k) + ":" + sp.kind(k));
                }
                assertTrue(seen.put(row, got) == null, "row " + row + " handed out twice");
            });
            assertEquals(expected, seen);
        }
        assertFalse(dir.exists(), "spill directory left behind");
    }

    @Test
    void rowOrderIsTheScrambledOrderWithinEachBucket() throws Exception {
        List<Long> order = new ArrayList<>();
        try (RatingSpill spill = new RatingSpill(tmp.resolve("one").toFile(), 1, 4096)) {
            for (long row = 0; row < 100; row++) {
                spill.add(row, 1, 1f, 1f, Rating.TRAIN);
            }
            spill.forEachRow((row, sp, from, to) -> order.add(row));
        }
        long[] scrambled = new long[100];
        for (int i = 0; i < 100; i++) {
            scrambled[i] = i;
        }
        KeyOrder.scramble(scrambled);
        for (int i = 0; i < 100; i++) {
            assertEquals(scrambled[i], (long) order.get(i));
        }
    }

    @Test
    void badSettingsAreRefusedWithTheirValue() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new RatingSpill(tmp.resolve("x").toFile(), 6, 4096));
        assertEquals("buckets must be a power of two but was 6", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new RatingSpill(tmp.resolve("y").toFile(), 4, 10));
        assertEquals("bufferBytes must be >= 25 but was 10", e.getMessage());
    }

    @Test
    void estimatesTheDistinctTrainingColumnsWithinAFewPercent() throws Exception {
        for (int columns : new int[] {1, 1_000, 20_000, 300_000}) {
            try (RatingSpill spill = new RatingSpill(tmp.resolve("estimate-" + columns).toFile(), 4, 4096)) {
                assertEquals(0.0, spill.trainColumnEstimate());
                for (int i = 0; i < 3 * columns; i++) {
                    spill.add(i % 7, (i % columns) * 1_000_003L, 1f, 1f, Rating.TRAIN); // every column three times
                    // held-out and validation ratings of other columns do not count: they train nothing
                    spill.add(i % 7, -1 - i, 1f, 1f, i % 2 == 0 ? Rating.TEST : Rating.VALIDATION);
                }
                double estimate = spill.trainColumnEstimate();
                assertTrue(Math.abs(estimate / columns - 1) < 0.03, columns + " columns estimated as " + estimate);
            }
        }
    }
}
