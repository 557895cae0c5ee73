package org.factorbird.pipeline.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
import java.util.Map;

import org.apache.flink.configuration.Configuration;
import org.factorbird.pipeline.TrainConfig;
import org.junit.jupiter.api.Test;

/**
 * Blocks hold at most a 16th of a training batch's ratings, and a training batch closes at 5 ratings per training
 * column unless --batch-ratings is given: a batch takes whole blocks, so larger blocks would overrule that cap
 * (dense data then let two subtasks cancel a factor: see RowPacker#pack).
 */
class RowPackerBlockSizeTest {

    private static TrainConfig config(String... keyValues) {
        Map<String, String> m = new HashMap<>(Map.of("input", "/tmp/in", "output", "/tmp/out", "parallelism", "2"));
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put(keyValues[i], keyValues[i + 1]);
        }
        return TrainConfig.from(Configuration.fromMap(m), 1L);
    }

    @Test
    void denseDataGetsBlocksOfAFewRowsAndSparseDataKeepsTheBatchRatingsShare() {
        // 1,000 training columns: batches close at 5,000 ratings, blocks at 312
        assertEquals(312, RowPacker.blockRatings(config(), 1_000));
        assertEquals(314, RowPacker.blockRatings(config(), 1_004.3), "the estimate is rounded up: 1,005 x 5 / 16");
        // 1M columns: the cap (5M) is above --batch-ratings' default (2^20), whose 16th stays
        assertEquals(65_536, RowPacker.blockRatings(config(), 1_000_000));
        // a given --batch-ratings wins over the per-column cap
        assertEquals(6_250, RowPacker.blockRatings(config("batch-ratings", "100000"), 1_000));
        // no training column at all (held-out rows only): blocks of one rating, never zero
        assertEquals(1, RowPacker.blockRatings(config(), 0));
    }
}
