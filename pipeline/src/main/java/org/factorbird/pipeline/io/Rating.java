package org.factorbird.pipeline.io;

/**
 * One input record: a training or held-out rating, a report of a skipped line, or (--ids string) the text of a
 * row or column id. Flink serializes it with {@link RatingSerializer} (no reflection, no Kryo).
 */
@org.apache.flink.api.common.typeinfo.TypeInfo(RatingSerializer.TypeFactory.class)
public class Rating {

    public static final byte TRAIN = 0;
    public static final byte TEST = 1;
    /** A skipped input line: {@link #note} says which and why; row, col and value are meaningless. */
    public static final byte BAD = 2;
    /** A training line set aside for validation (--validation): never trained on, used for every choice. */
    public static final byte VALIDATION = 3;
    /** --ids string: {@link #note} is the text of row id {@link #row} (its key). */
    public static final byte ROW_NAME = 4;
    /**
     * --ids string: {@link #note} is the text of column id {@link #col}; {@link #row} holds the same key, so that
     * keying by row sends every column's names to one subtask, which writes that column.
     */
    public static final byte COLUMN_NAME = 5;

    public long row;
    public long col;
    public float value;
    /** w_ij of the weighted loss; 1 unless the input has a weight column. */
    public float weight = 1f;
    public byte kind;
    /** For {@link #BAD}: "file:line: reason"; for names: the id's text. */
    public String note;

    public Rating() {}

    public Rating(long row, long col, float value, byte kind) {
        this.row = row;
        this.col = col;
        this.value = value;
        this.kind = kind;
    }

    public Rating(long row, long col, float value, float weight, byte kind) {
        this(row, col, value, kind);
        this.weight = weight;
    }

    public static Rating bad(String note) {
        Rating r = new Rating(-1, -1, 0f, BAD);
        r.note = note;
        return r;
    }

    /** The text {@code name} of a row ({@link #ROW_NAME}) or column ({@link #COLUMN_NAME}) key. */
    public static Rating name(byte kind, long key, String name) {
        if (kind != ROW_NAME && kind != COLUMN_NAME) {
            throw new IllegalArgumentException("kind must be ROW_NAME or COLUMN_NAME but was " + kind);
        }
        Rating r = new Rating(key, key, 0f, kind);
        r.note = name;
        return r;
    }

    /** A row or column name rather than a rating or a bad line. */
    public boolean isName() {
        return kind == ROW_NAME || kind == COLUMN_NAME;
    }

    @Override
    public String toString() {
        if (isName()) {
            return (kind == ROW_NAME ? "ROW_NAME(" : "COLUMN_NAME(") + row + "," + note + ")";
        }
        return kind == BAD ? "BAD(" + note + ")" : (kind == TEST ? "TEST(" : "TRAIN(") + row + "," + col + "," + value + ")";
    }
}
