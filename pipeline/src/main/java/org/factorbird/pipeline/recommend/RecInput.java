package org.factorbird.pipeline.recommend;

/**
 * What the recommend and predict operators receive, keyed by row (or, in predict's second stage, by column): a
 * model's factor line, a pair to exclude or to predict, or a row to recommend for. A Flink POJO.
 */
public class RecInput {

    /** A factor line: {@code id} and {@code values = [bias, f1 .. fk]}. */
    public static final byte FACTORS = 1;
    /** A (row, column) pair: excluded from recommendations, or to predict. */
    public static final byte PAIR = 2;
    /** A row to recommend for (--rows). */
    public static final byte WANTED = 3;
    /** Predict's second stage: a pair with its row's parameters (empty when the row is unknown). */
    public static final byte PAIR_WITH_ROW = 4;

    public byte kind;
    public long row;
    public long col;
    public float[] values;
    /** With string ids: the text of {@link #row} (of a factor line: of its id), else null. */
    public String name;
    /** With string ids: the text of {@link #col}, else null. */
    public String colName;

    public RecInput() {}

    public RecInput(byte kind, long row, long col, float[] values) {
        this.kind = kind;
        this.row = row;
        this.col = col;
        this.values = values;
    }

    /** This input with the texts of its ids (string ids). */
    public RecInput named(String name, String colName) {
        this.name = name;
        this.colName = colName;
        return this;
    }

    /** The key of the stage that groups by row. */
    public long rowKey() {
        return row;
    }

    /** The key of the stage that groups by column: factor lines of columns carry their id in {@code row}. */
    public long colKey() {
        return kind == FACTORS ? row : col;
    }
}
