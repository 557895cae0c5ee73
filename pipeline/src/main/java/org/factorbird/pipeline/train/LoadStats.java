package org.factorbird.pipeline.train;

import org.factorbird.ps.protocol.Protocol;

/**
 * What loading learned about the ratings: one subtask's (from {@link RowPacker}) or, after
 * {@link Coordinator#agreeOnLoad}, the whole job's. Sums and counts add up over subtasks; the range is the
 * union; {@code loadSeconds} and {@code stateBytes} are the slowest and the largest subtask's.
 *
 * @param sum weighted sum of the training ratings (mu = sum / weightSum)
 * @param trainRows rows with at least one training rating
 * @param testOnlyRows rows with held-out ratings only
 * @param min smallest training rating of non-zero weight (the range predictions are clipped to)
 * @param loadSeconds from the operator's start to the end of packing (reading, parsing, keying, packing rows)
 * @param stateBytes bytes of packed blocks and parameters in keyed state
 */
record LoadStats(double sum, double weightSum, long trainRatings, long testRatings, long skipped, long trainRows,
        long testOnlyRows, float min, float max, double loadSeconds, long stateBytes, long validationRatings) {

    private static final byte SUM = Protocol.AGG_SUM;
    /** How {@link Coordinator#agreeOnLoad} combines each field, in {@link #toArray} order. */
    static final byte[] OPS = {SUM, SUM, SUM, SUM, SUM, SUM, SUM, Protocol.AGG_MIN, Protocol.AGG_MAX,
            Protocol.AGG_MAX, Protocol.AGG_MAX, SUM};

    double[] toArray() {
        return new double[] {sum, weightSum, trainRatings, testRatings, skipped, trainRows, testOnlyRows, min, max,
                loadSeconds, stateBytes, validationRatings};
    }

    static LoadStats fromArray(double[] a) {
        return new LoadStats(a[0], a[1], (long) a[2], (long) a[3], (long) a[4], (long) a[5], (long) a[6],
                (float) a[7], (float) a[8], a[9], (long) a[10], (long) a[11]);
    }

    /** The same numbers with the load's duration and the malformed lines counted by the operator. */
    LoadStats with(double seconds, long skippedLines) {
        return new LoadStats(sum, weightSum, trainRatings, testRatings, skippedLines, trainRows, testOnlyRows, min,
                max, seconds, stateBytes, validationRatings);
    }

    /** The weighted mean of the training ratings. */
    float mu() {
        return (float) (sum / weightSum);
    }

    /** The same numbers with no global mean (mu = 0): implicit feedback predicts b_i + b_j + u_i . v_j. */
    LoadStats withoutMean() {
        return new LoadStats(0, weightSum, trainRatings, testRatings, skipped, trainRows, testOnlyRows, min, max,
                loadSeconds, stateBytes, validationRatings);
    }

    long lines() {
        return trainRatings + testRatings + validationRatings + skipped;
    }
}
