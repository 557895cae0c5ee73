package org.factorbird.pipeline.train;

/**
 * Walks an epoch's blocks into batches. A batch closes before the block that would take it past
 * --batch-rows rows or --batch-ratings ratings (it holds at least one block); that block, already read, opens
 * the next batch. Training counts rows and ratings to train, evaluation those to evaluate.
 */
final class BlockCursor {

    private final BlockStore store;
    private final long[] keys;
    private final boolean training;
    private final int batchRows;
    private final int batchRatings;
    private int next;
    private long key;
    private RowBlock block;
    private float[] params;
    private boolean held;

    BlockCursor(BlockStore store, long[] keys, boolean training, int batchRows, int batchRatings) {
        this.store = store;
        this.keys = keys;
        this.training = training;
        this.batchRows = batchRows;
        this.batchRatings = batchRatings;
    }

    /** Refills {@code batch} with the next blocks; false when the epoch has none left. */
    boolean fill(Batch batch) throws Exception {
        batch.clear();
        while (true) {
            if (!held) {
                if (next == keys.length) {
                    break;
                }
                key = keys[next++];
                store.select(key);
                block = store.block();
                params = store.params();
                held = true;
            }
            int rows = training ? block.trainRows() : block.evalRows();
            int ratings = training ? block.cols.length : block.evalRatings();
            if (batch.blocks > 0 && (batch.blockRows + rows > batchRows || batch.blockRatings + ratings > batchRatings)) {
                break;
            }
            batch.addBlock(key, block, params, rows, ratings);
            held = false;
        }
        return batch.blocks > 0;
    }

    /** Blocks read so far. */
    int position() {
        return next;
    }
}
