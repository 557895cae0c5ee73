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
        double lossExpected = 0;
        for (int r = 0; r < batch.rows; r++) {
            int ro = (int) (batch.rowKeys[r] - 1) * DIM;
            for (int t = batch.start[r]; t < batch.start[r + 1]; t++) {
                lossExpected += SgdKernel.step(batch.values[t], 1f, MU, rowsExpected, ro, colsExpected,
                        batch.colIdx[t] * DIM, 2, 0.1f, 0.2f, 0.1f);
            }
        }
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
}
