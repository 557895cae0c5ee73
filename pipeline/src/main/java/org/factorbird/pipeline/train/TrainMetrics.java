package org.factorbird.pipeline.train;

import java.util.Arrays;

import org.apache.flink.metrics.MetricGroup;

/**
 * The operator's Flink metrics, group {@code factorbird}: gauges written by the task thread after every epoch and
 * read by the reporters. In a grid they follow the best model so far. {@code epochLines} (a string: reporters that
 * take numbers only skip it) holds the progress lines of the last {@link #KEPT_LINES} epochs ("epoch TAB line"
 * each, newline-separated), so that a client
 * polling the REST API ({@code factorbird follow}) prints every epoch even when several pass between two polls.
 * {@code linesRead} (every 64k lines) and {@code inputDone} (0, then 1) let a client sum the load's progress over
 * the subtasks.
 */
final class TrainMetrics {

    private volatile int epoch;
    private volatile double ratingsPerSecond;
    private volatile double trainRmse = Double.NaN;
    private volatile double testRmse = Double.NaN;
    private volatile long skippedLines;
    private volatile long psBytes;
    private volatile long psRequests;
    private volatile double ndcg = Double.NaN;
    private volatile String epochLines = "";
    private volatile long linesRead;
    private volatile int inputDone;
    private final java.util.ArrayDeque<String> lines = new java.util.ArrayDeque<>();

    /** Epoch lines the {@code epochLines} gauge keeps. */
    static final int KEPT_LINES = 200;

    TrainMetrics(MetricGroup operatorGroup) {
        MetricGroup g = operatorGroup.addGroup("factorbird");
        g.gauge("epoch", () -> epoch);
        g.gauge("ratingsPerSecond", () -> ratingsPerSecond);
        g.gauge("trainRmse", () -> trainRmse);
        g.gauge("testRmse", () -> testRmse);
        g.gauge("skippedLines", () -> skippedLines);
        g.gauge("psBytesPerEpoch", () -> psBytes);
        g.gauge("psRequestsPerEpoch", () -> psRequests);
        g.gauge("ndcg", () -> ndcg);
        g.gauge("epochLines", () -> epochLines);
        g.gauge("linesRead", () -> linesRead);
        g.gauge("inputDone", () -> inputDone);
    }

    /** Input lines this subtask has received so far (while loading, every 64k lines). */
    void reading(long lines) {
        linesRead = lines;
    }

    /** This subtask has read all of its input: {@code lines} lines. */
    void inputDone(long lines) {
        linesRead = lines;
        inputDone = 1;
    }

    void loaded(long skipped) {
        skippedLines = skipped;
    }

    /** Records epoch {@code e}; {@code line} is its progress line (the best model's in a grid). */
    void epochDone(int e, EpochMetrics lead, double[] requests, double[] bytes, String line) {
        lines.addLast(e + "\t" + line); // the epoch first: a reader prints each epoch once
        if (lines.size() > KEPT_LINES) {
            lines.removeFirst();
        }
        epochLines = String.join("\n", lines);
        epoch = e;
        ratingsPerSecond = lead.ratingsPerSecond;
        trainRmse = lead.trainRmse();
        testRmse = lead.testRmse;
        psBytes = (long) Arrays.stream(bytes).sum();
        psRequests = (long) Arrays.stream(requests).sum();
        if (!Double.isNaN(lead.ndcg())) {
            ndcg = lead.ndcg();
        }
    }
}
