package org.factorbird.pipeline.recommend;

import java.util.Arrays;

/**
 * The best {@code k} columns of each of {@code rows} rows: one bounded min-heap per row in flat arrays, its root
 * the worst kept entry. Better means a higher score, and at equal scores a smaller column id, so results do not
 * depend on the order columns arrive in. {@link #threshold} lets the caller skip a candidate with one compare.
 */
public final class TopK {

    private final int k;
    private final float[] score;
    private final long[] col;
    private final int[] size;
    /** Per row: the root's score once the heap is full, -infinity before. */
    private final float[] threshold;

    public TopK(int rows, int k) {
        if (k < 1) {
            throw new IllegalArgumentException("k must be >= 1 but was " + k);
        }
        if ((long) rows * k > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(rows + " rows x k " + k + " do not fit one subtask's top-k arrays");
        }
        this.k = k;
        this.score = new float[rows * k];
        this.col = new long[rows * k];
        this.size = new int[rows];
        this.threshold = new float[rows];
        Arrays.fill(threshold, Float.NEGATIVE_INFINITY);
    }

    public int k() {
        return k;
    }

    /** A candidate scoring below this cannot enter row {@code r}'s top k. */
    public float threshold(int r) {
        return threshold[r];
    }

    /** Keeps {@code (s, c)} if it is among row {@code r}'s best k so far. */
    public void offer(int r, float s, long c) {
        int base = r * k;
        int n = size[r];
        if (n < k) {
            // sift up from the new leaf
            int i = n;
            while (i > 0) {
                int parent = (i - 1) >> 1;
                if (!worse(s, c, score[base + parent], col[base + parent])) {
                    break;
                }
                score[base + i] = score[base + parent];
                col[base + i] = col[base + parent];
                i = parent;
            }
            score[base + i] = s;
            col[base + i] = c;
            size[r] = n + 1;
            if (n + 1 == k) {
                threshold[r] = score[base];
            }
            return;
        }
        if (!worse(score[base], col[base], s, c)) {
            return; // not better than the worst kept
        }
        // replace the root and sift down
        int i = 0;
        while (true) {
            int child = 2 * i + 1;
            if (child >= k) {
                break;
            }
            if (child + 1 < k && worse(score[base + child + 1], col[base + child + 1], score[base + child],
                    col[base + child])) {
                child++;
            }
            if (!worse(score[base + child], col[base + child], s, c)) {
                break;
            }
            score[base + i] = score[base + child];
            col[base + i] = col[base + child];
            i = child;
        }
        score[base + i] = s;
        col[base + i] = c;
        threshold[r] = score[base];
    }

    /** Whether (s1, c1) ranks below (s2, c2). */
    private static boolean worse(float s1, long c1, float s2, long c2) {
        return s1 < s2 || (s1 == s2 && c1 > c2);
    }

    /** How many entries row {@code r} holds (k once it has seen k candidates). */
    public int size(int r) {
        return size[r];
    }

    /**
     * Row {@code r}'s entries best first into {@code cols} and {@code scores} (length >= k); returns their number.
     */
    public int drain(int r, long[] cols, float[] scores) {
        int base = r * k;
        int n = size[r];
        // insertion sort, best first: k is small, and this runs once per row, not per score
        for (int i = 0; i < n; i++) {
            float sc = score[base + i];
            long c = col[base + i];
            int j = i;
            while (j > 0 && worse(scores[j - 1], cols[j - 1], sc, c)) {
                scores[j] = scores[j - 1];
                cols[j] = cols[j - 1];
                j--;
            }
            scores[j] = sc;
            cols[j] = c;
        }
        return n;
    }
}
