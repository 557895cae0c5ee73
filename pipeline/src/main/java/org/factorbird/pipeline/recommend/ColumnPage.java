package org.factorbird.pipeline.recommend;

/**
 * A page of columns laid out for scoring: ids, biases b_j, and the factors factor-major ({@code factors[f][c]}),
 * so that the scoring loop over a page's columns reads contiguous floats and the JIT vectorises it.
 */
public final class ColumnPage {

    public final int capacity;
    public final int rank;
    public final long[] ids;
    public final float[] bias;
    public final float[][] factors;
    public int count;

    public ColumnPage(int capacity, int rank) {
        if (capacity < 1 || rank < 1) {
            throw new IllegalArgumentException("capacity and rank must be >= 1 but were " + capacity + " and " + rank);
        }
        this.capacity = capacity;
        this.rank = rank;
        this.ids = new long[capacity];
        this.bias = new float[capacity];
        this.factors = new float[rank][capacity];
    }

    public boolean full() {
        return count == capacity;
    }

    /** Adds a column: {@code values = [b_j, v_j1 .. v_jk]} from {@code from}. */
    public void add(long id, float[] values, int from) {
        int c = count++;
        ids[c] = id;
        bias[c] = values[from];
        for (int f = 0; f < rank; f++) {
            factors[f][c] = values[from + 1 + f];
        }
    }

    public void clear() {
        count = 0;
    }
}
