package org.factorbird.pipeline.train;

import org.factorbird.pipeline.TrainConfig;
import org.factorbird.pipeline.sgd.SgdKernel;
import org.factorbird.ps.Hashing;

/**
 * Implicit feedback's negatives for one {@link Batch}: for each batch, a pool of up to {@link #MAX_POOL} columns
 * drawn uniformly (with replacement) from the columns this subtask has seen joins the batch's own columns, so it is
 * pulled and pushed with them and costs no round trip of its own; each positive then takes {@code negatives}
 * columns from the pool. Uniform, not in-batch: popularity-proportional negatives punish exactly the popular
 * columns users like (measured on MovieLens, README).
 */
final class NegativePool {

    /** Columns in a batch's pool at most. */
    static final int MAX_POOL = 4096;

    private final byte loss;
    private final int negatives;
    private final float alpha;
    /** The columns negatives are drawn from. */
    private final int[] universe;
    /** Batch slots of the current batch's pool. */
    private final int[] pool;
    private int size;
    private long seed;

    /**
     * @param loss {@link TrainConfig#SQUARED}, {@link TrainConfig#LOGISTIC} or {@link TrainConfig#BPR}
     * @param alpha a positive's weight is its weight x (1 + alpha x value)
     */
    NegativePool(byte loss, int negatives, float alpha, int[] universe) {
        this.loss = loss;
        this.negatives = negatives;
        this.alpha = alpha;
        this.universe = universe;
        this.pool = new int[(int) Math.min(MAX_POOL, Math.max(1, universe.length))];
    }

    /**
     * Draws the pool of a batch with {@code ratings} positives into its column index: no larger than the draws the
     * batch makes, so small batches do not pull a full pool.
     */
    void draw(BatchColumns columns, int ratings, long orderSeed) {
        if (universe.length == 0 || negatives == 0) {
            size = 0;
            return;
        }
        size = (int) Math.min(pool.length, Math.max(1L, (long) ratings * negatives));
        seed = Hashing.mix64(orderSeed ^ 0x6E656761L);
        long st = seed;
        for (int i = 0; i < size; i++) {
            st += 0x9E3779B97F4A7C15L;
            pool[i] = columns.indexOf(universe[Hashing.below(Hashing.mix64(st), universe.length)]);
        }
    }

    /**
     * SGD over batch {@code b}: per positive, its own step (squared or logistic loss toward 1) and {@code negatives}
     * steps against pool columns (toward 0; for BPR one pairwise step each), every model alike.
     *
     * @return the sum of the positives' weights
     */
    double train(Batch b, FlatModels md, double[] lossSums) {
        int models = md.liveCount;
        int w = b.colWidth();
        float[] params = b.params;
        double weightSum = 0;
        long st = seed;
        for (int r = 0; r < b.rows; r++) {
            float[] row = b.rowParams[r];
            int ro = b.rowOff[r];
            for (int t = b.start[r], end = b.start[r + 1]; t < end; t++) {
                int cp = b.colIdx[t] * w;
                // the weight column (0 silences a line) times the confidence; never below 0 (no gradient ascent)
                float wt = Math.max(0f, (b.weights == null ? 1f : b.weights[t]) * (1f + alpha * b.values[t]));
                weightSum += wt;
                if (loss != TrainConfig.BPR) {
                    for (int i = 0; i < models; i++) {
                        int m = md.live[i];
                        int off = md.offset[m];
                        int co = cp + md.colOffset[m];
                        lossSums[m] += loss == TrainConfig.LOGISTIC
                                ? SgdKernel.stepLogistic(1f, wt, row, ro + off, params, co, md.rank[m],
                                        md.eta[m], md.lambda[m], md.lambdaBias[m])
                                : SgdKernel.step(1f, wt, 0f, row, ro + off, params, co, md.rank[m], md.eta[m],
                                        md.lambda[m], md.lambdaBias[m]);
                    }
                }
                for (int n = 0; n < negatives && size > 0; n++) {
                    st += 0x9E3779B97F4A7C15L;
                    int cn = pool[Hashing.below(Hashing.mix64(st), size)] * w;
                    if (cn == cp) {
                        continue;
                    }
                    for (int i = 0; i < models; i++) {
                        int m = md.live[i];
                        int off = md.offset[m];
                        int coff = md.colOffset[m];
                        lossSums[m] += switch (loss) {
                            case TrainConfig.BPR -> SgdKernel.stepBpr(wt, row, ro + off, params, cp + coff,
                                    cn + coff, md.rank[m], md.eta[m], md.lambda[m], md.lambdaBias[m]);
                            case TrainConfig.LOGISTIC -> SgdKernel.stepLogistic(0f, 1f, row, ro + off, params,
                                    cn + coff, md.rank[m], md.eta[m], md.lambda[m], md.lambdaBias[m]);
                            default -> SgdKernel.step(0f, 1f, 0f, row, ro + off, params, cn + coff, md.rank[m],
                                    md.eta[m], md.lambda[m], md.lambdaBias[m]);
                        };
                    }
                }
            }
        }
        return weightSum;
    }
}
