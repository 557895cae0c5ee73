package org.factorbird.pipeline;

import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricConfig;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.reporter.MetricReporter;
import org.apache.flink.metrics.reporter.MetricReporterFactory;

/**
 * A real Flink metric reporter for tests: keeps the last value of every gauge under its scoped name, read once
 * more when the metric is removed at the end of the job.
 */
public final class CollectingReporter implements MetricReporter {

    public static final Map<String, Object> LAST = new ConcurrentHashMap<>();

    /** Forgets every value collected so far: call before each run, or a run can read an earlier run's gauge. */
    public static void reset() {
        LAST.clear();
        SEEN.clear();
    }

    /** Adds this reporter to a cluster configuration. */
    public static org.apache.flink.configuration.Configuration addTo(
            org.apache.flink.configuration.Configuration c) {
        c.setString("metrics.reporter.collect.factory.class", Factory.class.getName());
        c.setString("metrics.reporter.collect.interval", "100 ms");
        return c;
    }

    /** The last value of the gauge whose name ends with {@code suffix} on subtask 0 of the training operator. */
    public static Object find(String suffix) throws InterruptedException {
        // tasks unregister their metrics shortly after the job has finished
        long deadline = System.currentTimeMillis() + 10_000;
        while (System.currentTimeMillis() < deadline) {
            Object v = LAST.entrySet().stream().filter(e -> e.getKey().endsWith(suffix)).map(Map.Entry::getValue)
                    .findFirst().orElse(null);
            if (v != null) {
                return v;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no metric ending in " + suffix + " among " + LAST.keySet() + " (seen: " + SEEN
                + ")");
    }

    static final java.util.Set<String> SEEN = ConcurrentHashMap.newKeySet();

    @Override
    public void open(MetricConfig config) {}

    @Override
    public void close() {}

    @Override
    public void notifyOfAddedMetric(Metric metric, String name, MetricGroup group) {
        if (SEEN.size() < 5) {
            SEEN.add(group.getMetricIdentifier(name));
        }
    }

    @Override
    public void notifyOfRemovedMetric(Metric metric, String name, MetricGroup group) {
        if (metric instanceof Gauge && group.getMetricIdentifier(name).contains("factorbird")) {
            Object v = ((Gauge<?>) metric).getValue();
            if (v != null) {
                LAST.put(group.getMetricIdentifier(name), v);
            }
        }
    }

    /** Factory named in the configuration. */
    public static final class Factory implements MetricReporterFactory {
        @Override
        public MetricReporter createMetricReporter(Properties properties) {
            return new CollectingReporter();
        }
    }
}
