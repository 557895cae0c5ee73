package org.factorbird.pipeline.train;

import org.factorbird.ps.protocol.Protocol;

/**
 * One evaluation after every epoch (or the epochs it is due) over this subtask's rows. Each reports a fixed number
 * of values; {@link EpochRunner} combines them over all subtasks in the epoch's "evaluated" barrier by
 * {@link #op} (sums unless the evaluator says otherwise), so an evaluator's metrics are ratios of sums (RMSE from
 * squared errors and counts, precision from hits and rows, ...) or mergeable sketches (maxima).
 * {@link HeldOutEvaluator} is the one every run has; further metrics plug in beside it.
 */
interface Evaluator {

    /** Number of values this evaluator reports. */
    int size();

    /** How value {@code i} combines over subtasks: {@link Protocol#AGG_SUM} unless the evaluator says otherwise. */
    default byte op(int i) {
        return Protocol.AGG_SUM;
    }

    /**
     * Adds this subtask's sums after {@code epoch} into {@code sums[from, from + size())}; {@code batches} are the
     * subtask's two batches, free for the evaluator to fill (to overlap one's pull with the other's work).
     */
    void evaluate(long[] blockKeys, Batch[] batches, int epoch, double[] sums, int from) throws Exception;
}
