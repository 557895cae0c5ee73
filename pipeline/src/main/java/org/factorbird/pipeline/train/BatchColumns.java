package org.factorbird.pipeline.train;

import java.util.Arrays;

/**
 * The distinct columns of one batch, indexed 0, 1, 2, ... in order of first sight: the order of its pull and
 * push. Columns arrive as their subtask-wide numbers ({@link ColumnIds}), so finding a column's index is one read
 * of a dense int array ({@link ColumnIds#marks}) instead of a hash probe of its 64-bit id per rating and epoch.
 * That array is shared by the subtask's batches, which are laid out one at a time: {@link #release} clears the
 * marks of this batch's columns when its layout is done, so it costs 4 bytes per column of the subtask in all.
 */
final class BatchColumns {

    private final ColumnIds ids;
    private long[] keys = new long[1024];
    private int[] numbers = new int[1024];
    private int size;
    /** Whether this batch's marks are set (between its first {@link #indexOf} and {@link #release}). */
    private boolean marking;

    BatchColumns(ColumnIds ids) {
        this.ids = ids;
    }

    /** Empties the batch (releasing its marks if a failed layout left them). */
    void clear() {
        release();
        size = 0;
    }

    int size() {
        return size;
    }

    /** Columns numbered in the subtask so far: no batch has more. */
    int subtaskColumns() {
        return ids.size();
    }

    /** The ids of the batch's columns by index: {@code keys()[i]} for i < {@link #size}. */
    long[] keys() {
        return keys;
    }

    /** The batch index of column number {@code n}, adding it with the next index if new to this batch. */
    int indexOf(int n) {
        int[] marks = ids.marks(n);
        int m = marks[n]; // index + 1, or 0 when not (yet) in this batch
        if (m > 0) {
            return m - 1;
        }
        if (size == keys.length) {
            keys = Arrays.copyOf(keys, size * 2);
            numbers = Arrays.copyOf(numbers, size * 2);
        }
        keys[size] = ids.id(n);
        numbers[size] = n;
        marks[n] = ++size;
        marking = true;
        return size - 1;
    }

    /** Ends this batch's layout: clears its marks for the next batch's (the indices stay valid). */
    void release() {
        if (marking) {
            int[] marks = ids.marks(0);
            for (int i = 0; i < size; i++) {
                marks[numbers[i]] = 0;
            }
            marking = false;
        }
    }
}
