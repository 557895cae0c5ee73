package org.factorbird.pipeline.train;

import java.util.Arrays;

import org.factorbird.ps.Hashing;

/**
 * The distinct columns of one subtask's ratings (training and held-out), numbered 0, 1, 2, ... in order of first
 * sight while packing: blocks store each rating's column as its number here (4 bytes instead of the 8 of its id),
 * and a batch finds a column's place in its pull with one array read per rating ({@link BatchColumns}) instead
 * of a hash probe of the 64-bit id per rating and epoch, which was a sixth of a training run's samples.
 *
 * <p>While packing, the numbering is an open-addressing table whose id and number share one slot of a
 * {@code long[]} pair (one cache line per probe: this lookup, once per rating, was most of the packing's time
 * with three separate arrays). {@link #freeze} drops it: then 8 bytes per column of the subtask remain (at most one
 * per rating, usually far fewer), with either state backend. Numbers are meaningful within one attempt only: every
 * attempt that loads the input packs the blocks, and numbers the columns, again.
 */
final class ColumnIds {

    private static final long FREE = -1L;

    /** Pairs (id, number) per slot; null once frozen. */
    private long[] table = newTable(1 << 12);
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
        if (2 * (size + 1) > mask + 1) { // at most half full
            grow();
            return numberOf(id);
        }
        table[2 * slot] = id;
        table[2 * slot + 1] = size;
        if (size == ids.length) {
            ids = Arrays.copyOf(ids, size * 2);
        }
        ids[size] = id;
        return size++;
    }

    private void grow() {
        int slots = 2 * (mask + 1);
        table = newTable(slots);
        mask = slots - 1;
        for (int n = 0; n < size; n++) {
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
