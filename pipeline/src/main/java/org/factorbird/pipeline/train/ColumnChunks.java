package org.factorbird.pipeline.train;

import java.util.Arrays;

/**
 * Column chunks within a batch (--column-chunks), LIBMF's blocking: a batch whose columns exceed a core's cache is
 * trained chunk by chunk of its columns, so that a chunk's columns and the rows stay in the cache. Holds the second
 * copy of the ratings that the reordering writes into (swapped with the batch's), reused from batch to batch.
 */
final class ColumnChunks {

    /**
     * Bytes of pulled columns that one chunk trains against: with the batch's rows (as many bytes again at 16k rows
     * of rank 10) they stay in a core's L2 cache (2 MB here).
     */
    static final int CHUNK_BYTES = 512 << 10;

    private int[] spareIdx = new int[0];
    private float[] spareValues = new float[0];
    private float[] spareWeights;
    /** Each reordered rating's row. */
    private int[] rowOf = new int[0];

    /**
     * The chunk size as a shift (chunks of {@code 2^shift} batch columns taking at most {@link #CHUNK_BYTES} at
     * {@code colWidth} floats each), or -1 for row order: for {@code colWidth} 0, when the subtask's
     * {@code subtaskColumns} all fit one chunk, and for wide grids (chunks below 1024 columns).
     */
    static int shift(int colWidth, int subtaskColumns) {
        if (colWidth <= 0) {
            return -1;
        }
        int perChunk = Integer.highestOneBit(Math.max(1, CHUNK_BYTES / (Float.BYTES * colWidth)));
        return perChunk >= 1024 && subtaskColumns > perChunk ? Integer.numberOfTrailingZeros(perChunk) : -1;
    }

    /**
     * Orders a laid-out training batch {@code b} by column chunk: the ratings of the batch's first {@code 2^shift}
     * columns in the rows' shuffled order, then those of the next chunk, and so on; a row's
     * ratings are split into one segment per chunk. Without it, a batch of the 10M bench set (84k columns, 3.7 MB
     * at rank 10) was touched in random order and its SGD steps waited on the cache: JMH BatchTrainBenchmark, one
     * batch of 737k ratings, 36 ms chunked vs 72 ms in row order (median of 10), the chunking pass ~12 ms of it.
     * The chunks take the place of the per-row shuffle: which columns share a chunk changes with every epoch's
     * batches, and the chunks are visited in an order shuffled by {@code orderSeed} (columns are numbered in order
     * of first sight, so the first chunk holds the popular ones: in a fixed order every row would meet them first).
     * Stable within a chunk: rows in their order, each row's ratings in theirs.
     */
    void order(Batch b, int shift, long orderSeed) {
        if (shift < 0 || shift > 30 || b.segments != b.rows) {
            throw new IllegalStateException("chunk needs a layout in row order and a shift in [0, 30]; segments "
                    + b.segments + ", rows " + b.rows + ", shift " + shift);
        }
        int chunks = ((b.distinctColumns() - 1) >> shift) + 1;
        int[] count = new int[chunks];
        for (int t = 0; t < b.ratings; t++) {
            count[b.colIdx[t] >> shift]++;
        }
        // the chunks' places in the training order, shuffled; next[c]: where chunk c's next rating goes
        long[] order = new long[chunks];
        for (int c = 0; c < chunks; c++) {
            order[c] = c;
        }
        KeyOrder.shuffle(order, 0, chunks, orderSeed ^ 0x6368756E6BL);
        int[] next = new int[chunks];
        for (int i = 0, at = 0; i < chunks; i++) {
            int chunk = (int) order[i];
            next[chunk] = at;
            at += count[chunk];
        }
        if (spareIdx.length < b.colIdx.length) {
            spareIdx = new int[b.colIdx.length];
            spareValues = new float[b.colIdx.length];
            rowOf = new int[b.colIdx.length];
        }
        if (b.weights != null && (spareWeights == null || spareWeights.length < b.weights.length)) {
            spareWeights = new float[b.weights.length];
        }
        for (int r = 0; r < b.rows; r++) {
            for (int t = b.start[r], end = b.start[r + 1]; t < end; t++) {
                int to = next[b.colIdx[t] >> shift]++;
                spareIdx[to] = b.colIdx[t];
                spareValues[to] = b.values[t];
                if (b.weights != null) {
                    spareWeights[to] = b.weights[t];
                }
                rowOf[to] = r;
            }
        }
        int[] idx = b.colIdx;
        b.colIdx = spareIdx;
        spareIdx = idx;
        float[] vals = b.values;
        b.values = spareValues;
        spareValues = vals;
        if (b.weights != null) {
            float[] w = b.weights;
            b.weights = spareWeights;
            spareWeights = w;
        }
        // segments: runs of one row within one chunk
        b.segments = 0;
        for (int t = 0; t < b.ratings; t++) {
            if (t == 0 || rowOf[t] != rowOf[t - 1] || b.colIdx[t] >> shift != b.colIdx[t - 1] >> shift) {
                if (b.segments == b.segRow.length) {
                    b.segRow = Arrays.copyOf(b.segRow, b.segments * 2);
                    b.segStart = Arrays.copyOf(b.segStart, b.segments * 2 + 1);
                }
                b.segRow[b.segments] = rowOf[t];
                b.segStart[b.segments++] = t;
            }
        }
        b.segStart[b.segments] = b.ratings;
    }
}
