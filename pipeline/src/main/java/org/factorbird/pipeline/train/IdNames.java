package org.factorbird.pipeline.train;

import java.util.Arrays;

import org.apache.flink.api.common.state.ValueState;
import org.factorbird.pipeline.io.Rating;
import org.factorbird.pipeline.sgd.PrimitiveLists.LongList;

/**
 * The texts of a subtask's string ids (--ids string), in keyed state under their keys: its rows' (which it
 * trains) and the columns whose names keying by column key sends it (which it writes). Every name that arrives
 * is compared with the one its key already has, so two ids with one key stop the run instead of sharing
 * parameters.
 */
final class IdNames {

    private final ValueState<String> rows;
    private final ValueState<String> columns;
    private final BlockStore.KeySelector keys;
    /** The keys of this subtask's columns, each once. */
    private final LongList columnKeys = new LongList(1024);

    IdNames(ValueState<String> rows, ValueState<String> columns, BlockStore.KeySelector keys) {
        this.rows = rows;
        this.columns = columns;
        this.keys = keys;
    }

    /**
     * Records {@code name} ({@link Rating#ROW_NAME} or {@link Rating#COLUMN_NAME}); the current key must be
     * {@code name.row}, as it is in {@code processElement} after keying by row.
     *
     * @throws IllegalStateException naming both ids when another id already has this key
     */
    void add(Rating name) throws Exception {
        boolean row = name.kind == Rating.ROW_NAME;
        ValueState<String> state = row ? rows : columns;
        String known = state.value();
        if (known == null) {
            state.update(name.note);
            if (!row) {
                columnKeys.add(name.col);
            }
        } else if (!known.equals(name.note)) {
            throw new IllegalStateException("--ids string: " + (row ? "row" : "column") + " ids '" + known + "' and '"
                    + name.note + "' have the same 63-bit key " + name.row + " (XXH64); rename one of them");
        }
    }

    /** The text of row {@code key}; changes the current key. */
    String row(long key) throws Exception {
        keys.select(key);
        return require(rows.value(), "row", key);
    }

    /** The text of column {@code key}; changes the current key. */
    String column(long key) throws Exception {
        keys.select(key);
        return require(columns.value(), "column", key);
    }

    /** The keys of the columns this subtask names, sorted. */
    long[] columnKeys() {
        long[] k = columnKeys.toArray();
        Arrays.sort(k);
        return k;
    }

    private static String require(String name, String what, long key) {
        if (name == null) {
            throw new IllegalStateException("no text for " + what + " key " + key + " (--ids string)");
        }
        return name;
    }
}
