package org.factorbird.pipeline.train;

/**
 * One row's ratings, packed once at end of input as primitive arrays (one keyed-state value per row, never one
 * per rating): training columns, values and weights (null when every weight is 1), the indices of the training
 * ratings in the fixed loss sample, and the held-out columns and values. A Flink POJO.
 */
public class RowData {

    public long[] cols;
    public float[] vals;
    public float[] weights;
    public int[] sample;
    public long[] testCols;
    public float[] testVals;

    public RowData() {}

    public RowData(long[] cols, float[] vals, float[] weights, int[] sample, long[] testCols, float[] testVals) {
        this.cols = cols;
        this.vals = vals;
        this.weights = weights;
        this.sample = sample;
        this.testCols = testCols;
        this.testVals = testVals;
    }

    public int trainCount() {
        return cols == null ? 0 : cols.length;
    }

    public int testCount() {
        return testCols == null ? 0 : testCols.length;
    }

    public int sampleCount() {
        return sample == null ? 0 : sample.length;
    }
}
