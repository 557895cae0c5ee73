package org.factorbird.pipeline.train;

import java.util.Arrays;

import org.apache.flink.metrics.MetricGroup;

/**
 * The operator's Flink metrics, group {@code factorbird}: gauges written by the task thread after every epoch and
 * read by the reporters. In a grid they follow the best model so far.
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
    }

    void loaded(long skipped) {
        skippedLines = skipped;
    }

    void epochDone(int e, EpochMetrics lead, double[] requests, double[] bytes) {
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
