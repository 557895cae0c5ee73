package org.factorbird.pipeline;

import java.util.Locale;

import org.apache.flink.configuration.Configuration;

/**
 * How large a training batch is: the defaults of --batch-rows and --batch-ratings, the cap that keeps a wide grid's
 * column copy in memory, and the cap by ratings per column. Every subtask pulls a batch's distinct columns once,
 * trains, and pushes one summed delta per column, so a batch's size is the trade between PS traffic (larger is
 * fewer bytes and requests) and staleness (every column takes the batch's steps from one pulled copy).
 */
public final class BatchSizes {

    private BatchSizes() {}

    /**
     * Floats of one batch's column copy at most (x 4 B x 4 copies: 1 GB): caps --batch-ratings for wide grids. Not
     * lower: a smaller batch pulls and pushes its columns more often, and a wide grid's epoch is PS bytes.
     */
    public static final int BATCH_FLOATS = 64 << 20;
    /** Rows of all subtasks' batches together by default (see {@link FactorbirdOptions#BATCH_ROWS}). */
    public static final int BATCH_ROWS_TOGETHER = 32_768;
    /**
     * Without --batch-ratings, a training batch also closes at this many ratings per training column of its
     * subtask. Every column takes its batch's steps from one pulled copy, so what bounds staleness is the steps per
     * column, not rows: on a sparse planted set (100,000 x 20,000, 3.6M ratings, rank 8, noise 0.3, 2 subtasks,
     * the defaults) 16,384-row batches (~30 ratings per column) ended at held-out RMSE 0.428, 4,096 rows (~7) at
     * 0.400, 100,000 ratings (5) at 0.395, 1,024 rows at 0.393. The 10M bench set (~7 per column at 16,384 rows)
     * closes its batches at 500,000 ratings instead: training 10.7 against 9.0 s in one pair of runs. Packing
     * sizes its blocks by this cap too (a batch takes whole blocks): on dense data (2,000 x 1,000, 270 ratings a
     * row) 256-row blocks had made batches of ~69 steps per column, and in some interleavings two subtasks grew a
     * factor from its small start with opposite signs, cancelling each other's pushes for good (held-out RMSE 0.47
     * against 0.315; see RowPacker#pack).
     */
    public static final int BATCH_STEPS_PER_COLUMN = 5;
    /** The smallest default --batch-rows. */
    public static final int MIN_DEFAULT_BATCH_ROWS = 64;

    /**
     * The batch defaults before push damping, kept for runs with AdaGrad models, which are not damped (their steps
     * are not eta): at parallelism 4 the larger batches trained AdaGrad to held-out RMSE 0.783 after 5 epochs of the
     * 10M bench set, these to 0.736.
     */
    public static final int UNDAMPED_BATCH_ROWS_TOGETHER = 8_192;
    public static final int UNDAMPED_BATCH_RATINGS = 262_144;

    /**
     * --batch-rows when not given: {@value #BATCH_ROWS_TOGETHER} / parallelism, with AdaGrad models
     * {@value #UNDAMPED_BATCH_ROWS_TOGETHER} / parallelism; at least 64.
     */
    public static int defaultBatchRows(int parallelism, boolean adagrad) {
        Checks.atLeast(parallelism, 1, "parallelism");
        return Math.max(MIN_DEFAULT_BATCH_ROWS,
                (adagrad ? UNDAMPED_BATCH_ROWS_TOGETHER : BATCH_ROWS_TOGETHER) / parallelism);
    }

    /**
     * Ratings per batch at most: --batch-ratings (with AdaGrad models and not given: {@value #UNDAMPED_BATCH_RATINGS}),
     * lowered so that a batch's copy of its distinct columns (at most one per rating), held four times over (two
     * batches, each pulled and original values), stays within {@value #BATCH_FLOATS} floats however wide a grid
     * makes a column of {@code width} floats.
     */
    static int batchRatings(Configuration c, boolean adagrad, int width) {
        int given = Checks.atLeast(adagrad && !c.contains(FactorbirdOptions.BATCH_RATINGS)
                ? UNDAMPED_BATCH_RATINGS : c.get(FactorbirdOptions.BATCH_RATINGS), 1, "batch-ratings");
        return Math.max(1, Math.min(given, BATCH_FLOATS / width));
    }

    /**
     * Ratings per training batch of a subtask with {@code trainColumns} columns that have training ratings:
     * {@link TrainConfig#batchRatings}, and unless --batch-ratings was given at most
     * {@value #BATCH_STEPS_PER_COLUMN} per column. Only training columns count, so that the test data influences
     * nothing of the training.
     */
    public static int trainingBatchRatings(TrainConfig cfg, int trainColumns) {
        return cfg.batchRatingsGiven ? cfg.batchRatings
                : (int) Math.min(cfg.batchRatings, Math.max(1, (long) BATCH_STEPS_PER_COLUMN * trainColumns));
    }

    /** Ratings per column and batch beyond which a given --batch-ratings is warned about. */
    public static final int WARN_STEPS_PER_COLUMN = 4 * BATCH_STEPS_PER_COLUMN;

    /**
     * A warning when --batch-ratings was given and a subtask's batches will hold more than
     * {@value #WARN_STEPS_PER_COLUMN} ratings per training column, else null. Such batches let several subtasks grow
     * a factor apart from its small start, and two that grow it with opposite signs cancel it for good (see
     * {@link #BATCH_STEPS_PER_COLUMN}). The estimate takes the batch as the smaller of --batch-ratings and
     * {@code batchRows} at the subtask's mean ratings per row, and at most the subtask's ratings.
     *
     * @param batchRows the rows per training batch the subtask uses (--batch-rows, or lower for undamped models)
     * @param trainRatings the subtask's training ratings
     * @param trainRows the subtask's rows with training ratings
     * @param trainColumns the subtask's columns with training ratings
     */
    public static String stepsPerColumnWarning(TrainConfig cfg, int batchRows, long trainRatings, long trainRows,
            int trainColumns) {
        if (!cfg.batchRatingsGiven || cfg.parallelism == 1 || trainColumns == 0 || trainRows == 0) {
            return null;
        }
        double perRow = (double) trainRatings / trainRows;
        double batch = Math.min(Math.min(cfg.batchRatings, batchRows * perRow), trainRatings);
        double perColumn = batch / trainColumns;
        if (perColumn <= WARN_STEPS_PER_COLUMN) {
            return null;
        }
        return String.format(Locale.ROOT, "the given --batch-ratings makes batches of ~%.0f ratings per training "
                + "column (%,d such columns per subtask); above %d, subtasks can grow a factor with opposite signs "
                + "and cancel it for good (held-out RMSE stuck as if the rank were lower): leave --batch-ratings out "
                + "(%d per column) or give at most %,d", perColumn, trainColumns, WARN_STEPS_PER_COLUMN,
                BATCH_STEPS_PER_COLUMN, (long) WARN_STEPS_PER_COLUMN * trainColumns);
    }
}
