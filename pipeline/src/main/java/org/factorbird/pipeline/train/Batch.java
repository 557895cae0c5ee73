package org.factorbird.pipeline.train;

import java.util.Arrays;
import java.util.concurrent.CompletableFuture;

import org.factorbird.pipeline.sgd.LongIntMap;
import org.factorbird.pipeline.sgd.SgdKernel;
import org.factorbird.ps.Hashing;
import org.factorbird.ps.PsClient;

/**
 * A batch of rows trained against one pulled copy of their columns (Factorbird's co-partitioning plus
 * batching): gather rows, pull every distinct column once, run sequential SGD over the batch on the local copy,
 * push one summed delta per column. Staleness is bounded by the batch; the network cost is one pull and one push
 * per distinct column per batch, not per rating.
 *
 * <p>All buffers are reused across batches and grow to the largest batch: no allocation per rating.
 */
final class Batch {

    private final int dim;
    private final LongIntMap columns;

    int rows;
    long[] rowKeys = new long[64];
    float[][] rowParams = new float[64][];
    /** Ratings of row r are at [start[r], start[r+1]). */
    int[] start = new int[65];
    int[] colIdx = new int[1024];
    float[] values = new float[1024];
    int ratings;

    float[] params = new float[0];
    float[] orig = new float[0];

    Batch(int dim, int expectedColumns) {
        this.dim = dim;
        this.columns = new LongIntMap(expectedColumns);
    }

    void clear() {
        rows = 0;
        ratings = 0;
        columns.clear();
    }

    int distinctColumns() {
        return columns.size();
    }

    /**
     * Adds a row: its parameters ({@code [b_i, u_i]}, updated in place by {@link #train}) and its ratings, copied
     * in an order shuffled by {@code shuffleSeed} (0: keep the order).
     */
    void addRow(long key, float[] rowParam, long[] cols, float[] vals, long shuffleSeed) {
        if (rows == rowKeys.length) {
            rowKeys = Arrays.copyOf(rowKeys, rows * 2);
            rowParams = Arrays.copyOf(rowParams, rows * 2);
            start = Arrays.copyOf(start, rows * 2 + 1);
        }
        int n = cols.length;
        if (ratings + n > colIdx.length) {
            int cap = Math.max(ratings + n, colIdx.length * 2);
            colIdx = Arrays.copyOf(colIdx, cap);
            values = Arrays.copyOf(values, cap);
        }
        rowKeys[rows] = key;
        rowParams[rows] = rowParam;
        start[rows] = ratings;
        int base = ratings;
        for (int t = 0; t < n; t++) {
            colIdx[base + t] = columns.indexOf(cols[t]);
            values[base + t] = vals[t];
        }
        if (shuffleSeed != 0) {
            // Fisher-Yates with a SplitMix64 stream: deterministic per (seed, epoch, row)
            long s = shuffleSeed;
            for (int t = n - 1; t > 0; t--) {
                s += 0x9E3779B97F4A7C15L;
                int u = (int) Long.remainderUnsigned(Hashing.mix64(s), t + 1);
                int ci = colIdx[base + t];
                colIdx[base + t] = colIdx[base + u];
                colIdx[base + u] = ci;
                float v = values[base + t];
                values[base + t] = values[base + u];
                values[base + u] = v;
            }
        }
        ratings += n;
        rows++;
        start[rows] = ratings;
    }

    /** Pulls every distinct column of the batch into {@link #params}. */
    CompletableFuture<Void> pull(PsClient ps, boolean readOnly) {
        int n = columns.size();
        if (params.length < n * dim) {
            int cap = Math.max(n * dim, params.length * 2);
            params = new float[cap];
            orig = new float[cap];
        }
        return ps.pull(columns.keys(), n, params, readOnly);
    }

    /**
     * Sequential SGD over the batch on the pulled copy; afterwards {@link #push} sends the summed deltas.
     *
     * @return the sum of squared errors before each step
     */
    double train(float mu, float eta, float lambda, float lambdaBias) {
        int n = columns.size() * dim;
        System.arraycopy(params, 0, orig, 0, n);
        double loss = 0;
        int d = dim;
        for (int r = 0; r < rows; r++) {
            float[] row = rowParams[r];
            for (int t = start[r], end = start[r + 1]; t < end; t++) {
                loss += SgdKernel.step(values[t], mu, row, 0, params, colIdx[t] * d, d, eta, lambda, lambdaBias);
            }
        }
        return loss;
    }

    /** Pushes params - orig for every distinct column. The client encodes before returning. */
    CompletableFuture<Void> push(PsClient ps) {
        int n = columns.size() * dim;
        for (int i = 0; i < n; i++) {
            orig[i] = params[i] - orig[i];
        }
        return ps.push(columns.keys(), columns.size(), orig);
    }

    /**
     * Adds squared and absolute errors of the batch's ratings (held-out ratings, added as rows) to
     * {@code acc[0]} and {@code acc[1]}, with predictions clipped to [lo, hi].
     */
    void evaluate(float mu, float lo, float hi, double[] acc) {
        double se = 0;
        double ae = 0;
        for (int r = 0; r < rows; r++) {
            float[] row = rowParams[r];
            for (int t = start[r], end = start[r + 1]; t < end; t++) {
                float p = SgdKernel.predict(mu, row, 0, params, colIdx[t] * dim, dim);
                p = Math.max(lo, Math.min(hi, p));
                float e = values[t] - p;
                se += e * e;
                ae += Math.abs(e);
            }
        }
        acc[0] += se;
        acc[1] += ae;
    }
}
