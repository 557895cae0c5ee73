package org.factorbird.pipeline.train;

import java.util.concurrent.CompletableFuture;

import org.factorbird.pipeline.TrainConfig;
import org.factorbird.pipeline.sgd.SgdKernel;
import org.factorbird.ps.PsClient;

/**
 * Held-out RMSE and MAE of every model (predictions clipped to the training range unless --no-clip), and the
 * weighted training loss on the fixed --loss-sample of the training ratings, measured in the same pass.
 *
 * <p>Sums, for M models: {@code [2m]} squared and {@code [2m+1]} absolute held-out (test) errors, {@code [2M+m]}
 * weighted squared sample errors, {@code [3M]} test count, {@code [3M+1]} sample weight, {@code [3M+2]} validation
 * count, {@code [3M+3+2m]} and {@code [3M+4+2m]} squared and absolute validation errors (--validation).
 */
final class HeldOutEvaluator implements Evaluator {

    /** The aggregated sums of every subtask, read as metrics. */
    static final class Totals {
        private final double[] s;
        private final int from;
        private final int models;

        Totals(double[] sums, int from, int models) {
            this.s = sums;
            this.from = from;
            this.models = models;
        }

        double testCount() {
            return s[from + 3 * models];
        }

        double sampleWeight() {
            return s[from + 3 * models + 1];
        }

        double testRmse(int m) {
            return testCount() > 0 ? Math.sqrt(s[from + 2 * m] / testCount()) : Double.NaN;
        }

        double testMae(int m) {
            return testCount() > 0 ? s[from + 2 * m + 1] / testCount() : Double.NaN;
        }

        double validationCount() {
            return s[from + 3 * models + 2];
        }

        double validationRmse(int m) {
            return validationCount() > 0 ? Math.sqrt(s[from + 3 * models + 3 + 2 * m] / validationCount()) : Double.NaN;
        }

        double sampleRmse(int m) {
            return sampleWeight() > 0 ? Math.sqrt(s[from + 2 * models + m] / sampleWeight()) : Double.NaN;
        }
    }

    private final BlockStore store;
    private final PsClient ps;
    private final TrainConfig cfg;
    private final FlatModels models;
    private final LoadStats load;

    HeldOutEvaluator(BlockStore store, PsClient ps, TrainConfig cfg, FlatModels models, LoadStats load) {
        this.store = store;
        this.ps = ps;
        this.cfg = cfg;
        this.models = models;
        this.load = load;
    }

    @Override
    public int size() {
        return 5 * models.count + 3;
    }

    /**
     * Evaluates every block, two batches alternating as in training: while one batch's pull is on the wire the
     * next is laid out and its pull sent too (read-only pulls may overlap: nothing is written between them), so a
     * pull's round trip overlaps the previous batch's evaluation and the next one's layout instead of adding to
     * them.
     */
    @Override
    public void evaluate(long[] blockKeys, Batch[] batches, int epoch, double[] sums, int from) throws Exception {
        int m = models.count;
        double[] test = new double[2 * m];
        double[] sample = new double[m];
        double[] val = new double[2 * m];
        // after a rung pass only validation decides anything: the test data and the loss sample wait for full epochs
        boolean validationOnly = cfg.share(epoch) < 1 && cfg.validation > 0;
        BlockCursor cursor = new BlockCursor(store, blockKeys, false, cfg.batchRows, cfg.batchRatings);
        Batch current = batches[0];
        // read-only: a column seen only in held-out data predicts from mu + b_i and is not created
        CompletableFuture<Void> pull = layOut(current, cursor) ? current.pull(ps, true, models) : null;
        int turn = 0;
        while (pull != null) {
            Interrupts.check();
            Batch following = batches[++turn & 1];
            CompletableFuture<Void> next = layOut(following, cursor) ? following.pull(ps, true, models) : null;
            ps.await(pull);
            double[] counts = evaluate(current, models, load.mu(), cfg.clip, load.min(), load.max(), test, sample,
                    val, validationOnly);
            sums[from + 3 * m] += counts[0];
            sums[from + 3 * m + 1] += counts[1];
            sums[from + 3 * m + 2] += counts[2];
            current = following;
            pull = next;
        }
        System.arraycopy(test, 0, sums, from, 2 * m);
        System.arraycopy(sample, 0, sums, from + 2 * m, m);
        System.arraycopy(val, 0, sums, from + 3 * m + 3, 2 * m);
    }

    /** Fills {@code batch} with the next blocks that have rows to evaluate; false when none are left. */
    private static boolean layOut(Batch batch, BlockCursor cursor) throws Exception {
        while (cursor.fill(batch)) {
            batch.layoutEvaluation();
            if (batch.rows > 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * Evaluates batch {@code b} (laid out by {@link Batch#layoutEvaluation}) for every active model: for held-out
     * ratings {@code test[2m] += e^2, test[2m+1] += |e|} with the prediction clipped to [lo, hi] (when
     * {@code clip}); validation ratings the same into {@code val}; for sampled training ratings
     * {@code sample[m] += w e^2}.
     *
     * @return {test ratings, sum of sample weights, validation ratings} of this batch
     */
    static double[] evaluate(Batch b, FlatModels md, float mu, boolean clip, float lo, float hi, double[] test,
            double[] sample, double[] val) {
        return evaluate(b, md, mu, clip, lo, hi, test, sample, val, false);
    }

    /** Like the above; {@code validationOnly}: the validation ratings alone (test and sample ones skipped). */
    static double[] evaluate(Batch b, FlatModels md, float mu, boolean clip, float lo, float hi, double[] test,
            double[] sample, double[] val, boolean validationOnly) {
        int w = b.colWidth();
        float[] params = b.params;
        float[] values = b.values;
        float[] weights = b.weights;
        boolean[] validation = b.validation;
        int[] colIdx = b.colIdx;
        long testCount = 0;
        long valCount = 0;
        double sampleWeight = 0;
        for (int r = 0; r < b.rows; r++) {
            float[] row = b.rowParams[r];
            int ro = b.rowOff[r];
            for (int t = b.start[r]; t < b.split[r]; t++) {
                int co = colIdx[t] * w;
                boolean isVal = validation != null && validation[t];
                if (validationOnly && !isVal) {
                    continue;
                }
                double[] into = isVal ? val : test;
                for (int i = 0; i < md.liveCount; i++) {
                    int m = md.live[i];
                    float p = SgdKernel.predict(mu, row, ro + md.offset[m], params, co + md.colOffset[m], md.rank[m]);
                    if (clip) {
                        p = Math.max(lo, Math.min(hi, p));
                    }
                    float e = values[t] - p;
                    into[2 * m] += e * e;
                    into[2 * m + 1] += Math.abs(e);
                }
                if (isVal) {
                    valCount++;
                } else {
                    testCount++;
                }
            }
            for (int t = b.split[r], end = validationOnly ? b.split[r] : b.start[r + 1]; t < end; t++) {
                int co = colIdx[t] * w;
                float wt = weights == null ? 1f : weights[t];
                sampleWeight += wt;
                for (int i = 0; i < md.liveCount; i++) {
                    int m = md.live[i];
                    float e = values[t] - SgdKernel.predict(mu, row, ro + md.offset[m], params, co + md.colOffset[m],
                            md.rank[m]);
                    sample[m] += wt * e * e;
                }
            }
        }
        return new double[] {testCount, sampleWeight, valCount};
    }
}
