package org.factorbird.pipeline.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;

import org.junit.jupiter.api.Test;

/** Packing rows into blocks, and laying blocks out into a batch. */
class RowBlockTest {

    /** The test's column numbering (a subtask's). */
    private final ColumnIds ids = new ColumnIds();

    /** Row 10: train (1, 1.0) sampled, (2, 2.0); row 20: held-out only (3, 3.5); row 30: train (4, 4.0). */
    private RowBlock threeRows() {
        RowBlock.Builder b = new RowBlock.Builder(false, ids);
        b.train(1, 1.0f, 1f, true);
        b.train(2, 2.0f, 1f, false);
        assertEquals(2, b.endRow(10));
        b.test(3, 3.5f, false);
        assertEquals(0, b.endRow(20));
        b.train(4, 4.0f, 1f, false);
        assertEquals(1, b.endRow(30));
        assertEquals(3, b.rows());
        assertEquals(4, b.ratings());
        return b.build();
    }

    @Test
    void builderPacksRowsIntoFlatArrays() {
        RowBlock blk = threeRows();
        assertArrayEquals(new long[] {10, 20, 30}, blk.keys);
        assertArrayEquals(new int[] {2, 2, 3}, blk.trainEnd);
        // columns are numbered in order of first sight, held-out ones too: 1, 2, then 3 (held out), then 4
        assertArrayEquals(new int[] {0, 1, 3}, blk.cols);
        assertArrayEquals(new long[] {1, 2, 3, 4}, Arrays.copyOf(ids.ids(), ids.size()));
        assertArrayEquals(new float[] {1f, 2f, 4f}, blk.vals);
        assertNull(blk.weights);
        assertArrayEquals(new int[] {0}, blk.sample);
        assertArrayEquals(new int[] {1, 1, 1}, blk.sampleEnd);
        assertArrayEquals(new int[] {0, 1, 1}, blk.testEnd);
        assertArrayEquals(new int[] {2}, blk.testCols);
        assertEquals(2, blk.trainCount(0));
        assertEquals(0, blk.trainCount(1));
        assertEquals(2, blk.trainFrom(2));
        assertEquals(2, blk.trainRows());
        assertEquals(2, blk.evalRows());
        assertEquals(2, blk.evalRatings());
        assertTrue(blk.evaluated(0));
        assertTrue(blk.evaluated(1));
        assertFalse(blk.evaluated(2));
    }

    @Test
    void weightedBuilderKeepsWeights() {
        RowBlock.Builder b = new RowBlock.Builder(true, ids);
        b.train(1, 1.0f, 0.5f, false);
        b.endRow(7);
        assertArrayEquals(new float[] {0.5f}, b.build().weights);
    }

    @Test
    void trainingLayoutTakesEveryTrainedRowOnceWithItsParameters() {
        RowBlock blk = threeRows();
        int width = 3;
        float[] params = new float[blk.rows() * width];
        Batch batch = new Batch(width, ids);
        batch.addBlock(10, blk, params, blk.trainRows(), blk.cols.length);
        batch.layoutTraining(99L, 1L, 1);
        assertEquals(2, batch.rows);
        assertEquals(3, batch.ratings);
        long[] keys = Arrays.copyOf(batch.rowKeys, batch.rows);
        Arrays.sort(keys);
        assertArrayEquals(new long[] {10, 30}, keys);
        for (int r = 0; r < batch.rows; r++) {
            assertEquals(batch.rowKeys[r] == 10 ? 0 : 2 * width, batch.rowOff[r]);
            assertEquals(params, batch.rowParams[r]);
            assertEquals(batch.rowKeys[r] == 10 ? 2 : 1, batch.start[r + 1] - batch.start[r]);
        }
        assertEquals(3, batch.distinctColumns());
    }

    @Test
    void twoBatchesLaidOutInTurnShareTheColumnNumberingAndKeepTheirOwnColumns() {
        RowBlock blk = threeRows();
        Batch first = new Batch(3, ids);
        Batch second = new Batch(3, ids);
        first.addBlock(10, blk, new float[9], blk.trainRows(), blk.cols.length);
        first.layoutTraining(99L, 1L, 1);
        // the second batch takes only row 30's block part: column 4
        RowBlock.Builder b = new RowBlock.Builder(false, ids);
        b.train(4, 1f, 1f, false);
        b.train(5, 1f, 1f, false);
        b.endRow(40);
        RowBlock other = b.build();
        second.addBlock(40, other, new float[3], other.trainRows(), other.cols.length);
        second.layoutTraining(7L, 1L, 1);
        assertEquals(2, second.distinctColumns(), "the first batch's marks were released: 4 and 5 are new here");
        java.util.Set<Long> secondKeys = new java.util.HashSet<>();
        for (int c = 0; c < second.distinctColumns(); c++) {
            secondKeys.add(columnKeyOf(second, c));
        }
        assertEquals(java.util.Set.of(4L, 5L), secondKeys);
        java.util.Set<Long> firstKeys = new java.util.HashSet<>();
        for (int c = 0; c < first.distinctColumns(); c++) {
            firstKeys.add(columnKeyOf(first, c));
        }
        assertEquals(java.util.Set.of(1L, 2L, 4L), firstKeys, "the first batch's columns stay as they were");
        for (int t = 0; t < first.ratings; t++) {
            assertTrue(first.colIdx[t] < first.distinctColumns());
        }
    }

    private static long columnKeyOf(Batch batch, int index) {
        return batch.columnKeys()[index];
    }

    @Test
    void evaluationLayoutTakesHeldOutThenSampledRatings() {
        RowBlock blk = threeRows();
        Batch batch = new Batch(3, ids);
        batch.addBlock(10, blk, new float[9], blk.evalRows(), blk.evalRatings());
        batch.layoutEvaluation();
        assertEquals(2, batch.rows);
        assertArrayEquals(new long[] {10, 20}, Arrays.copyOf(batch.rowKeys, 2));
        // row 10: no held-out ratings, one sampled (column 1); row 20: one held-out (column 3), no sample
        assertEquals(0, batch.split[0] - batch.start[0]);
        assertEquals(1, batch.start[1] - batch.split[0]);
        assertEquals(1f, batch.values[batch.split[0]]);
        assertEquals(1, batch.split[1] - batch.start[1]);
        assertEquals(3.5f, batch.values[batch.start[1]]);
    }

    @Test
    void scrambleIsAPermutationUnrelatedToNumericOrder() {
        assertEquals(1L, 0x9E3779B97F4A7C15L * KeyOrder.inverse(0x9E3779B97F4A7C15L));
        assertEquals(1L, 3L * KeyOrder.inverse(3L));
        long[] keys = new long[1000];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = i;
        }
        KeyOrder.scramble(keys);
        long[] sorted = keys.clone();
        Arrays.sort(sorted);
        for (int i = 0; i < sorted.length; i++) {
            assertEquals(i, sorted[i]);
        }
        int ascending = 0;
        for (int i = 1; i < keys.length; i++) {
            ascending += keys[i] > keys[i - 1] ? 1 : 0;
        }
        // a random order has (n - 1) / 2 = 499.5 ascents, standard deviation ~9
        assertTrue(ascending > 450 && ascending < 550, "ascending neighbours " + ascending);
    }
}
