package org.factorbird.pipeline.recommend;

import java.util.Arrays;

/**
 * Scores a set of rows against pages of columns and keeps each row's top k, never recommending a (row, column)
 * pair it is told to exclude. For row i and column j the ranking score is {@code b_j + u_i . v_j}; the reported
 * score adds {@code mu + b_i}, so it is the model's prediction.
 *
 * <p>Per row and page: one pass writes {@code b_j} and adds {@code u_if * v_fj} factor by factor over the page's
 * contiguous arrays (vectorised by the JIT), then one compare per column against the row's current k-th best;
 * only the few candidates that pass look at the exclusions (a binary search in the row's sorted excluded columns).
 */
public final class RowScorer {

    private final int rank;
    private final long[] rowIds;
    /** Row r's factors at {@code [r * rank, (r + 1) * rank)}. */
    private final float[] u;
    private final float[] rowBias;
    /** Row r's excluded columns, sorted, at {@code excluded[exStart[r], exStart[r + 1])}; null: none. */
    private final long[] excluded;
    private final int[] exStart;
    /** Columns per page: 4096 x (rank + 1) floats stay in the L2 cache at ranks up to ~50. */
    public static final int PAGE = 4096;

    private final TopK top;
    private float[] scores = new float[0];
    /** Columns offered one by one gather here, a page at a time. */
    private ColumnPage page;

    /**
     * @param rowIds the rows, {@code n} of them
     * @param params each row's {@code [b_i, u_i1 .. u_ik]}, {@code rank + 1} floats apart
     * @param excluded, exStart as above (both null when nothing is excluded)
     */
    public RowScorer(int rank, int k, long[] rowIds, float[] params, long[] excluded, int[] exStart) {
        int n = rowIds.length;
        if (params.length < n * (rank + 1)) {
            throw new IllegalArgumentException(n + " rows of rank " + rank + " need " + n * (rank + 1)
                    + " parameters but got " + params.length);
        }
        this.rank = rank;
        this.rowIds = rowIds;
        this.u = new float[n * rank];
        this.rowBias = new float[n];
        for (int r = 0; r < n; r++) {
            rowBias[r] = params[r * (rank + 1)];
            System.arraycopy(params, r * (rank + 1) + 1, u, r * rank, rank);
        }
        this.excluded = excluded;
        this.exStart = exStart;
        this.top = new TopK(n, k);
    }

    public int rows() {
        return rowIds.length;
    }

    /**
     * Offers column {@code id}, {@code values[from..] = [b_j, v_j1 .. v_jk]}, to every row: gathered into a page
     * that is scored when full; {@link #flush} scores the rest. The values are copied.
     */
    public void offer(long id, float[] values, int from) {
        if (page == null) {
            page = new ColumnPage(PAGE, rank);
        }
        page.add(id, values, from);
        if (page.full()) {
            score(page);
            page.clear();
        }
    }

    /** Scores the columns offered since the last full page. */
    public void flush() {
        if (page != null && page.count > 0) {
            score(page);
            page.clear();
        }
    }

    /** Offers every column of {@code page} to every row. */
    public void score(ColumnPage page) {
        int n = page.count;
        if (scores.length < n) {
            scores = new float[page.capacity];
        }
        float[] s = scores;
        float[][] v = page.factors;
        for (int r = 0; r < rowIds.length; r++) {
            System.arraycopy(page.bias, 0, s, 0, n);
            int ro = r * rank;
            for (int f = 0; f < rank; f++) {
                float uf = u[ro + f];
                float[] vf = v[f];
                for (int c = 0; c < n; c++) {
                    s[c] += uf * vf[c];
                }
            }
            float threshold = top.threshold(r);
            for (int c = 0; c < n; c++) {
                if (s[c] >= threshold && !excluded(r, page.ids[c])) {
                    top.offer(r, s[c], page.ids[c]);
                    threshold = top.threshold(r);
                }
            }
        }
    }

    private boolean excluded(int r, long col) {
        return excluded != null && Arrays.binarySearch(excluded, exStart[r], exStart[r + 1], col) >= 0;
    }

    /** Row {@code r}'s top columns, best first, into {@code cols} (length >= k); returns their number. */
    public int top(int r, long[] cols) {
        if (drained == null || drained.length < top.k()) {
            drained = new float[top.k()];
        }
        return top.drain(r, cols, drained);
    }

    private float[] drained;

    /** Receives row {@code row}'s recommendation of rank {@code rank} (1-based). */
    @FunctionalInterface
    public interface Sink {
        void accept(long row, int rank, long col, float score) throws Exception;
    }

    /** Hands every row's top k, best first, with scores as predictions ({@code mu + b_i + b_j + u_i . v_j}). */
    public void emit(float mu, Sink sink) throws Exception {
        long[] cols = new long[top.k()];
        float[] sc = new float[top.k()];
        for (int r = 0; r < rowIds.length; r++) {
            int n = top.drain(r, cols, sc);
            for (int i = 0; i < n; i++) {
                sink.accept(rowIds[r], i + 1, cols[i], mu + rowBias[r] + sc[i]);
            }
        }
    }
}
