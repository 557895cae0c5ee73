package org.factorbird.pipeline.train;

import org.factorbird.pipeline.sgd.SgdKernel;

/**
 * The SGD over a laid-out {@link Batch}: segment by segment (see {@link ColumnChunks#layout}), each rating stepping
 * every live model on the batch's pulled copy of its columns. The per-rating hot path: no allocation, no boxing.
 */
final class BatchSgd {

    /**
     * Ratings per pulled column, counted by the last {@link #train} when the batch is unweighted: what
     * {@link PushDamping} scales by, counted chunk by chunk as the steps go instead of in a pass of its own.
     */
    private int[] columnRatings = new int[0];
    private boolean counted;

    /** Each column's ratings in the batch last trained, or null (weighted, or trained with negatives). */
    int[] counts() {
        return counted ? columnRatings : null;
    }

    /** Trains implicit feedback's batch {@code b} with its negatives (see {@link NegativePool#train}). */
    double trainNegatives(Batch b, FlatModels md, double[] loss, NegativePool negatives) {
        counted = false;
        return negatives.train(b, md, loss);
    }

    /**
     * Trains batch {@code b} (see {@link Batch#train}), counting each column's ratings if unweighted.
     *
     * @return the sum of the weights of the batch's ratings
     */
    double train(Batch b, FlatModels md, float mu, double[] loss) {
        int cols = b.distinctColumns();
        int[] count = null;
        counted = b.weights == null;
        if (counted) {
            if (columnRatings.length < cols) {
                columnRatings = new int[Math.max(cols, columnRatings.length * 5 / 4)];
            }
            count = columnRatings;
            java.util.Arrays.fill(count, 0, cols, 0);
        }
        return train(b, md, mu, loss, count);
    }

    /** {@code orig[i] = params[i] - orig[i]} for the first n floats; whether all are finite. */
    static boolean deltas(float[] params, float[] orig, int n) {
        boolean finite = true;
        for (int i = 0; i < n; i++) {
            float d = params[i] - orig[i];
            orig[i] = d;
            finite &= Float.isFinite(d);
        }
        return finite;
    }

    private static double train(Batch b, FlatModels md, float mu, double[] loss, int[] count) {
        int models = md.liveCount;
        int[] live = md.live;
        if (models == 1 && !md.adagrad[live[0]]) {
            return trainOne(b, md, live[0], mu, loss, count);
        }
        int w = b.colWidth();
        float[] params = b.params;
        double weightSum = 0;
        for (int sg = 0; sg < b.segments; sg++) {
            int r = b.segRow[sg];
            float[] row = b.rowParams[r];
            int ro = b.rowOff[r];
            for (int t = b.segStart[sg], end = b.segStart[sg + 1]; t < end; t++) {
                int co = b.colIdx[t] * w;
                float v = b.values[t];
                float wt = b.weights == null ? 1f : b.weights[t];
                weightSum += wt;
                if (count != null) {
                    count[b.colIdx[t]]++;
                }
                for (int i = 0; i < models; i++) {
                    int m = live[i];
                    int off = md.offset[m];
                    int coff = co + md.colOffset[m];
                    loss[m] += md.adagrad[m]
                            ? SgdKernel.stepAdagrad(v, wt, mu, row, ro + off, params, coff, md.rank[m], md.eta[m],
                                    md.lambda[m], md.lambdaBias[m])
                            : SgdKernel.step(v, wt, mu, row, ro + off, params, coff, md.rank[m], md.eta[m],
                                    md.lambda[m], md.lambdaBias[m]);
                }
            }
        }
        return weightSum;
    }

    /**
     * {@link #train} for one plain-SGD model (the common case: a single run, or a grid's last survivor): its
     * parameters read once, not per rating, and its loss summed in a local instead of an array element that every
     * step would read and write.
     */
    private static double trainOne(Batch b, FlatModels md, int m, float mu, double[] loss, int[] count) {
        int w = b.colWidth();
        int off = md.offset[m];
        int coff = md.colOffset[m];
        int k = md.rank[m];
        float eta = md.eta[m];
        float lambda = md.lambda[m];
        float lambdaBias = md.lambdaBias[m];
        float[] p = b.params;
        int[] idx = b.colIdx;
        float[] vals = b.values;
        float[] wts = b.weights;
        int[] segRow = b.segRow;
        int[] segStart = b.segStart;
        double weightSum = 0;
        double sum = 0;
        for (int sg = 0; sg < b.segments; sg++) {
            int r = segRow[sg];
            float[] row = b.rowParams[r];
            int ro = b.rowOff[r] + off;
            for (int t = segStart[sg], end = segStart[sg + 1]; t < end; t++) {
                int c = idx[t];
                float wt = 1f;
                if (wts != null) {
                    wt = wts[t];
                } else {
                    count[c]++;
                }
                weightSum += wt;
                sum += SgdKernel.step(vals[t], wt, mu, row, ro, p, c * w + coff, k, eta, lambda, lambdaBias);
            }
        }
        loss[m] += sum;
        return weightSum;
    }
}
