package org.factorbird.pipeline.train;

import java.util.Arrays;

import org.factorbird.ps.Hashing;

/**
 * The distinct columns of one subtask's ratings (training and held-out), numbered 0, 1, 2, ... in order of first
 * sight while packing: blocks store each rating's column as its number here (4 bytes instead of the 8 of its id),
 * and a batch finds a column's place in its pull with one array read per rating ({@link BatchColumns}) instead
 * of a hash probe of the 64-bit id per rating and epoch, which was a sixth of a training run's samples.
 *
 * <p>While packing, ids below {@link #directLimit()} (dense integer ids, as most data sets number their items) are
 * numbered through a plain array indexed by the id; other ids (sparse or hashed ones) through an open-addressing
 * table whose id and number share one slot of a {@code long[]} pair (one cache line per probe). This lookup, once
 * per rating, was half the packing's time at 100M ratings with the table alone: 1M columns fill 32 MB of slots,
 * and nearly every probe missed the caches; the array holds them in 4 MB. {@link #freeze} drops both: then 8 bytes
 * per column of the subtask remain (at most one per rating, usually far fewer), with either state backend. Numbers
 * are meaningful within one attempt only: every attempt that loads the input packs the blocks, and numbers the
 * columns, again.
 */
final class ColumnIds {

    private static final long FREE = -1L;

    /**
     * Ids of the array's reach at most, 2^26 (256 MB of ints) at the very most: {@link RowPacker} sets it from the
     * ratings it packs, so that the array never outweighs the blocks (8 bytes per rating and more).
     */
    static final int MAX_DIRECT = 1 << 26;

    /** Pairs (id, number) per slot; null once frozen. */
    private long[] table = newTable(1 << 12);
    /** Number + 1 of each id below {@link #directBelow} seen so far (0: not yet); grown by doubling. */
    private int[] direct = new int[0];
    /** Ids below this are numbered through {@link #direct}; the others through {@link #table}. */
    private int directBelow;
    /** Ids in {@link #table}. */
    private int hashed;
    private int mask = (1 << 12) - 1;
    private long[] ids = new long[1024];
    private int size;
    private int[] marks = new int[0];

    private static long[] newTable(int slots) {
        long[] t = new long[2 * slots];
        Arrays.fill(t, FREE);
        return t;
    }

    /** The number of column {@code id} (>= 0), assigning the next one on first sight. Only before {@link #freeze}. */
    int numberOf(long id) {
        if (table == null) {
            throw new IllegalStateException("column ids are frozen: packing is over");
        }
        if (id < 0) {
            throw new IllegalArgumentException("column ids are >= 0 but got " + id);
        }
        if (id < directBelow) {
            int i = (int) id;
            if (i >= direct.length) {
                direct = Arrays.copyOf(direct, (int) Math.min(directBelow, Math.max(2L * direct.length, i + 1L)));
            }
            int m = direct[i];
            if (m > 0) {
                return m - 1;
            }
            direct[i] = size + 1;
            return add(id);
        }
        int slot = (int) Hashing.mix64(id) & mask;
        while (true) {
            long k = table[2 * slot];
            if (k == id) {
                return (int) table[2 * slot + 1];
            }
            if (k == FREE) {
                break;
            }
            slot = (slot + 1) & mask;
        }
        if (2 * (hashed + 1) > mask + 1) { // at most half full
            grow();
            return numberOf(id);
        }
        table[2 * slot] = id;
        table[2 * slot + 1] = size;
        hashed++;
        return add(id);
    }

    /** Gives {@code id} the next number. */
    private int add(long id) {
        if (size == ids.length) {
            ids = Arrays.copyOf(ids, size * 2);
        }
        ids[size] = id;
        return size++;
    }

    /**
     * Numbers ids below {@code limit} (at most {@link #MAX_DIRECT}) through an array indexed by the id from now on;
     * before the first {@link #numberOf} only, since an id must always take the same path.
     */
    void directLimit(long limit) {
        if (size > 0) {
            throw new IllegalStateException("the direct range is set before the first column is numbered, but "
                    + size + " are");
        }
        if (limit < 0) {
            throw new IllegalArgumentException("limit must be >= 0 but was " + limit);
        }
        directBelow = (int) Math.min(limit, MAX_DIRECT);
    }

    /** Ids below this are numbered through the array (see {@link #directLimit(long)}). */
    int directLimit() {
        return directBelow;
    }

    private void grow() {
        int slots = 2 * (mask + 1);
        table = newTable(slots);
        mask = slots - 1;
        for (int n = 0; n < size; n++) {
            if (ids[n] < directBelow) {
                continue;
            }
            int slot = (int) Hashing.mix64(ids[n]) & mask;
            while (table[2 * slot] != FREE) {
                slot = (slot + 1) & mask;
            }
            table[2 * slot] = ids[n];
            table[2 * slot + 1] = n;
        }
    }

    /** Ends the numbering: keeps the ids by number and drops the hash table. */
    void freeze() {
        if (table != null) {
            ids = Arrays.copyOf(ids, size);
            table = null;
            direct = null;
        }
    }

    /** The id of column number {@code n}. */
    long id(int n) {
        return ids[n];
    }

    /** The ids by number; only the first {@link #size} are columns. */
    long[] ids() {
        return ids;
    }

    /**
     * Scratch for {@link BatchColumns}: an int per column number, all 0 between two batch layouts. Grown to hold
     * number {@code n} (and every column numbered so far).
     */
    int[] marks(int n) {
        if (n >= marks.length) {
            marks = Arrays.copyOf(marks, Math.max(n + 1, size));
        }
        return marks;
    }

    int size() {
        return size;
    }
}
