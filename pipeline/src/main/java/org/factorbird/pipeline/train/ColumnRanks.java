package org.factorbird.pipeline.train;

import java.util.Arrays;

/**
 * The distinct columns of one chunked training batch, indexed 0, 1, 2, ... in the order of their subtask-wide
 * numbers ({@link ColumnIds}): a bit per column of the subtask says whether the batch has it, and a column's index
 * is its rank among the set bits, one count per 64-bit word plus a popcount.
 *
 * <p>Why not {@link BatchColumns} (indices in order of first sight) here: its marks are an int per column of the
 * subtask, 400 KB at 100k columns, and once the other threads had evicted them, looking up each rating's column there
 * was a fifth of an epoch (the JFR profile in docs/scaling.md). The bits take 12.5 KB at 100k columns and the counts
 * half that, so they stay in the core's caches. Chunks ({@link #chunk}) are groups of whole words, so a column's
 * chunk is one more read of a small table.
 */
final class ColumnRanks {

    private final ColumnIds ids;
    /** Bit n: column number n is in the batch. */
    private long[] bits = new long[0];
    /** The rank of each word's first bit. */
    private int[] base = new int[0];
    /** Ratings marked per word, then (after {@link #chunk}) each word's chunk. */
    private int[] wordRatings = new int[0];
    private int[] chunkOf = new int[0];
    /** Ratings per chunk. */
    private int[] chunkRatings = new int[0];
    /** {@link #chunk} shuffles runs of this many words (512 columns): within a run, a chunk's columns are adjacent. */
    static final int UNIT_WORDS = 8;
    /** The runs of words in the order {@link #chunk} groups them. */
    private long[] wordOrder = new long[0];
    private int words;
    private long[] keys = new long[1024];
    private int size;

    /** @param ids how the blocks number their columns (their subtask's) */
    ColumnRanks(ColumnIds ids) {
        this.ids = ids;
    }

    /** Starts a new batch: no column marked. */
    void clear() {
        words = (ids.size() + 63) >>> 6;
        if (bits.length < words) {
            bits = new long[words];
            base = new int[words];
            wordRatings = new int[words];
            chunkOf = new int[words];
        } else {
            Arrays.fill(bits, 0, words, 0L);
            Arrays.fill(wordRatings, 0, words, 0);
        }
        size = 0;
    }

    /** Marks the columns numbered {@code cols[from, to)}. */
    void mark(int[] cols, int from, int to) {
        long[] b = bits;
        int[] counts = wordRatings;
        for (int t = from; t < to; t++) {
            int n = cols[t];
            b[n >>> 6] |= 1L << n; // the shift takes n mod 64
            counts[n >>> 6]++;
        }
    }

    /** Ends the marking: indexes the marked columns and lists their ids; returns how many there are. */
    int finish() {
        int r = 0;
        for (int w = 0; w < words; w++) {
            base[w] = r;
            r += Long.bitCount(bits[w]);
        }
        if (keys.length < r) {
            keys = new long[Math.max(r, keys.length * 2)];
        }
        int i = 0;
        for (int w = 0; w < words; w++) {
            for (long x = bits[w]; x != 0; x &= x - 1) {
                keys[i++] = ids.id(w << 6 | Long.numberOfTrailingZeros(x));
            }
        }
        size = r;
        return r;
    }

    /** The index of marked column number {@code n}: how many marked columns have a lower number. */
    int indexOf(int n) {
        int w = n >>> 6;
        return base[w] + Long.bitCount(bits[w] & ((1L << n) - 1));
    }

    /**
     * Groups the marked columns into chunks of words holding at most {@code 2^shift} marked columns each (shift >=
     * 6), taking runs of {@link #UNIT_WORDS} words in an order shuffled by {@code seed}; returns how many. Then
     * {@link #chunkOf} gives a column's chunk and {@link #chunkRatings} each chunk's marked ratings. Shuffled, so that
     * which columns share a chunk changes from batch to batch, as it did when batches numbered their columns in order
     * of first sight: chunks of consecutive words, the same groups in every batch, ended the 10M bench set at
     * held-out RMSE 0.6645 (3 runs: 0.6646 / 0.6644 / 0.6647) against 0.6634 (0.6634 / 0.6636 / 0.6632) shuffled,
     * interleaved, at the same speed; single words shuffled had cost ~10% of the epoch's speed.
     */
    int chunk(int shift, long seed) {
        int limit = 1 << shift;
        if (chunkRatings.length < words + 1) {
            chunkRatings = new int[words + 1];
            wordOrder = new long[words];
        }
        int units = (words + UNIT_WORDS - 1) / UNIT_WORDS;
        for (int u = 0; u < units; u++) {
            wordOrder[u] = u;
        }
        KeyOrder.shuffle(wordOrder, 0, units, seed);
        int c = 0;
        int inChunk = 0;
        chunkRatings[0] = 0;
        for (int i = 0; i < units * UNIT_WORDS; i++) {
            int w = (int) wordOrder[i / UNIT_WORDS] * UNIT_WORDS + i % UNIT_WORDS;
            if (w >= words) {
                continue; // the last unit's missing words
            }
            int k = Long.bitCount(bits[w]);
            if (inChunk + k > limit) {
                chunkRatings[++c] = 0;
                inChunk = 0;
            }
            chunkOf[w] = c;
            inChunk += k;
            chunkRatings[c] += wordRatings[w];
        }
        return c + 1;
    }

    /** The chunk of marked column number {@code n} (after {@link #chunk}). */
    int chunkOf(int n) {
        return chunkOf[n >>> 6];
    }

    /** Marked ratings per chunk (after {@link #chunk}). */
    int[] chunkRatings() {
        return chunkRatings;
    }

    int size() {
        return size;
    }

    /** The ids of the marked columns by index: {@code keys()[i]} for i < {@link #size}. */
    long[] keys() {
        return keys;
    }
}
