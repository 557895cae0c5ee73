package org.factorbird.pipeline.train;

/**
 * One row's ratings, packed once at end of input: training columns and values, and held-out columns and values,
 * as primitive arrays (one keyed-state value per row, never one per rating). A Flink POJO.
 */
public class RowData {

    public long[] cols;
    public float[] vals;
    public long[] testCols;
    public float[] testVals;

    public RowData() {}

    public RowData(long[] cols, float[] vals, long[] testCols, float[] testVals) {
        this.cols = cols;
        this.vals = vals;
        this.testCols = testCols;
        this.testVals = testVals;
    }

    public int trainCount() {
        return cols == null ? 0 : cols.length;
    }

    public int testCount() {
        return testCols == null ? 0 : testCols.length;
    }
}
