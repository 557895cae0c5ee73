package org.factorbird.pipeline.stream;

import org.apache.flink.metrics.MetricGroup;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The streaming operator's Flink metrics, group {@code factorbird}: totals and the prequential window's sums (a
 * client sums them over the subtasks: RMSE = sqrt(sum of squares / count)), batches and the last export.
 */
final class StreamMetrics {

    private static final Logger LOG = LoggerFactory.getLogger(StreamMetrics.class);
    private static final int LOGGED_BAD_LINES = 20;

    private final Prequential prequential;
    private volatile long skipped;
    private volatile long batches;
    private volatile double trainSeconds;
    private volatile String lastExport = "";

    StreamMetrics(MetricGroup operatorGroup, Prequential prequential) {
        this.prequential = prequential;
        MetricGroup g = operatorGroup.addGroup("factorbird");
        g.gauge("streamRatings", prequential::total);
        g.gauge("windowCount", prequential::windowCount);
        g.gauge("windowSquares", prequential::windowSquares);
        g.gauge("windowAbsolutes", prequential::windowAbsolutes);
        g.gauge("totalSquares", prequential::totalSquares);
        g.gauge("skippedLines", () -> skipped);
        g.gauge("batches", () -> batches);
        g.gauge("trainSeconds", () -> trainSeconds);
        g.gauge("lastExport", () -> lastExport);
    }

    /** A malformed line, skipped: counted, and the first few logged with file and line. */
    void skipped(String note) {
        if (skipped < LOGGED_BAD_LINES) {
            LOG.warn("skipped a malformed line: {}", note);
        }
        skipped++;
    }

    void restoreSkipped(long n) {
        skipped = n;
    }

    void trained(int ratings, double seconds) {
        batches++;
        trainSeconds += seconds;
    }

    void exported(String dir) {
        lastExport = dir;
    }

    long skipped() {
        return skipped;
    }
}
