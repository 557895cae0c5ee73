package org.factorbird.pipeline.train;

import org.factorbird.pipeline.sgd.LongIntMap;

/**
 * The distinct columns of one subtask's ratings (training and held-out), numbered 0, 1, 2, ... in order of first
 * sight while packing: blocks store each rating's column as its number here (4 bytes instead of the 8 of its id),
 * and a batch finds a column's place in its pull with one array read per rating ({@link BatchColumns}) instead
 * of a hash probe of the 64-bit id per rating and epoch, which was a sixth of a training run's samples.
 *
 * <p>Costs 8 bytes of heap per distinct column of the subtask after {@link #freeze} (at most the subtask's
 * ratings' count, usually far fewer), with either state backend. Numbers are only meaningful within one
 * attempt: the blocks are packed again, and the numbers assigned again, by every attempt that loads the input.
 */
final class ColumnIds {

    private LongIntMap index = new LongIntMap(1024);
    private long[] ids;
    private int[] marks = new int[0];

    /** The number of column {@code id}, assigning the next one on first sight. Only before {@link #freeze}. */
    int numberOf(long id) {
        if (index == null) {
            throw new IllegalStateException("column ids are frozen: packing is over");
        }
        return index.indexOf(id);
    }

    /** Ends the numbering: keeps the ids by number and drops the hash index. */
    void freeze() {
        if (index != null) {
            ids = java.util.Arrays.copyOf(index.keys(), index.size());
            index = null;
        }
    }

    /** The id of column number {@code n}. */
    long id(int n) {
        return index != null ? index.keys()[n] : ids[n];
    }

    /** The ids by number; only the first {@link #size} are columns. */
    long[] ids() {
        return index != null ? index.keys() : ids;
    }

    /**
     * Scratch for {@link BatchColumns}: an int per column number, all 0 between two batch layouts. Grown to hold
     * number {@code n} (and every column numbered so far).
     */
    int[] marks(int n) {
        if (n >= marks.length) {
            marks = java.util.Arrays.copyOf(marks, Math.max(n + 1, size()));
        }
        return marks;
    }

    int size() {
        return index != null ? index.size() : ids.length;
    }
}
