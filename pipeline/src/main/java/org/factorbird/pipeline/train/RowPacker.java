package org.factorbird.pipeline.train;

import org.factorbird.pipeline.BatchSizes;
import org.factorbird.pipeline.TrainConfig;
import org.factorbird.pipeline.io.HoldoutSplit;
import org.factorbird.pipeline.io.Rating;
import org.factorbird.pipeline.sgd.PrimitiveLists.LongList;

/**
 * Turns the spilled ratings into blocks of rows in the {@link BlockStore} at end of input, and counts what it
 * packed ({@link LoadStats}). Rows arrive in {@link KeyOrder#scramble} order, so a block's rows are unrelated ids.
 */
final class RowPacker {

    /**
     * Blocks per batch at least: a batch takes whole blocks, so blocks are at most 1/16 of --batch-rows rows and
     * of a training batch's ratings (--batch-ratings, or the per-column cap: see {@link #pack}) unless one row has
     * more, and batches stay within a 16th of their limits.
     */
    static final int BLOCKS_PER_BATCH = 16;

    /**
     * The packed rows: the key each block is stored under (its first row), the counts, and (with --implicit) the
     * distinct columns of this subtask's training ratings, as their numbers in {@link BlockStore#columns}, from
     * which negatives are drawn.
     */
    /**
     * What packing leaves: the blocks' keys, the counts, the column numbers with training ratings (with --implicit
     * only, else empty) and how many such columns the subtask has.
     */
    record Packed(long[] blockKeys, LoadStats stats, int[] trainColumns, int trainColumnCount) {}

    private final BlockStore store;
    private final TrainConfig cfg;
    private final LongList blockKeys = new LongList(1024);
    /** Which column numbers have training ratings (not those seen only in held-out or validation ratings). */
    private final java.util.BitSet trained;
    private final RowBlock.Builder builder;
    private final long sampleSeed;
    private final int blockRows;
    /** Set from the spill's column estimate when packing starts. */
    private int blockRatings;

    private double sum;
    private double weightSum;
    private long trainRatings;
    private long testRatings;
    private long validationRatings;
    private long trainRows;
    private long testOnlyRows;
    private float min = Float.POSITIVE_INFINITY;
    private float max = Float.NEGATIVE_INFINITY;

    RowPacker(BlockStore store, TrainConfig cfg) {
        this.store = store;
        this.cfg = cfg;
        this.builder = new RowBlock.Builder(cfg.weightColumn > 0, store.columns());
        this.sampleSeed = cfg.seed ^ HoldoutSplit.LOSS_SAMPLE_SALT;
        this.blockRows = Math.max(1, Math.min(BlockStore.BLOCK_ROWS, cfg.batchRows / BLOCKS_PER_BATCH));
        this.trained = new java.util.BitSet();
    }

    /** Packs every row of {@code spill} and closes it. */
    Packed pack(RatingSpill spill) throws Exception {
        // Blocks are also a 16th of a training batch's ratings, which closes at a few ratings per training column
        // (BatchSizes.trainingBatchRatings): a batch takes whole blocks, so larger blocks would overrule that cap.
        // On dense data they did: 256-row blocks of 2,000 x 1,000 (270 ratings a row) made batches of ~69 steps per
        // column, each subtask grew the factors from their small start on its own pulled copy, and in some
        // interleavings two subtasks grew one factor with opposite signs: their pushes cancelled for good, and the
        // run ended like a model of one rank less (held-out RMSE 0.47 against 0.315, ClusterIT). The exact column count
        // is known after packing only; the estimate is close enough for a 16th.
        this.blockRatings = blockRatings(cfg, spill.trainColumnEstimate());
        // dense ids up to half the ratings' count through an array: at most 2 bytes per rating (3 while it
        // doubles), a fraction of the blocks' 8 and more
        store.columns().directLimit(spill.count() / 2);
        spill.forEachRow((row, sp, from, to) -> {
            Interrupts.check();
            for (int k = from; k < to; k++) {
                rating(row, sp.kind(k), sp.col(k), sp.value(k), sp.weight(k));
            }
            endRow(row);
        });
        spill.close();
        if (builder.rows() > 0) {
            blockKeys.add(store.store(builder.build()));
        }
        // loadSeconds and skipped lines are the operator's to fill in
        LoadStats stats = new LoadStats(sum, weightSum, trainRatings, testRatings, 0, trainRows, testOnlyRows, min,
                max, 0, store.bytes(), validationRatings);
        store.columns().freeze();
        // in number order (first sight), so that the negatives' draws do not depend on a hash table's layout
        return new Packed(blockKeys.toArray(), stats,
                cfg.implicit ? trained.stream().toArray() : new int[0], trained.cardinality());
    }

    /** Training ratings per block at most, for a subtask with about {@code trainColumns} training columns. */
    static int blockRatings(TrainConfig cfg, double trainColumns) {
        long columns = (long) Math.ceil(trainColumns);
        return Math.max(1, BatchSizes.trainingBatchRatings(cfg, (int) Math.min(Integer.MAX_VALUE, columns))
                / BLOCKS_PER_BATCH);
    }

    private void rating(long row, byte kind, long col, float value, float weight) {
        if (kind == Rating.TEST || kind == Rating.VALIDATION) {
            builder.test(col, value, kind == Rating.VALIDATION);
            if (kind == Rating.TEST) {
                testRatings++;
            } else {
                validationRatings++;
            }
            return;
        }
        trained.set(builder.train(col, value, weight,
                cfg.lossSample > 0 && HoldoutSplit.unit(sampleSeed, row, col) < cfg.lossSample));
        // mu is the weighted mean: zero-weight ratings do not move it, as they move nothing else
        sum += (double) weight * value;
        weightSum += weight;
        if (weight > 0) {
            min = Math.min(min, value);
            max = Math.max(max, value);
        }
    }

    private void endRow(long row) throws Exception {
        int trained = builder.endRow(row);
        if (trained > 0) {
            trainRows++;
            trainRatings += trained;
        } else {
            testOnlyRows++;
        }
        // blocks close on training rows and ratings only, so held-out data (--test, validation) changes nothing of
        // how the training ratings are grouped and visited: it only rides along
        if (builder.trainRows() >= blockRows || builder.trainRatings() >= blockRatings) {
            blockKeys.add(store.store(builder.build()));
        }
    }
}
