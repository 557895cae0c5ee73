package org.factorbird.pipeline.train;

import java.util.List;

import org.apache.flink.api.common.state.ValueState;
import org.factorbird.pipeline.TrainConfig;
import org.factorbird.ps.TableSpec;

/**
 * A subtask's rows in keyed state, packed in blocks ({@link RowBlock}: up to {@link #BLOCK_ROWS} rows per state
 * value) with one value of their parameters ({@code width} floats per row), both under the block's first row key.
 *
 * <p>Heap state hands out the live objects, so parameters trained in place need no write-back; RocksDB serializes
 * every access, so {@link #writeBack} stores them again there.
 */
final class BlockStore {

    /** Rows per keyed-state value at most. */
    static final int BLOCK_ROWS = 256;
    /** Salt of the rows' initial values, so that row i and column i do not start equal. */
    static final long ROW_SEED_SALT = 0x726F777321L;

    /** Sets the current key of the operator's keyed state (the operator's {@code setCurrentKey}). */
    @FunctionalInterface
    interface KeySelector {
        void select(long key);
    }

    /** Receives a row with training ratings: its key and its parameters at {@code params[offset..]}. */
    @FunctionalInterface
    interface RowVisitor {
        void accept(long key, float[] params, int offset) throws Exception;
    }

    private final ValueState<RowBlock> blocks;
    private final ValueState<float[]> params;
    private final KeySelector keys;
    private final boolean heap;
    private final int width;
    private final long rowSeed;
    private final List<TableSpec.Segment> segments;
    /** The columns of the blocks' ratings, numbered while packing (see {@link RowBlock#cols}). */
    private final ColumnIds columns = new ColumnIds();
    /** Bytes of the blocks and parameters stored so far (what the backend holds, before its overheads). */
    private long bytes;

    BlockStore(ValueState<RowBlock> blocks, ValueState<float[]> params, KeySelector keys, boolean heap,
            TrainConfig cfg) {
        this.blocks = blocks;
        this.params = params;
        this.keys = keys;
        this.heap = heap;
        this.width = cfg.width();
        this.rowSeed = cfg.seed ^ ROW_SEED_SALT;
        this.segments = cfg.segments();
    }

    /** How this subtask's blocks name their columns. */
    ColumnIds columns() {
        return columns;
    }

    boolean heap() {
        return heap;
    }

    long bytes() {
        return bytes;
    }

    /**
     * Stores a block with its rows' initial parameters (rows without training ratings keep zeros: mu + b_j
     * predicts for them); returns the key it is stored under.
     */
    long store(RowBlock block) throws Exception {
        float[] p = new float[block.rows() * width];
        for (int r = 0; r < block.rows(); r++) {
            if (block.trainCount(r) > 0) {
                TableSpec.init(rowSeed, segments, block.keys[r], p, r * width);
            }
        }
        long key = block.keys[0];
        bytes += block.bytes() + 4L * p.length;
        keys.select(key);
        blocks.update(block);
        params.update(p);
        return key;
    }

    /** Makes {@code key}'s block current for {@link #block} and {@link #params}. */
    void select(long key) {
        keys.select(key);
    }

    RowBlock block() throws Exception {
        return blocks.value();
    }

    float[] params() throws Exception {
        return params.value();
    }

    /** Stores trained parameters of block {@code key} again where the backend serializes (a no-op on heap). */
    void writeBack(long key, float[] p) throws Exception {
        if (!heap) {
            keys.select(key);
            params.update(p);
        }
    }

    /** Visits the rows with training ratings of the given blocks (rows seen only in held-out data have no factors). */
    void forEachTrainedRow(long[] blockKeys, RowVisitor visitor) throws Exception {
        for (long bk : blockKeys) {
            Interrupts.check();
            keys.select(bk);
            RowBlock block = blocks.value();
            float[] p = params.value();
            for (int r = 0; r < block.rows(); r++) {
                if (block.trainCount(r) > 0) {
                    visitor.accept(block.keys[r], p, r * width);
                }
            }
        }
    }
}
