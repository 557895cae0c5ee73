package org.factorbird.pipeline.train;

import org.factorbird.pipeline.io.Rating;

import org.factorbird.pipeline.sgd.PrimitiveLists.FloatList;
import org.factorbird.pipeline.sgd.PrimitiveLists.IntList;
import org.factorbird.pipeline.sgd.PrimitiveLists.LongList;

/**
 * The ratings of a block of rows, packed once at end of input into flat primitive arrays: one keyed-state value
 * per block (up to {@link BlockStore#BLOCK_ROWS} rows), never one per rating, and on RocksDB not even one per
 * row. Each state access costs a JNI call, a key serialisation and a point lookup; at 10 ratings per row those
 * per-row costs were most of an epoch, so they are paid once per block instead. The block's parameters live in a
 * separate value ({@code width} floats per row, back to back), the only part written back after each epoch.
 *
 * <p>Row {@code r}'s training ratings are {@code [trainEnd[r-1], trainEnd[r])} of cols/vals/weights (weights null
 * when all are 1); its loss-sample ratings are the indices {@code sample[sampleEnd[r-1], sampleEnd[r])} into the
 * same arrays; its held-out ratings {@code [testEnd[r-1], testEnd[r])} of testCols/testVals, each a test rating
 * or, where {@code testKinds[i]} is {@link Rating#VALIDATION}, a validation one (testKinds null: all test).
 * A Flink POJO.
 */
public class RowBlock {

    public long[] keys;
    public int[] trainEnd;
    /** The column of each training rating as its number in the subtask's {@link ColumnIds}. */
    public int[] cols;
    public float[] vals;
    public float[] weights;
    public int[] sampleEnd;
    public int[] sample;
    public int[] testEnd;
    /** The column of each held-out rating as its number in the subtask's {@link ColumnIds}. */
    public int[] testCols;
    public float[] testVals;
    public byte[] testKinds;

    public RowBlock() {}

    public int rows() {
        return keys.length;
    }

    int trainFrom(int r) {
        return r == 0 ? 0 : trainEnd[r - 1];
    }

    int trainCount(int r) {
        return trainEnd[r] - trainFrom(r);
    }

    int sampleFrom(int r) {
        return r == 0 ? 0 : sampleEnd[r - 1];
    }

    int testFrom(int r) {
        return r == 0 ? 0 : testEnd[r - 1];
    }

    /** Whether row r has anything to evaluate: held-out ratings or sampled training ratings. */
    boolean evaluated(int r) {
        return testEnd[r] > testFrom(r) || sampleEnd[r] > sampleFrom(r);
    }

    /** Rows with training ratings. */
    int trainRows() {
        int n = 0;
        for (int r = 0; r < keys.length; r++) {
            if (trainCount(r) > 0) {
                n++;
            }
        }
        return n;
    }

    /** Rows with held-out or sampled ratings. */
    int evalRows() {
        int n = 0;
        for (int r = 0; r < keys.length; r++) {
            if (evaluated(r)) {
                n++;
            }
        }
        return n;
    }

    /** Held-out plus sampled training ratings. */
    int evalRatings() {
        return testCols.length + sample.length;
    }

    /** Bytes of the arrays (their contents: the serialised size, give or take a few length fields). */
    long bytes() {
        return 8L * keys.length + 4L * (trainEnd.length + sampleEnd.length + testEnd.length + sample.length)
                + 8L * cols.length + (weights == null ? 0 : 4L * weights.length) + 8L * testCols.length;
    }

    /** Collects rows rating by rating, then {@link #build}s the block; reusable. */
    static final class Builder {
        private final boolean weighted;
        private final ColumnIds ids;
        private final LongList keys = new LongList(256);
        private final IntList trainEnd = new IntList(256);
        private final IntList cols = new IntList(4096);
        private final FloatList vals = new FloatList(4096);
        private final FloatList weights = new FloatList(4096);
        private final IntList sampleEnd = new IntList(256);
        private final IntList sample = new IntList(64);
        private final IntList testEnd = new IntList(256);
        private final IntList testCols = new IntList(512);
        private final FloatList testVals = new FloatList(512);
        private byte[] testKinds = new byte[512];
        private boolean anyValidation;
        private int trainRows;

        /** Numbers columns in {@code ids}: one instance per subtask, shared by all its blocks. */
        Builder(boolean weighted, ColumnIds ids) {
            this.weighted = weighted;
            this.ids = ids;
        }

        /**
         * Adds a training rating of the current row; {@code sampled} puts it in the loss sample. Returns the
         * column's number.
         */
        int train(long col, float value, float weight, boolean sampled) {
            if (sampled) {
                sample.add(cols.n);
            }
            int number = ids.numberOf(col);
            cols.add(number);
            vals.add(value);
            if (weighted) {
                weights.add(weight);
            }
            return number;
        }

        /** A held-out rating of the current row: test, or validation when {@code validation}. */
        void test(long col, float value, boolean validation) {
            if (testCols.n == testKinds.length) {
                testKinds = java.util.Arrays.copyOf(testKinds, testKinds.length * 2);
            }
            testKinds[testCols.n] = validation ? Rating.VALIDATION : Rating.TEST;
            anyValidation |= validation;
            testCols.add(ids.numberOf(col));
            testVals.add(value);
        }

        /** Closes the current row under {@code key}; returns its training ratings. */
        int endRow(long key) {
            int from = trainEnd.n == 0 ? 0 : trainEnd.a[trainEnd.n - 1];
            if (cols.n > from) {
                trainRows++;
            }
            keys.add(key);
            trainEnd.add(cols.n);
            sampleEnd.add(sample.n);
            testEnd.add(testCols.n);
            return cols.n - from;
        }

        int rows() {
            return keys.n;
        }

        /** Rows of the block so far that have training ratings. */
        int trainRows() {
            return trainRows;
        }

        int trainRatings() {
            return cols.n;
        }

        int ratings() {
            return cols.n + testCols.n;
        }

        RowBlock build() {
            RowBlock b = new RowBlock();
            b.keys = keys.toArray();
            b.trainEnd = trainEnd.toArray();
            b.cols = cols.toArray();
            b.vals = vals.toArray();
            b.weights = weighted ? weights.toArray() : null;
            b.sampleEnd = sampleEnd.toArray();
            b.sample = sample.toArray();
            b.testEnd = testEnd.toArray();
            b.testCols = testCols.toArray();
            b.testVals = testVals.toArray();
            b.testKinds = anyValidation ? java.util.Arrays.copyOf(testKinds, testCols.n) : null;
            anyValidation = false;
            trainRows = 0;
            keys.clear();
            trainEnd.clear();
            cols.clear();
            vals.clear();
            weights.clear();
            sampleEnd.clear();
            sample.clear();
            testEnd.clear();
            testCols.clear();
            testVals.clear();
            return b;
        }
    }
}
