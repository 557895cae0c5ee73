package org.factorbird.pipeline.train;

/**
 * Column chunks within a batch (--column-chunks), LIBMF's blocking: a batch whose columns exceed a core's cache is
 * trained chunk by chunk of its columns, so that a chunk's columns and the rows stay in the cache. Holds the buffers
 * of that layout, reused from batch to batch.
 */
final class ColumnChunks {

    /**
     * Bytes of pulled columns that one chunk trains against: with the batch's rows (as many bytes again at 16k rows
     * of rank 10) they stay in a core's L2 cache (2 MB here).
     */
    static final int CHUNK_BYTES = 512 << 10;

    /** Per chunk: where its next rating goes, where its next segment goes, and the row of its last rating. */
    private int[] next = new int[0];
    private int[] nextSegment = new int[0];
    private int[] lastRow = new int[0];
    /** Segments (row, first rating) in slots per chunk, compacted into the batch's segments at the end. */
    private int[] slotRow = new int[0];
    private int[] slotStart = new int[0];
    /** The first segment of each chunk in the training order, and after the last one the number of segments. */
    int[] chunkStart = new int[1];
    /** Chunks in the last layout. */
    int chunks;

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
     * Lays out the training rows {@code perm[0, n)} (each {@code block << 32 | row} of {@code b}'s gathered blocks,
     * in their shuffled order; {@code width} floats per row) chunk by chunk of the columns {@code ranks} has marked
     * ({@link ColumnRanks#chunk}, at most {@code 2^shift} columns each): the ratings of the first chunk visited in the
     * rows' order, then those of the next chunk, and so on; a row's ratings split into one segment per chunk it
     * touches. Without chunks, a
     * batch of the 10M bench set (84k columns, 3.7 MB at rank 10) was touched in random order and its SGD steps
     * waited on the cache: JMH BatchTrainBenchmark, one batch of 737k ratings, 36 ms chunked vs 72 ms in row order
     * (median of 10). The chunks are visited in an order shuffled by {@code orderSeed} (in a fixed order every row
     * would meet the same columns first). Stable within a chunk: rows in their order, each row's ratings in theirs.
     *
     * <p>Each rating is written once, straight from its block into its chunk's place, and a segment is noted as its
     * first rating is (a chunk has a slot per row at most). An earlier version copied the batch in row order first,
     * then reordered the copy with each rating's row beside it, and found the segments in a third pass: JMH
     * BatchLayoutBenchmark (chunked), interleaved, 16.3 / 18.6 ms per batch then against 7.5 / 7.8 ms now.
     */
    void layout(Batch b, ColumnRanks ranks, long[] perm, int n, int shift, long orderSeed, int width) {
        chunks = ranks.chunk(shift, orderSeed ^ 0x776F726473L);
        int[] count = ranks.chunkRatings();
        // the chunks' places in the training order, shuffled; next[c]: where chunk c's next rating goes
        long[] order = new long[chunks];
        for (int c = 0; c < chunks; c++) {
            order[c] = c;
        }
        KeyOrder.shuffle(order, 0, chunks, orderSeed ^ 0x6368756E6BL);
        if (next.length < chunks) {
            next = new int[chunks];
            nextSegment = new int[chunks];
            lastRow = new int[chunks];
        }
        if (chunkStart.length < chunks + 1) {
            chunkStart = new int[chunks + 1];
        }
        int total = 0;
        int slots = 0;
        for (int i = 0; i < chunks; i++) {
            int chunk = (int) order[i];
            next[chunk] = total;
            total += count[chunk];
            nextSegment[chunk] = slots;
            slots += Math.min(n, count[chunk]); // a segment per row at most, and per rating
            lastRow[chunk] = -1;
        }
        b.reserve(total);
        boolean weighted = false;
        for (int k = 0; k < b.blocks; k++) {
            weighted |= b.blockData[k].weights != null;
        }
        if (weighted) {
            b.weigh();
        }
        if (slotRow.length < slots) {
            slotRow = new int[Math.max(slots, slotRow.length * 2)];
            slotStart = new int[slotRow.length];
        }
        int[] idx = b.colIdx;
        float[] vals = b.values;
        float[] wts = b.weights;
        for (int i = 0; i < n; i++) {
            int k = (int) (perm[i] >>> 32);
            int r = (int) perm[i];
            RowBlock blk = b.blockData[k];
            int row = b.addChunkedRow(blk.keys[r], b.blockParams[k], r * width);
            int[] cols = blk.cols;
            float[] v = blk.vals;
            float[] w = blk.weights;
            for (int t = blk.trainFrom(r), end = blk.trainEnd[r]; t < end; t++) {
                int col = cols[t];
                int chunk = ranks.chunkOf(col);
                int to = next[chunk]++;
                idx[to] = ranks.indexOf(col);
                vals[to] = v[t];
                if (wts != null) {
                    wts[to] = w == null ? 1f : w[t];
                }
                if (lastRow[chunk] != row) { // the row's first rating in this chunk: a segment starts
                    lastRow[chunk] = row;
                    int s = nextSegment[chunk]++;
                    slotRow[s] = row;
                    slotStart[s] = to;
                }
            }
        }
        b.ratings = total;
        // the segments chunk after chunk, out of their slots
        int segments = 0;
        for (int i = 0, from = 0; i < chunks; i++) {
            int chunk = (int) order[i];
            int to = nextSegment[chunk];
            segments += to - from;
            from += Math.min(n, count[chunk]);
        }
        if (b.segRow.length < segments) {
            b.segRow = new int[segments];
            b.segStart = new int[segments + 1];
        }
        b.segments = 0;
        for (int i = 0, from = 0; i < chunks; i++) {
            int chunk = (int) order[i];
            int k = nextSegment[chunk] - from;
            chunkStart[i] = b.segments;
            System.arraycopy(slotRow, from, b.segRow, b.segments, k);
            System.arraycopy(slotStart, from, b.segStart, b.segments, k);
            b.segments += k;
            from += Math.min(n, count[chunk]);
        }
        chunkStart[chunks] = b.segments;
        b.segStart[b.segments] = total;
    }
}
