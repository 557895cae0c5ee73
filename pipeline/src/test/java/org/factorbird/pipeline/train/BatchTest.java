package org.factorbird.pipeline.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.factorbird.pipeline.HyperParams;
import org.factorbird.pipeline.sgd.SgdKernel;
import org.factorbird.ps.TableSpec;
import org.factorbird.ps.PsClient;
import org.factorbird.ps.PsClientConfig;
import org.factorbird.ps.server.PsServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * One batch against one real PS shard: layout, pull, SGD over the batch's copy, push of the summed deltas, and
 * evaluation, each checked against the kernel applied by hand in the batch's order.
 */
class BatchTest {

    /** The test's column numbering (a subtask's). */
    private final ColumnIds ids = new ColumnIds();

    private static final int DIM = 3; // rank 2: bias + 2 factors
    private static final TableSpec SPEC = TableSpec.single(DIM, 1, 5L, 42L, 0.1f);
    private static final float MU = 2.5f;

    private PsServer server;
    private PsClient ps;
    private final FlatModels models = new FlatModels(List.of(new HyperParams(2, 0.1f, 0.2f, 0.1f, 0.1f,
            HyperParams.Schedule.CONSTANT, 0f)), new int[] {0, DIM});

    @BeforeEach
    void start() {
        server = PsServer.startLocal(0, 1);
        ps = PsClient.connect(new PsClientConfig(List.of(server.address()), SPEC));
        models.startEpoch(0);
    }

    @AfterEach
    void stop() {
        ps.close();
        server.close();
    }

    /** Row 1: trains on columns 10 and 11 (11 sampled for the loss), holds out column 12; row 2: column 10. */
    private RowBlock block() {
        RowBlock.Builder b = new RowBlock.Builder(false, ids);
        b.train(10, 4f, 1f, false);
        b.train(11, 2f, 1f, true);
        b.test(12, 3f, false);
        b.endRow(1);
        b.train(10, 1f, 1f, false);
        b.endRow(2);
        return b.build();
    }

    @Test
    void trainsTheBatchSequentiallyOnItsCopyAndPushesTheSummedDeltas() throws Exception {
        RowBlock block = block();
        float[] rows = {0.1f, 0.2f, -0.3f, -0.1f, 0.05f, 0.4f};
        Batch batch = new Batch(DIM, ids);
        batch.addBlock(1, block, rows, block.trainRows(), block.cols.length);
        batch.layoutTraining(7L, 42L, 1);
        assertEquals(2, batch.rows);
        assertEquals(3, batch.ratings);
        assertEquals(2, batch.distinctColumns());
        List<Float> laidOut = new ArrayList<>();
        for (int t = 0; t < batch.ratings; t++) {
            laidOut.add(batch.values[t]);
        }
        laidOut.sort(null);
        assertEquals(List.of(1f, 2f, 4f), laidOut);

        ps.await(batch.pull(ps, false, models));
        float[] cols = Arrays.copyOf(batch.params, 2 * DIM);
        long[] colKeys = new long[2];
        for (int c = 0; c < 2; c++) {
            // which column sits at slot c: the one whose initial values the batch received there
            float[] init10 = new float[DIM];
            SPEC.init(10, init10, 0);
            colKeys[c] = Arrays.equals(Arrays.copyOfRange(cols, c * DIM, c * DIM + DIM), init10) ? 10 : 11;
        }
        assertEquals(21, colKeys[0] + colKeys[1], "slots hold columns 10 and 11");

        // the expected result: the kernel over the batch's order, on copies
        float[] rowsExpected = rows.clone();
        float[] colsExpected = cols.clone();
        assertEquals(batch.rows, batch.segments, "one segment per row, in row order");
        double lossExpected = kernelInTrainingOrder(batch, rowsExpected, colsExpected);
        double[] loss = new double[1];
        assertEquals(3.0, batch.train(models, MU, loss), 0.0, "sum of the weights");
        assertEquals(lossExpected, loss[0], 0.0);
        assertArrayEquals(rowsExpected, rows, "rows are trained in place");
        assertArrayEquals(colsExpected, Arrays.copyOf(batch.params, 2 * DIM));

        ps.await(batch.push(ps));
        for (int c = 0; c < 2; c++) {
            float[] stored = server.valuesOf(colKeys[c]);
            for (int j = 0; j < DIM; j++) {
                // the PS holds start + (trained - start)
                assertEquals(cols[c * DIM + j] + (colsExpected[c * DIM + j] - cols[c * DIM + j]), stored[j], 0f);
            }
        }
    }

    /** Column 10 has two of the batch's ratings, column 11 one: each delta is scaled by s(n) for its own n. */
    @Test
    void aDampedPushScalesEachColumnsDeltaByItsCountOfRatings() throws Exception {
        trainAndCheckDampedPush(block(), (float) PushDamping.scale(2, 0.1f, 2), (float) PushDamping.scale(2, 0.1f, 1));
    }

    /**
     * A plain model's floats are scaled by its own step size's factor, an AdaGrad model's are not, and a stopped
     * model's are neither pulled nor pushed: model 0 (stopped) shifts the others' floats in the pulled column.
     */
    @Test
    void aDampedPushScalesEachModelByItsOwnStepAndLeavesAdaGradAndStoppedModelsAlone() throws Exception {
        HyperParams stopped = new HyperParams(2, 0.05f, 0.2f, 0.1f, 0.1f, HyperParams.Schedule.CONSTANT, 0f);
        HyperParams plain = new HyperParams(2, 0.3f, 0.2f, 0.1f, 0.1f, HyperParams.Schedule.CONSTANT, 0f);
        HyperParams ada = new HyperParams(1, 0.1f, 0.2f, 0.1f, 0.1f, HyperParams.Schedule.ADAGRAD, 0f);
        // rank 2 plain: 3 floats each; rank 1 AdaGrad: 2 floats and 2 accumulators
        int width = 2 * DIM + 4;
        int pulled = DIM + 4;
        FlatModels three = new FlatModels(List.of(stopped, plain, ada), new int[] {0, DIM, 2 * DIM, width});
        three.startEpoch(0);
        three.stop(0, 1);
        assertEquals(pulled, three.colWidth);
        TableSpec spec = TableSpec.single(width, 0, 3L, 5L, 0.1f);
        try (PsServer s2 = PsServer.startLocal(0, 1);
                PsClient c2 = PsClient.connect(new PsClientConfig(List.of(s2.address()), spec))) {
            RowBlock block = block();
            float[] rows = new float[2 * width];
            Arrays.fill(rows, 0.1f);
            Batch batch = new Batch(width, ids);
            batch.addBlock(1, block, rows, block.trainRows(), block.cols.length);
            batch.layoutTraining(7L, 42L, 1);
            c2.await(batch.pull(c2, false, three));
            float[][] onPs = new float[2][];
            for (int c = 0; c < 2; c++) {
                onPs[c] = s2.valuesOf(batch.columnKeys()[c]).clone();
                // the table's test spec draws every float at random: AdaGrad's accumulators must not be negative
                batch.params[c * pulled + pulled - 2] = 0.5f;
                batch.params[c * pulled + pulled - 1] = 0.5f;
            }
            float[] before = Arrays.copyOf(batch.params, 2 * pulled);
            batch.train(three, MU, new double[3]);
            float[] after = Arrays.copyOf(batch.params, 2 * pulled);
            c2.await(batch.push(c2, null, three, new PushDamping(3)));
            for (int c = 0; c < 2; c++) {
                long key = batch.columnKeys()[c];
                float s = (float) PushDamping.scale(3, 0.3f, key == 10 ? 2 : 1);
                float[] stored = s2.valuesOf(key);
                for (int j = 0; j < DIM; j++) {
                    assertEquals(onPs[c][j], stored[j], 0f, "stopped model 0 of column " + key + ", float " + j);
                }
                for (int j = 0; j < pulled; j++) {
                    float delta = after[c * pulled + j] - before[c * pulled + j];
                    assertEquals(onPs[c][DIM + j] + (j < DIM ? delta * s : delta), stored[DIM + j], 0f,
                            "column " + key + ", pulled float " + j);
                }
            }
        }
    }

    /** With rating weights, a column's n is its sum of weights, rounded: 2.0 + 1.5 -> 4; a weight of 0 -> 0 (s = 1). */
    @Test
    void aDampedPushCountsAColumnsWeights() throws Exception {
        RowBlock.Builder b = new RowBlock.Builder(true, ids);
        b.train(10, 4f, 2.0f, false);
        b.train(11, 2f, 0f, false);
        b.endRow(1);
        b.train(10, 1f, 1.5f, false);
        b.endRow(2);
        trainAndCheckDampedPush(b.build(), (float) PushDamping.scale(2, 0.1f, 4), 1f);
    }

    /**
     * Trains {@code block}'s rows (columns 10 and 11) as one batch of the single model, pushes with damping for 2
     * subtasks, and requires each column on the PS to have moved by its delta times {@code s10} or {@code s11}.
     */
    private void trainAndCheckDampedPush(RowBlock block, float s10, float s11) throws Exception {
        float[] rows = {0.1f, 0.2f, -0.3f, -0.1f, 0.05f, 0.4f};
        Batch batch = new Batch(DIM, ids);
        batch.addBlock(1, block, rows, block.trainRows(), block.cols.length);
        batch.layoutTraining(7L, 42L, 1);
        ps.await(batch.pull(ps, false, models));
        float[] before = Arrays.copyOf(batch.params, 2 * DIM);
        batch.train(models, MU, new double[1]);
        float[] after = Arrays.copyOf(batch.params, 2 * DIM);
        ps.await(batch.push(ps, null, models, new PushDamping(2)));
        for (int c = 0; c < 2; c++) {
            long key = batch.columnKeys()[c];
            float s = key == 10 ? s10 : s11;
            float[] stored = server.valuesOf(key);
            for (int j = 0; j < DIM; j++) {
                assertEquals(before[c * DIM + j] + (after[c * DIM + j] - before[c * DIM + j]) * s, stored[j], 0f,
                        "column " + key + ", float " + j);
            }
        }
    }

    @Test
    void evaluatesHeldOutAndSampledRatingsWithoutCreatingColumns() throws Exception {
        RowBlock block = block();
        float[] rows = {0.5f, 0.2f, -0.3f, -0.1f, 0.05f, 0.4f};
        Batch batch = new Batch(DIM, ids);
        batch.addBlock(1, block, rows, block.evalRows(), block.evalRatings());
        batch.layoutEvaluation();
        assertEquals(1, batch.rows, "only row 1 has held-out or sampled ratings");
        ps.await(batch.pull(ps, true, models));
        double[] test = new double[2];
        double[] sample = new double[1];
        double[] counts = HeldOutEvaluator.evaluate(batch, models, MU, false, 1f, 5f, test, sample, new double[2]);
        assertArrayEquals(new double[] {1, 1, 0}, counts);
        // column 12 is unknown: read-only pulls give zeros, so the prediction is mu + b_1
        float e = 3f - (MU + 0.5f);
        assertEquals(e * e, test[0], 1e-6);
        assertEquals(Math.abs(e), test[1], 1e-6);
        // so is column 11 on this fresh server: mu + b_1 again for the sampled rating
        float e11 = 2f - (MU + 0.5f);
        assertEquals(e11 * e11, sample[0], 1e-6);
        assertEquals(0, server.storedKeys(), "read-only pulls create nothing");
    }

    @Test
    void validationFlagsGrowWithTheRatingsOfLaterBlocksWithoutValidation() {
        // block 1: one validation rating (the flags are allocated at the ratings' capacity then); block 2: 3,000
        // plain held-out ratings, past that capacity
        RowBlock.Builder b = new RowBlock.Builder(false, ids);
        b.train(10, 1f, 1f, false);
        b.test(11, 2f, true);
        b.endRow(1);
        RowBlock first = b.build();
        for (int t = 0; t < 3000; t++) {
            b.test(20 + t, 3f, false);
        }
        b.train(10, 1f, 1f, false);
        b.endRow(2);
        RowBlock second = b.build();
        Batch batch = new Batch(DIM, ids);
        batch.addBlock(1, first, new float[DIM], 1, 2);
        batch.addBlock(2, second, new float[DIM], 1, 3001);
        batch.layoutEvaluation();
        assertEquals(2, batch.rows);
        int flagged = 0;
        for (int r = 0; r < batch.rows; r++) {
            for (int t = batch.start[r]; t < batch.split[r]; t++) {
                flagged += batch.validation[t] ? 1 : 0;
            }
        }
        assertEquals(1, flagged, "only block 1's validation rating");
        assertEquals(3001, batch.split[1] - batch.start[1] + batch.split[0] - batch.start[0]);
    }

    @Test
    void aStoppedModelIsNeitherPulledNorTrainedNorPushed() throws Exception {
        HyperParams p = new HyperParams(2, 0.1f, 0.2f, 0.1f, 0.1f, HyperParams.Schedule.CONSTANT, 0f);
        FlatModels two = new FlatModels(List.of(p, p), new int[] {0, DIM, 2 * DIM});
        two.startEpoch(0);
        two.stop(0, 1);
        assertEquals(1, two.liveCount);
        assertEquals(DIM, two.colWidth);
        TableSpec wide = TableSpec.single(2 * DIM, 0, 2L, 5L, 0.1f);
        try (PsServer s2 = PsServer.startLocal(0, 1);
                PsClient c2 = PsClient.connect(new PsClientConfig(List.of(s2.address()), wide))) {
            RowBlock block = block();
            float[] rows = {0.1f, 0.2f, -0.3f, 0.7f, 0.6f, 0.5f, -0.1f, 0.05f, 0.4f, 0.3f, 0.2f, 0.1f};
            float[] rowsBefore = rows.clone();
            Batch batch = new Batch(2 * DIM, ids);
            batch.addBlock(1, block, rows, block.trainRows(), block.cols.length);
            batch.layoutTraining(7L, 42L, 1);
            long before = c2.traffic()[0][2];
            c2.await(batch.pull(c2, false, two));
            // one reply: 4 length + 12 header + 8 counts + 2 keys x 3 floats of model 1 only
            assertEquals(24 + 2 * DIM * 4, c2.traffic()[0][2] - before);
            long[] keys = {batch.rowKeys[0], batch.rowKeys[1]};
            float[][] stored = new float[2][];
            long[] colKeys = {10, 11};
            for (int c = 0; c < 2; c++) {
                stored[c] = s2.valuesOf(colKeys[c]).clone();
            }
            double[] loss = new double[2];
            batch.train(two, MU, loss);
            assertEquals(0.0, loss[0], 0.0, "the stopped model is not trained");
            assertTrue(loss[1] > 0);
            for (int r = 0; r < 2; r++) {
                for (int j = 0; j < DIM; j++) {
                    assertEquals(rowsBefore[r * 2 * DIM + j], rows[r * 2 * DIM + j], 0f, "model 0 of row " + keys[r]);
                }
            }
            assertFalse(Arrays.equals(rowsBefore, rows), "model 1 trained");
            c2.await(batch.push(c2));
            for (int c = 0; c < 2; c++) {
                float[] after = s2.valuesOf(colKeys[c]);
                assertArrayEquals(Arrays.copyOfRange(stored[c], 0, DIM), Arrays.copyOfRange(after, 0, DIM),
                        "model 0 of column " + colKeys[c] + " untouched on the PS");
                assertFalse(Arrays.equals(Arrays.copyOfRange(stored[c], DIM, 2 * DIM),
                        Arrays.copyOfRange(after, DIM, 2 * DIM)), "model 1 of column " + colKeys[c] + " pushed");
            }
        }
    }

    @Test
    void chunkingByColumnKeepsEveryRatingAndTrainsChunkByChunkInRowOrder() throws Exception {
        // 40 rows x 12 ratings over 400 columns (~280 distinct): chunks of at most 64 columns (shift 6), 5 or more
        RowBlock.Builder b = new RowBlock.Builder(false, ids);
        java.util.SplittableRandom random = new java.util.SplittableRandom(3);
        for (int row = 1; row <= 40; row++) {
            for (int t = 0; t < 12; t++) {
                b.train(100 + random.nextInt(400), 1 + random.nextInt(5), 1f, false);
            }
            b.endRow(row);
        }
        RowBlock block = b.build();
        float[] rows = new float[40 * DIM];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = 0.01f * (i % 7) - 0.03f;
        }
        Batch plain = new Batch(DIM, ids);
        plain.addBlock(1, block, rows, block.trainRows(), block.cols.length);
        plain.layoutTraining(7L, 42L, 1);
        assertEquals(40, plain.segments, "one segment per row without chunks");
        int[] rowOrder = Arrays.copyOf(plain.segRow, plain.segments);
        Batch batch = new Batch(DIM, ids);
        batch.addBlock(1, block, rows, block.trainRows(), block.cols.length);
        batch.layoutTrainingInChunks(7L, 42L, 1, 6);
        assertEquals(ratingsOf(plain), ratingsOf(batch), "the same (row, column, value) triples");
        checkChunkOrder(batch, 64, rowOrder);
        assertTrue(batch.distinctColumns() > 256, "columns: " + batch.distinctColumns());
        assertTrue(batch.chunks.chunks >= 5, "chunks: " + batch.chunks.chunks);
        assertTrue(batch.segments > 40, "rows were split: " + batch.segments);
        java.util.Set<Integer> firstChunks = new java.util.HashSet<>();
        for (long seed = 0; seed < 20; seed++) {
            Batch rowsOnly = new Batch(DIM, ids);
            rowsOnly.addBlock(1, block, rows, block.trainRows(), block.cols.length);
            rowsOnly.layoutTraining(seed, 42L, 1);
            Batch again = new Batch(DIM, ids);
            again.addBlock(1, block, rows, block.trainRows(), block.cols.length);
            again.layoutTrainingInChunks(seed, 42L, 1, 6);
            checkChunkOrder(again, 64, Arrays.copyOf(rowsOnly.segRow, rowsOnly.segments));
            firstChunks.add(again.colIdx[0] / 64);
        }
        assertTrue(firstChunks.size() > 2, "the chunks' order is shuffled: first chunks " + firstChunks);

        ps.await(batch.pull(ps, false, models));
        float[] rowsExpected = rows.clone();
        float[] colsExpected = Arrays.copyOf(batch.params, batch.distinctColumns() * DIM);
        double lossExpected = kernelInTrainingOrder(batch, rowsExpected, colsExpected);
        double[] loss = new double[1];
        assertEquals(480.0, batch.train(models, MU, loss), 0.0, "sum of the weights");
        assertEquals(lossExpected, loss[0], 0.0);
        assertArrayEquals(rowsExpected, rows);
        assertArrayEquals(colsExpected, Arrays.copyOf(batch.params, batch.distinctColumns() * DIM));
    }

    @Test
    void aBatchIsChunkedWhenTheSubtasksColumnsExceedAChunk() {
        // at 128 floats per column a chunk holds 1024 columns: 3000 columns need chunks, 0 never chunks; weighted
        RowBlock.Builder b = new RowBlock.Builder(true, ids);
        java.util.SplittableRandom random = new java.util.SplittableRandom(4);
        for (int row = 1; row <= 300; row++) {
            for (int t = 0; t < 20; t++) {
                b.train(random.nextInt(3000), 1f, 0.5f + t % 3, false);
            }
            b.endRow(row);
        }
        RowBlock block = b.build();
        float[] rows = new float[300 * 128];
        Batch rowOrder = new Batch(128, ids);
        rowOrder.addBlock(1, block, rows, block.trainRows(), block.cols.length);
        rowOrder.layoutTraining(7L, 42L, 1, 0);
        assertEquals(300, rowOrder.segments);
        Batch chunked = new Batch(128, ids);
        chunked.addBlock(1, block, rows, block.trainRows(), block.cols.length);
        chunked.layoutTraining(7L, 42L, 1, 128);
        assertTrue(chunked.distinctColumns() > 1024, "columns " + chunked.distinctColumns());
        assertTrue(chunked.segments > 300, "segments " + chunked.segments);
        assertEquals(ratingsOf(rowOrder), ratingsOf(chunked));
        checkChunkOrder(chunked, 1024, Arrays.copyOf(rowOrder.segRow, rowOrder.segments));

        // a batch of fewer columns than a chunk is laid out exactly as without chunks: each row shuffled alike
        RowBlock.Builder few = new RowBlock.Builder(false, ids);
        for (int row = 301; row <= 400; row++) {
            for (int t = 0; t < 20; t++) {
                few.train(random.nextInt(500), t, 1f, false);
            }
            few.endRow(row);
        }
        RowBlock small = few.build();
        Batch plain = new Batch(128, ids);
        plain.addBlock(2, small, rows, small.trainRows(), small.cols.length);
        plain.layoutTraining(9L, 42L, 3, 0);
        Batch unchunked = new Batch(128, ids);
        unchunked.addBlock(2, small, rows, small.trainRows(), small.cols.length);
        unchunked.layoutTraining(9L, 42L, 3, 128);
        assertEquals(100, unchunked.segments);
        assertArrayEquals(Arrays.copyOf(plain.colIdx, plain.ratings), Arrays.copyOf(unchunked.colIdx, plain.ratings));
        assertArrayEquals(Arrays.copyOf(plain.values, plain.ratings), Arrays.copyOf(unchunked.values, plain.ratings));
        assertEquals(plain.ratings, unchunked.ratings);
    }

    /**
     * Segments come chunk by chunk, each chunk at most {@code limit} columns that no other chunk has (the chunks in
     * any order, together every column of the batch), rows within a chunk once each and in {@code rowOrder}.
     */
    private static void checkChunkOrder(Batch batch, int limit, int[] rowOrder) {
        ColumnChunks chunks = batch.chunks;
        assertEquals(batch.segments, chunks.chunkStart[chunks.chunks]);
        java.util.BitSet seen = new java.util.BitSet();
        for (int c = 0; c < chunks.chunks; c++) {
            java.util.BitSet cols = new java.util.BitSet();
            int lastRank = -1;
            for (int sg = chunks.chunkStart[c]; sg < chunks.chunkStart[c + 1]; sg++) {
                int rank = indexOf(rowOrder, batch.segRow[sg]);
                assertTrue(rank > lastRank, "chunk " + c + ", segment " + sg + ": row rank " + rank + " after "
                        + lastRank);
                lastRank = rank;
                for (int t = batch.segStart[sg]; t < batch.segStart[sg + 1]; t++) {
                    cols.set(batch.colIdx[t]);
                }
            }
            assertTrue(cols.cardinality() <= limit, "chunk " + c + " holds " + cols.cardinality() + " columns");
            assertFalse(seen.intersects(cols), "chunk " + c + " overlaps another: " + cols);
            seen.or(cols);
        }
        assertEquals(batch.distinctColumns(), seen.cardinality(), "every column in a chunk");
        assertEquals(batch.distinctColumns(), seen.length());
    }

    /**
     * The kernel applied by hand over the batch's segments in order (row key k at {@code rows[(k - 1) * DIM]}), on
     * the given copies; returns the summed loss.
     */
    private static double kernelInTrainingOrder(Batch batch, float[] rows, float[] cols) {
        double loss = 0;
        for (int sg = 0; sg < batch.segments; sg++) {
            int ro = (int) (batch.rowKeys[batch.segRow[sg]] - 1) * DIM;
            for (int t = batch.segStart[sg]; t < batch.segStart[sg + 1]; t++) {
                loss += SgdKernel.step(batch.values[t], 1f, MU, rows, ro, cols, batch.colIdx[t] * DIM, 2, 0.1f, 0.2f,
                        0.1f);
            }
        }
        return loss;
    }

    /** The batch's training ratings as sorted "row column value [weight]" strings. */
    private static List<String> ratingsOf(Batch batch) {
        List<String> out = new ArrayList<>();
        for (int sg = 0; sg < batch.segments; sg++) {
            for (int t = batch.segStart[sg]; t < batch.segStart[sg + 1]; t++) {
                out.add(batch.rowKeys[batch.segRow[sg]] + " " + batch.columnKeys()[batch.colIdx[t]] + " "
                        + batch.values[t] + (batch.weights == null ? "" : " " + batch.weights[t]));
            }
        }
        out.sort(null);
        return out;
    }

    private static int indexOf(int[] a, int v) {
        for (int i = 0; i < a.length; i++) {
            if (a[i] == v) {
                return i;
            }
        }
        return -1;
    }
}
