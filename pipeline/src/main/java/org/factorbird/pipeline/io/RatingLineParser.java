package org.factorbird.pipeline.io;

import java.nio.charset.StandardCharsets;

/**
 * Parses one text line {@code row col value [more fields]} straight from bytes, without allocating on the
 * common path. Fields are separated by commas, tabs or spaces (runs of blanks count as one separator); fields
 * after the third (timestamps, say) are ignored. Ids are non-negative 64-bit integers, or with string ids any
 * non-empty text without separators, keyed by {@link StringIds#key} (its bytes are at {@link #rowFrom} ..
 * {@link #colTo} after a parse); the value is a finite decimal number.
 *
 * <p>After {@link #parse} returns false, {@link #error()} says why in a few words.
 */
public final class RatingLineParser {

    private static final double[] POW10 = new double[23];

    static {
        POW10[0] = 1;
        for (int i = 1; i < POW10.length; i++) {
            POW10[i] = POW10[i - 1] * 10;
        }
    }

    /** 1-based field holding the weight, or 0 for none (weight 1). */
    private final int weightField;
    /** --ids string: ids are text, hashed to keys. */
    private final boolean stringIds;

    public long row;
    public long col;
    public float value;
    public float weight = 1f;
    /** Where the ids of the last parsed line are in its buffer: row at [rowFrom, rowTo), column at [colFrom, colTo). */
    public int rowFrom;
    public int rowTo;
    public int colFrom;
    public int colTo;
    private String error;
    private int pos;

    public RatingLineParser() {
        this(0);
    }

    public RatingLineParser(int weightField) {
        this(weightField, false);
    }

    public RatingLineParser(int weightField, boolean stringIds) {
        if (weightField != 0 && weightField < 4) {
            throw new IllegalArgumentException("weight field must be 0 or >= 4 but was " + weightField);
        }
        this.weightField = weightField;
        this.stringIds = stringIds;
    }

    public String error() {
        return error;
    }

    /** Parses {@code buf[from, to)} (no line terminator). */
    public boolean parse(byte[] buf, int from, int to) {
        error = null;
        pos = from;
        if (to > from && buf[to - 1] == '\r') {
            to--; // CRLF files
        }
        skipBlanks(buf, to);
        if (pos >= to) {
            error = "empty line";
            return false;
        }
        int rf = pos;
        long r = parseId(buf, to, "row id");
        int rt = pos;
        if (r < 0) {
            return false;
        }
        if (!separator(buf, to)) {
            return false;
        }
        int cf = pos;
        long c = parseId(buf, to, "column id");
        int ct = pos;
        if (c < 0) {
            return false;
        }
        if (!separator(buf, to)) {
            return false;
        }
        int start = pos;
        while (pos < to && !isSeparator(buf[pos])) {
            pos++;
        }
        if (start == pos) {
            error = "missing rating value";
            return false;
        }
        float v = parseFloat(buf, start, pos);
        if (Float.isNaN(v) && error != null) {
            return false;
        }
        if (!Float.isFinite(v)) {
            error = "rating value '" + text(buf, start, pos) + "' is not finite";
            return false;
        }
        float w = 1f;
        if (weightField > 0) {
            for (int field = 4; field <= weightField; field++) {
                if (!separator(buf, to)) {
                    error = "no column " + weightField + " for the weight";
                    return false;
                }
                int fs = pos;
                while (pos < to && !isSeparator(buf[pos])) {
                    pos++;
                }
                if (field == weightField) {
                    if (fs == pos) {
                        error = "no column " + weightField + " for the weight";
                        return false;
                    }
                    w = parseFloat(buf, fs, pos);
                    if (!(w >= 0f) || Float.isInfinite(w)) {
                        error = "weight '" + text(buf, fs, pos) + "' in column " + weightField
                                + " is not a finite number >= 0";
                        return false;
                    }
                }
            }
        }
        row = r;
        col = c;
        rowFrom = rf;
        rowTo = rt;
        colFrom = cf;
        colTo = ct;
        value = v;
        weight = w;
        return true;
    }

    private static boolean isSeparator(byte b) {
        return b == ',' || b == '\t' || b == ' ' || b == ';';
    }

    private void skipBlanks(byte[] buf, int to) {
        while (pos < to && (buf[pos] == ' ' || buf[pos] == '\t')) {
            pos++;
        }
    }

    private boolean separator(byte[] buf, int to) {
        int start = pos;
        skipBlanks(buf, to);
        if (pos < to && buf[pos] == ',') {
            pos++;
            skipBlanks(buf, to);
        } else if (pos < to && buf[pos] == ';') {
            pos++;
            skipBlanks(buf, to);
        }
        if (pos == start || pos >= to) {
            error = pos >= to ? "expected 3 fields (row, column, value) but the line ends early"
                    : "unexpected character '" + (char) buf[pos] + "' after a field";
            return false;
        }
        return true;
    }

    /** Returns the id (or the key of a string id), or -1 with {@link #error} set. */
    private long parseId(byte[] buf, int to, String what) {
        int start = pos;
        if (stringIds) {
            while (pos < to && !isSeparator(buf[pos])) {
                pos++;
            }
            if (pos == start) {
                error = "missing " + what;
                return -1;
            }
            return StringIds.key(buf, start, pos);
        }
        long v = 0;
        while (pos < to && !isSeparator(buf[pos])) {
            int d = buf[pos] - '0';
            if (d < 0 || d > 9) {
                while (pos < to && !isSeparator(buf[pos])) {
                    pos++;
                }
                error = what + " '" + text(buf, start, pos) + "' is not a non-negative integer"
                        + (hasLetter(buf, start, pos) ? " (string ids need --ids string)" : "");
                return -1;
            }
            if (v > (Long.MAX_VALUE - d) / 10) {
                while (pos < to && !isSeparator(buf[pos])) {
                    pos++;
                }
                error = what + " '" + text(buf, start, pos) + "' is larger than 2^63-1";
                return -1;
            }
            v = v * 10 + d;
            pos++;
        }
        if (pos == start) {
            error = "missing " + what;
            return -1;
        }
        return v;
    }

    /** Fast path for plain decimals ([-+]digits[.digits]); anything else goes through Float.parseFloat. */
    private float parseFloat(byte[] buf, int start, int end) {
        int i = start;
        boolean neg = false;
        if (buf[i] == '-' || buf[i] == '+') {
            neg = buf[i] == '-';
            i++;
        }
        long mant = 0;
        int digits = 0;
        int scale = 0;
        boolean dot = false;
        boolean plain = i < end;
        for (; i < end; i++) {
            byte b = buf[i];
            if (b >= '0' && b <= '9') {
                if (digits < 17) {
                    mant = mant * 10 + (b - '0');
                    digits++;
                    if (dot) {
                        scale++;
                    }
                } else if (!dot) {
                    plain = false;
                    break;
                }
            } else if (b == '.' && !dot) {
                dot = true;
            } else {
                plain = false;
                break;
            }
        }
        if (plain && digits > 0 && scale < POW10.length) {
            double d = mant / POW10[scale];
            return (float) (neg ? -d : d);
        }
        String s = text(buf, start, end);
        try {
            return Float.parseFloat(s);
        } catch (NumberFormatException e) {
            error = "rating value '" + s + "' is not a number";
            return Float.NaN;
        }
    }

    private static boolean hasLetter(byte[] buf, int from, int to) {
        for (int i = from; i < to; i++) {
            if ((buf[i] >= 'a' && buf[i] <= 'z') || (buf[i] >= 'A' && buf[i] <= 'Z')) {
                return true;
            }
        }
        return false;
    }

    private static String text(byte[] buf, int from, int to) {
        int len = Math.min(to - from, 40);
        String s = new String(buf, from, len, StandardCharsets.UTF_8);
        return len < to - from ? s + "..." : s;
    }
}
