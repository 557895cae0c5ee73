package org.factorbird.pipeline.train;

/**
 * One evaluation run after every epoch over this subtask's rows. Each reports a fixed number of partial sums;
 * {@link EpochRunner} adds them up over all subtasks in the epoch's "evaluated" barrier, so an evaluator's
 * metrics must be ratios of sums (RMSE from squared errors and counts, precision from hits and rows, ...).
 * {@link HeldOutEvaluator} is the one every run has; further metrics plug in beside it.
 */
interface Evaluator {

    /** Number of sums this evaluator reports. */
    int size();

    /** Adds this subtask's sums after {@code epoch} into {@code sums[from, from + size())}. */
    void evaluate(long[] blockKeys, Batch batch, int epoch, double[] sums, int from) throws Exception;
}
