package org.factorbird.pipeline.stream;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import org.apache.flink.api.common.state.ValueState;
import org.factorbird.pipeline.io.Rating;
import org.factorbird.pipeline.sgd.LongIntMap;
import org.factorbird.pipeline.sgd.PrimitiveLists.FloatList;
import org.factorbird.pipeline.sgd.PrimitiveLists.IntList;
import org.factorbird.pipeline.sgd.PrimitiveLists.LongList;
import org.factorbird.pipeline.sgd.SgdKernel;
import org.factorbird.ps.PsClient;
import org.factorbird.ps.TableSpec;

/**
 * One subtask's batch of streamed ratings and its training step ({@link OnlineOperator}): the ratings gathered
 * so far, and, when trained, one pull of their distinct columns, the SGD steps on the rows in keyed state (each
 * row's state read and written once per batch) and on the pulled copies, and one push of the summed deltas. All
 * buffers are reused from batch to batch; nothing is allocated per rating.
 */
final class OnlineBatch {

    /** Makes {@code key} the current key of the operator's keyed state. */
    @FunctionalInterface
    interface KeySelector {
        void select(long key);
    }

    private final StreamConfig cfg;
    private final TableSpec rowInit;
    private final Prequential prequential;
    /** The gathered ratings of the next batch. */
    private LongList bRows;
    private LongList bCols;
    private FloatList bValues;
    private FloatList bWeights;
    private LongIntMap colIndex;
    /** Per rating of a batch: its column's index in the pull, and the next rating of its row (-1: none). */
    private int[] at;
    private int[] next;
    /** The batch's distinct rows and, per row, its first and last rating. */
    private LongIntMap rowIndex;
    private IntList rowFirst;
    private IntList rowLast;
    private float[] colValues;
    private float[] colStart;
    private long[] colKeys;
    /** Seconds the last batch took to train. */
    double seconds;

    OnlineBatch(StreamConfig cfg, Prequential prequential) {
        this.cfg = cfg;
        this.prequential = prequential;
        long rowSeed = cfg.seed ^ 0x726F777321L; // as training's rows (BlockStore.ROW_SEED_SALT)
        this.rowInit = new TableSpec(0, rowSeed, List.of(new TableSpec.Segment(cfg.width(), 1, cfg.width(),
                cfg.initStd)));
        bRows = new LongList(cfg.batchRatings);
        bCols = new LongList(cfg.batchRatings);
        bValues = new FloatList(cfg.batchRatings);
        bWeights = new FloatList(cfg.batchRatings);
        colIndex = new LongIntMap(Math.min(cfg.batchRatings, 1 << 16));
        rowIndex = new LongIntMap(Math.min(cfg.batchRatings, 1 << 16));
        at = new int[cfg.batchRatings];
        next = new int[cfg.batchRatings];
        rowFirst = new IntList(1024);
        rowLast = new IntList(1024);
        colValues = new float[0];
        colStart = new float[0];
        colKeys = new long[0];
    }

    /** Adds a training rating; returns whether the batch is full. */
    boolean add(Rating r) {
        bRows.add(r.row);
        bCols.add(r.col);
        bValues.add(r.value);
        bWeights.add(r.weight);
        return bRows.n >= cfg.batchRatings;
    }

    int size() {
        return bRows.n;
    }

    /**
     * Trains the gathered ratings as one batch: one pull, the steps (each rating predicted first, into
     * {@code prequential}), one push; returns the push, or null when there was nothing to train.
     */
    CompletableFuture<Void> train(PsClient ps, ValueState<float[]> rows, KeySelector keys) throws Exception {
        int n = bRows.n;
        if (n == 0) {
            return null;
        }
        long t0 = System.nanoTime();
        int w = cfg.width();
        if (at.length < n) {
            at = new int[Math.max(n, at.length * 2)];
            next = new int[at.length];
        }
        colIndex.clear();
        for (int i = 0; i < n; i++) {
            at[i] = colIndex.indexOf(bCols.a[i]);
        }
        int cols = colIndex.size();
        if (colKeys.length < cols) {
            colKeys = new long[Math.max(cols, colKeys.length * 2)];
            colValues = new float[colKeys.length * w];
            colStart = new float[colKeys.length * w];
        }
        System.arraycopy(colIndex.keys(), 0, colKeys, 0, cols);
        ps.await(ps.pull(colKeys, cols, colValues, false)); // new columns are created with their initial values
        System.arraycopy(colValues, 0, colStart, 0, cols * w);
        // the batch's ratings grouped by row, in arrival order within a row: keyed state is read and written once
        // per distinct row, not once per rating
        rowIndex.clear();
        for (int i = 0; i < n; i++) {
            int r = rowIndex.indexOf(bRows.a[i]);
            if (r == rowFirst.n) {
                rowFirst.add(i);
                rowLast.add(i);
            } else {
                next[rowLast.a[r]] = i;
                rowLast.a[r] = i;
            }
            next[i] = -1;
        }
        float lo = cfg.ratingRange == null ? Float.NEGATIVE_INFINITY : cfg.ratingRange[0];
        float hi = cfg.ratingRange == null ? Float.POSITIVE_INFINITY : cfg.ratingRange[1];
        for (int r = 0; r < rowFirst.n; r++) {
            long row = rowIndex.keys()[r];
            keys.select(row);
            float[] u = rows.value();
            if (u == null) {
                u = new float[w];
                rowInit.init(row, u, 0);
            }
            for (int i = rowFirst.a[r]; i >= 0; i = next[i]) {
                int co = at[i] * w;
                float p = Math.max(lo, Math.min(hi, SgdKernel.predict(cfg.mu, u, 0, colValues, co, cfg.rank)));
                prequential.add(bValues.a[i] - p);
                SgdKernel.step(bValues.a[i], bWeights.a[i], cfg.mu, u, 0, colValues, co, cfg.rank,
                        cfg.learningRate, cfg.lambda, cfg.lambdaBias);
            }
            rows.update(u);
        }
        rowFirst.clear();
        rowLast.clear();
        for (int j = 0; j < cols * w; j++) {
            colValues[j] -= colStart[j];
        }
        // the arrays are reused by the next batch while this push is on the wire: it carries copies
        CompletableFuture<Void> push = ps.push(Arrays.copyOf(colKeys, cols), cols, Arrays.copyOf(colValues, cols * w));
        seconds = (System.nanoTime() - t0) / 1e9;
        bRows.clear();
        bCols.clear();
        bValues.clear();
        bWeights.clear();
        return push;
    }
}
