package org.factorbird.pipeline.train;

import java.util.Arrays;
import java.util.concurrent.CompletableFuture;

import org.factorbird.pipeline.sgd.LongIntMap;
import org.factorbird.pipeline.sgd.SgdKernel;
import org.factorbird.ps.Hashing;
import org.factorbird.ps.PsClient;

/**
 * A batch of rows trained against one pulled copy of their columns (Factorbird's co-partitioning plus
 * batching): gather rows, pull every distinct column once, run sequential SGD over the batch on the local copy
 * for every model, push one summed delta per column. Staleness is bounded by the batch; the network cost is one
 * pull and one push per distinct column per batch, not per rating, and is shared by all models of a grid.
 *
 * <p>For evaluation, each row contributes two groups: held-out ratings, then sampled training ratings.
 * All buffers are reused across batches and grow to the largest batch: no allocation per rating.
 */
final class Batch {

    private final int width;
    private final LongIntMap columns;

    int rows;
    long[] rowKeys = new long[64];
    float[][] rowParams = new float[64][];
    /** Ratings of row r are at [start[r], start[r+1]); for evaluation, the second group starts at split[r]. */
    int[] start = new int[65];
    int[] split = new int[64];
    int[] colIdx = new int[1024];
    float[] values = new float[1024];
    /** Null while every weight in the batch is 1. */
    float[] weights;
    int ratings;

    float[] params = new float[0];
    float[] orig = new float[0];

    Batch(int width, int expectedColumns) {
        this.width = width;
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

    private void startRow(long key, float[] rowParam, int extra) {
        if (rows == rowKeys.length) {
            rowKeys = Arrays.copyOf(rowKeys, rows * 2);
            rowParams = Arrays.copyOf(rowParams, rows * 2);
            start = Arrays.copyOf(start, rows * 2 + 1);
            split = Arrays.copyOf(split, rows * 2);
        }
        if (ratings + extra > colIdx.length) {
            int cap = Math.max(ratings + extra, colIdx.length * 2);
            colIdx = Arrays.copyOf(colIdx, cap);
            values = Arrays.copyOf(values, cap);
            if (weights != null) {
                weights = Arrays.copyOf(weights, cap);
            }
        }
        rowKeys[rows] = key;
        rowParams[rows] = rowParam;
        start[rows] = ratings;
    }

    private void endRow() {
        rows++;
        start[rows] = ratings;
    }

    /** Appends ratings {@code idx[i]} (or all, when idx is null) of the given arrays. */
    private void append(long[] cols, float[] vals, float[] w, int[] idx) {
        int n = idx == null ? cols.length : idx.length;
        if (w != null && weights == null) {
            weights = new float[colIdx.length];
            Arrays.fill(weights, 0, ratings, 1f);
        }
        for (int i = 0; i < n; i++) {
            int t = idx == null ? i : idx[i];
            colIdx[ratings] = columns.indexOf(cols[t]);
            values[ratings] = vals[t];
            if (weights != null) {
                weights[ratings] = w == null ? 1f : w[t];
            }
            ratings++;
        }
    }

    /**
     * Adds a row for training: its parameters (updated in place by {@link #train}) and its ratings, copied in an
     * order shuffled by {@code shuffleSeed} (0: keep the order).
     */
    void addRow(long key, float[] rowParam, RowData row, long shuffleSeed) {
        int n = row.trainCount();
        startRow(key, rowParam, n);
        int base = ratings;
        append(row.cols, row.vals, row.weights, null);
        split[rows] = ratings;
        if (shuffleSeed != 0) {
            // Fisher-Yates with a SplitMix64 stream: deterministic per (seed, epoch, row)
            long s = shuffleSeed;
            for (int t = n - 1; t > 0; t--) {
                s += 0x9E3779B97F4A7C15L;
                int u = (int) Long.remainderUnsigned(Hashing.mix64(s), t + 1);
                swap(base + t, base + u);
            }
        }
        endRow();
    }

    private void swap(int a, int b) {
        int ci = colIdx[a];
        colIdx[a] = colIdx[b];
        colIdx[b] = ci;
        float v = values[a];
        values[a] = values[b];
        values[b] = v;
        if (weights != null) {
            float w = weights[a];
            weights[a] = weights[b];
            weights[b] = w;
        }
    }

    /** Adds a row for evaluation: held-out ratings, then the sampled training ratings. */
    void addEvalRow(long key, float[] rowParam, RowData row) {
        startRow(key, rowParam, row.testCount() + row.sampleCount());
        if (row.testCount() > 0) {
            append(row.testCols, row.testVals, null, null);
        }
        split[rows] = ratings;
        if (row.sampleCount() > 0) {
            append(row.cols, row.vals, row.weights, row.sample);
        }
        endRow();
    }

    /** Pulls every distinct column of the batch into {@link #params}. */
    CompletableFuture<Void> pull(PsClient ps, boolean readOnly) {
        int n = columns.size();
        if (params.length < n * width) {
            int cap = Math.max(n * width, params.length * 2);
            params = new float[cap];
            orig = new float[cap];
        }
        return ps.pull(columns.keys(), n, params, readOnly);
    }

    /**
     * Sequential SGD over the batch on the pulled copy, every rating updating every model; afterwards
     * {@link #push} sends the summed deltas.
     *
     * @param loss {@code loss[m]} gains model m's weighted squared errors, each taken before its step
     * @return the sum of the weights of the batch's ratings
     */
    double train(Models md, float mu, double[] loss) {
        System.arraycopy(params, 0, orig, 0, columns.size() * width);
        int models = md.count;
        int w = width;
        double weightSum = 0;
        for (int r = 0; r < rows; r++) {
            float[] row = rowParams[r];
            for (int t = start[r], end = start[r + 1]; t < end; t++) {
                int co = colIdx[t] * w;
                float v = values[t];
                float wt = weights == null ? 1f : weights[t];
                weightSum += wt;
                for (int m = 0; m < models; m++) {
                    int off = md.offset[m];
                    loss[m] += md.adagrad[m]
                            ? SgdKernel.stepAdagrad(v, wt, mu, row, off, params, co + off, md.rank[m], md.eta[m],
                                    md.lambda[m], md.lambdaBias[m])
                            : SgdKernel.step(v, wt, mu, row, off, params, co + off, md.rank[m], md.eta[m],
                                    md.lambda[m], md.lambdaBias[m]);
                }
            }
        }
        return weightSum;
    }

    /** Pushes params - orig for every distinct column. The client encodes before returning. */
    CompletableFuture<Void> push(PsClient ps) {
        int n = columns.size() * width;
        for (int i = 0; i < n; i++) {
            orig[i] = params[i] - orig[i];
        }
        return ps.push(columns.keys(), columns.size(), orig);
    }

    /**
     * Evaluates every model: for held-out ratings {@code test[2m] += e^2, test[2m+1] += |e|} with the prediction
     * clipped to [lo, hi] (when {@code clip}); for sampled training ratings {@code sample[m] += w e^2}.
     *
     * @return {test ratings, sum of sample weights} of this batch
     */
    double[] evaluate(Models md, float mu, boolean clip, float lo, float hi, double[] test, double[] sample) {
        int w = width;
        long testCount = 0;
        double sampleWeight = 0;
        for (int r = 0; r < rows; r++) {
            float[] row = rowParams[r];
            for (int t = start[r]; t < split[r]; t++) {
                int co = colIdx[t] * w;
                for (int m = 0; m < md.count; m++) {
                    int off = md.offset[m];
                    float p = SgdKernel.predict(mu, row, off, params, co + off, md.rank[m]);
                    if (clip) {
                        p = Math.max(lo, Math.min(hi, p));
                    }
                    float e = values[t] - p;
                    test[2 * m] += e * e;
                    test[2 * m + 1] += Math.abs(e);
                }
            }
            testCount += split[r] - start[r];
            for (int t = split[r], end = start[r + 1]; t < end; t++) {
                int co = colIdx[t] * w;
                float wt = weights == null ? 1f : weights[t];
                sampleWeight += wt;
                for (int m = 0; m < md.count; m++) {
                    int off = md.offset[m];
                    float e = values[t] - SgdKernel.predict(mu, row, off, params, co + off, md.rank[m]);
                    sample[m] += wt * e * e;
                }
            }
        }
        return new double[] {testCount, sampleWeight};
    }
}
