package org.factorbird.pipeline.train;

import java.util.Arrays;
import java.util.concurrent.CompletableFuture;

import org.factorbird.ps.PsClient;
import org.factorbird.ps.Ranges;

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
    /** The batch's columns in order of first sight: evaluation, implicit feedback and batches not chunked. */
    private final BatchColumns columns;
    /** The batch's columns in column order: chunked training batches (see {@link #layoutTraining}). */
    private final ColumnRanks ranks;
    /** Whether this layout indexes its columns by {@link #ranks} instead of {@link #columns}. */
    private boolean ranked;

    int rows;
    long[] rowKeys = new long[64];
    /** Row r's parameters are {@code rowParams[r][rowOff[r], rowOff[r] + width)}: its block's array. */
    float[][] rowParams = new float[64][];
    int[] rowOff = new int[64];
    /**
     * Ratings of row r are at [start[r], start[r+1]) as laid out; for evaluation, the second group starts at
     * split[r]. A chunked training layout ({@link ColumnChunks#layout}) puts them in segment order instead, and
     * only the segments hold.
     */
    int[] start = new int[65];
    int[] split = new int[64];
    int[] colIdx = new int[1024];
    float[] values = new float[1024];
    /** Null while every weight in the batch is 1. */
    float[] weights;
    /** For evaluation: whether held-out rating t is a validation one; null while none is. */
    boolean[] validation;
    int ratings;
    /**
     * The training order: segment s is row {@code segRow[s]}'s ratings {@code [segStart[s], segStart[s+1])}. One
     * segment per row, in row order, unless the batch was laid out chunk by chunk of its columns.
     */
    int segments;
    int[] segRow = new int[64];
    int[] segStart = new int[65];
    /** Lays out chunked training batches, with buffers of its own. */
    final ColumnChunks chunks = new ColumnChunks();

    /** Steps the batch, counting its columns' ratings. */
    private final BatchSgd sgd = new BatchSgd();

    /** The pulled columns: {@link #colWidth} floats each, the active models' (see {@link FlatModels}). */
    float[] params = new float[0];
    float[] orig = new float[0];
    /** Floats per pulled column and which of the stored ones they are, as of the last {@link #pull}. */
    private int colWidth;
    private Ranges pulled = Ranges.ALL;

    /** The blocks of rows gathered for this batch (see {@link #addBlock}) and their parameters. */
    int blocks;
    long[] blockKeys = new long[16];
    RowBlock[] blockData = new RowBlock[16];
    float[][] blockParams = new float[16][];
    int blockRows;
    int blockRatings;
    /** The training rows' (block << 32 | row), shuffled. */
    private long[] perm = new long[256];

    /** Implicit feedback's negatives; null for explicit ratings. */
    private NegativePool negatives;

    /** @param ids how the blocks this batch takes number their columns (their subtask's) */
    Batch(int width, ColumnIds ids) {
        this.width = width;
        this.columns = new BatchColumns(ids);
        this.ranks = new ColumnRanks(ids);
    }

    /** Trains implicit feedback from now on (see {@link NegativePool}). */
    void implicit(byte loss, int negativesPerPositive, float alpha, int[] universe) {
        negatives = new NegativePool(loss, negativesPerPositive, alpha, universe);
    }

    /** Floats per pulled column: the active models' (see {@link #pull}). */
    int colWidth() {
        return colWidth;
    }

    void clear() {
        validation = null;
        rows = 0;
        ratings = 0;
        segments = 0;
        ranked = false;
        columns.clear();
        Arrays.fill(blockData, 0, blocks, null);
        Arrays.fill(blockParams, 0, blocks, null);
        blocks = 0;
        blockRows = 0;
        blockRatings = 0;
    }

    /**
     * Gathers a block of rows and its parameters (updated in place by {@link #train}), counting {@code rows} rows
     * and {@code ratings} ratings towards the batch's limits; see the layout methods.
     */
    void addBlock(long key, RowBlock block, float[] blockParam, int rows, int ratings) {
        if (blocks == blockKeys.length) {
            blockKeys = Arrays.copyOf(blockKeys, blocks * 2);
            blockData = Arrays.copyOf(blockData, blocks * 2);
            blockParams = Arrays.copyOf(blockParams, blocks * 2);
        }
        blockKeys[blocks] = key;
        blockData[blocks] = block;
        blockParams[blocks] = blockParam;
        blocks++;
        blockRows += rows;
        blockRatings += ratings;
    }

    /** {@link #layoutTraining(long, long, int, int)} in row order only (no chunks): for tests. */
    void layoutTraining(long orderSeed, long seed, int epoch) {
        layoutTraining(orderSeed, seed, epoch, 0);
    }

    /**
     * Lays out the gathered blocks' rows for training in an order shuffled across the whole batch by
     * {@code orderSeed} (rows of one block are neighbours in state, not in the SGD order). Then either each row's
     * ratings are shuffled by a seed of (seed, row, epoch), or, when the batch's columns at {@code colWidth} floats
     * each do not fit one chunk of {@link ColumnChunks#CHUNK_BYTES}, the batch is ordered by column chunk instead (see
     * {@link ColumnChunks#layout}), its columns indexed in column order ({@link ColumnRanks}); {@code colWidth} 0:
     * never chunked. A batch that is not chunked is laid out the same either way.
     */
    void layoutTraining(long orderSeed, long seed, int epoch, int colWidth) {
        // implicit feedback's negatives follow rows, not chunks
        layoutTrainingInChunks(orderSeed, seed, epoch,
                negatives != null ? -1 : ColumnChunks.shift(colWidth, columns.subtaskColumns()));
    }

    /** {@link #layoutTraining} in chunks of at most {@code 2^shift} columns (6 <= shift <= 30), or -1: none. */
    void layoutTrainingInChunks(long orderSeed, long seed, int epoch, int shift) {
        if (shift >= 0) {
            if (shift < 6 || shift > 30) { // a chunk holds whole 64-column words
                throw new IllegalArgumentException("column chunk shift must be in [6, 30] but was " + shift);
            }
            ranks.clear();
            for (int b = 0; b < blocks; b++) {
                RowBlock blk = blockData[b];
                ranks.mark(blk.cols, 0, blk.rows() == 0 ? 0 : blk.trainEnd[blk.rows() - 1]);
            }
            ranked = ranks.finish() > 1 << shift; // else fewer columns than a chunk: laid out as without chunks
        }
        int n = 0;
        if (perm.length < blockRows) {
            perm = new long[Math.max(blockRows, perm.length * 2)];
        }
        for (int b = 0; b < blocks; b++) {
            RowBlock blk = blockData[b];
            for (int r = 0; r < blk.rows(); r++) {
                if (blk.trainCount(r) > 0) {
                    perm[n++] = (long) b << 32 | r;
                }
            }
        }
        KeyOrder.shuffle(perm, 0, n, orderSeed);
        if (ranked) {
            chunks.layout(this, ranks, perm, n, shift, orderSeed, width);
            return;
        }
        for (int i = 0; i < n; i++) {
            int b = (int) (perm[i] >>> 32);
            int r = (int) perm[i];
            RowBlock blk = blockData[b];
            long key = blk.keys[r];
            addRow(key, blockParams[b], r * width, blk, r, KeyOrder.rowSeed(seed, key, epoch));
        }
        if (negatives != null) {
            negatives.draw(columns, ratings, orderSeed); // the pool joins the batch's columns
        }
        columns.release();
        if (segRow.length < rows) {
            segRow = new int[rows];
            segStart = new int[rows + 1];
        }
        for (int r = 0; r < rows; r++) {
            segRow[r] = r;
            segStart[r] = start[r];
        }
        segments = rows;
        segStart[rows] = ratings;
    }

    /** Lays out the gathered blocks' rows that have held-out or sampled ratings, in block order. */
    void layoutEvaluation() {
        for (int b = 0; b < blocks; b++) {
            RowBlock blk = blockData[b];
            for (int r = 0; r < blk.rows(); r++) {
                if (blk.evaluated(r)) {
                    addEvalRow(blk.keys[r], blockParams[b], r * width, blk, r);
                }
            }
        }
        columns.release();
    }

    int distinctColumns() {
        return ranked ? ranks.size() : columns.size();
    }

    /** The ids of the batch's distinct columns, in the order of its pull: the first {@link #distinctColumns}. */
    long[] columnKeys() {
        return ranked ? ranks.keys() : columns.keys();
    }

    private void startRow(long key, float[] rowParam, int rowOffset, int extra) {
        if (rows == rowKeys.length) {
            rowKeys = Arrays.copyOf(rowKeys, rows * 2);
            rowParams = Arrays.copyOf(rowParams, rows * 2);
            rowOff = Arrays.copyOf(rowOff, rows * 2);
            start = Arrays.copyOf(start, rows * 2 + 1);
            split = Arrays.copyOf(split, rows * 2);
        }
        reserve(ratings + extra);
        rowKeys[rows] = key;
        rowParams[rows] = rowParam;
        rowOff[rows] = rowOffset;
        start[rows] = ratings;
    }

    private void endRow() {
        rows++;
        start[rows] = ratings;
    }

    /** Room for {@code total} ratings in colIdx, values and (if any) weights, keeping the first {@link #ratings}. */
    void reserve(int total) {
        if (total > colIdx.length) {
            int cap = Math.max(total, colIdx.length * 2);
            colIdx = Arrays.copyOf(colIdx, cap);
            values = Arrays.copyOf(values, cap);
            if (weights != null) {
                weights = Arrays.copyOf(weights, cap);
            }
        }
    }

    /** Adds a training row without its ratings, which {@link ColumnChunks#layout} places; returns its index. */
    int addChunkedRow(long key, float[] params, int offset) {
        startRow(key, params, offset, 0);
        endRow();
        return rows - 1;
    }

    /** Gives the batch weights (all 1 so far) if it has none. */
    void weigh() {
        if (weights == null) {
            weights = new float[colIdx.length];
            Arrays.fill(weights, 0, ratings, 1f);
        }
    }

    /**
     * Appends ratings {@code [from, to)} of the given arrays (weights null: all 1), or with {@code idx} the ratings
     * {@code idx[from, to)} indexes in them.
     */
    private void append(int[] cols, float[] vals, float[] w, int[] idx, int from, int to) {
        if (w != null) {
            weigh();
        }
        for (int i = from; i < to; i++) {
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
     * Adds row r of {@code block} for training: its parameters at {@code params[offset..]} (updated in place by
     * {@link #train}) and its ratings, copied in an order shuffled by {@code shuffleSeed} (0: keep the order).
     */
    void addRow(long key, float[] params, int offset, RowBlock block, int r, long shuffleSeed) {
        int n = block.trainCount(r);
        startRow(key, params, offset, n);
        int base = ratings;
        append(block.cols, block.vals, block.weights, null, block.trainFrom(r), block.trainEnd[r]);
        split[rows] = ratings;
        if (shuffleSeed != 0) {
            KeyOrder.shuffle(colIdx, values, weights, base, base + n, shuffleSeed);
        }
        endRow();
    }

    /** Adds row r of {@code block} for evaluation: held-out ratings, then the sampled training ratings. */
    void addEvalRow(long key, float[] params, int offset, RowBlock block, int r) {
        int testFrom = block.testFrom(r);
        int sampleFrom = block.sampleFrom(r);
        startRow(key, params, offset, block.testEnd[r] - testFrom + block.sampleEnd[r] - sampleFrom);
        int at = ratings;
        append(block.testCols, block.testVals, null, null, testFrom, block.testEnd[r]);
        if (validation != null && validation.length < colIdx.length) {
            // grown with the ratings in either branch below: a later block without validation ratings fills it too
            validation = Arrays.copyOf(validation, colIdx.length);
        }
        if (block.testKinds != null) {
            if (validation == null) {
                validation = new boolean[colIdx.length];
            }
            for (int t = testFrom; t < block.testEnd[r]; t++) {
                validation[at + t - testFrom] = block.testKinds[t] == org.factorbird.pipeline.io.Rating.VALIDATION;
            }
        } else if (validation != null) {
            Arrays.fill(validation, at, ratings, false);
        }
        split[rows] = ratings;
        append(block.cols, block.vals, block.weights, block.sample, sampleFrom, block.sampleEnd[r]);
        endRow();
    }

    /** Pulls the active models' floats of every distinct column of the batch into {@link #params}. */
    CompletableFuture<Void> pull(PsClient ps, boolean readOnly, FlatModels md) {
        int n = distinctColumns();
        colWidth = md.colWidth;
        pulled = md.ranges;
        if (params.length < n * colWidth) {
            // a quarter of headroom, not double: for a wide grid these arrays are the largest on the heap
            int cap = (int) Math.max(n * colWidth, Math.min(Integer.MAX_VALUE - 8, params.length * 5L / 4));
            params = new float[cap];
            orig = new float[cap];
        }
        return ps.pull(columnKeys(), n, params, readOnly, pulled);
    }

    /**
     * Sequential SGD over the batch on the pulled copy, segment by segment (see {@link ColumnChunks#layout}), every
     * rating updating every model (with implicit feedback, its negatives too: see {@link #implicit}); afterwards
     * {@link #push} sends the summed deltas.
     *
     * @param loss {@code loss[m]} gains model m's weighted squared errors, each taken before its step
     * @return the sum of the weights of the batch's ratings
     */
    double train(FlatModels md, float mu, double[] loss) {
        System.arraycopy(params, 0, orig, 0, distinctColumns() * colWidth);
        return negatives != null ? sgd.trainNegatives(this, md, loss, negatives) : sgd.train(this, md, mu, loss);
    }

    /** Pushes params - orig for every distinct column, into the floats pulled. The client encodes before returning. */
    CompletableFuture<Void> push(PsClient ps) {
        return push(ps, null, null, null);
    }

    /**
     * Like {@link #push(PsClient)}, each column's deltas scaled by {@code damping} (null: not scaled) for the number
     * of this batch's ratings of that column. With {@code diverged} (a grid), a model whose deltas are not finite
     * gets {@code diverged[m] = true} and pushes zeros instead, so that one diverging setting cannot fail the
     * others' job (the PS refuses non-finite deltas). Without it, the PS's refusal ends the run with its reason.
     */
    CompletableFuture<Void> push(PsClient ps, boolean[] diverged, FlatModels md, PushDamping damping) {
        int n = distinctColumns() * colWidth;
        // implicit feedback's negatives step pool columns inside the kernel, uncounted here: not damped
        boolean finite = damping != null && damping.active() && negatives == null
                ? damping.deltas(params, orig, sgd.counts(), colIdx, weights, ratings, distinctColumns(), colWidth,
                        md)
                : BatchSgd.deltas(params, orig, n);
        if (!finite && diverged != null) {
            for (int i = 0; i < n; i++) {
                if (!Float.isFinite(orig[i])) {
                    orig[i] = 0f;
                    diverged[md.modelAt(i % colWidth)] = true;
                }
            }
        }
        return ps.push(columnKeys(), distinctColumns(), orig, pulled);
    }
}
