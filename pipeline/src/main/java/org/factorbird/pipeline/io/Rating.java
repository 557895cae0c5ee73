package org.factorbird.pipeline.io;

/**
 * One input record: a training or held-out rating, or a report of a skipped line. A Flink POJO (public fields,
 * no-arg constructor) so Flink serializes it without Kryo.
 */
public class Rating {

    public static final byte TRAIN = 0;
    public static final byte TEST = 1;
    /** A skipped input line: {@link #note} says which and why; row, col and value are meaningless. */
    public static final byte BAD = 2;
    /** A training line set aside for validation (--validation): never trained on, used for every choice. */
    public static final byte VALIDATION = 3;

    public long row;
    public long col;
    public float value;
    /** w_ij of the weighted loss; 1 unless the input has a weight column. */
    public float weight = 1f;
    public byte kind;
    /** Only for {@link #BAD}: "file:line: reason". */
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

    @Override
    public String toString() {
        return kind == BAD ? "BAD(" + note + ")" : (kind == TEST ? "TEST(" : "TRAIN(") + row + "," + col + "," + value + ")";
    }
}
