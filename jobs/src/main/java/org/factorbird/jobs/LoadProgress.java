package org.factorbird.jobs;

import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricConfig;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.reporter.MetricReporter;
import org.apache.flink.metrics.reporter.MetricReporterFactory;

/**
 * The progress of a local run, summed over the subtasks: a Flink metric reporter in the embedded MiniCluster keeps
 * the operators' {@code factorbird.*} gauges ({@link #sum}, {@link #any}). For training, a {@link Watch} prints the
 * sum of {@code factorbird.linesRead} every few seconds until every subtask's {@code factorbird.inputDone} is 1:
 *
 * <pre>loading: 4,194,304 lines read by 2 subtasks in 5.0 s (0.84M lines/s)</pre>
 *
 * A cluster run gets the same line from {@code factorbird follow}, over the REST API. The reporter and the watch
 * share this class's static map: a local run's MiniCluster lives in the client's JVM.
 */
final class LoadProgress implements MetricReporter {

    /** Reporter name in the configuration. */
    static final String NAME = "factorbird-load";
    /** Seconds between two lines; tests shorten it. */
    static volatile long intervalMillis = 5_000;

    /** Gauge identifier (scope with subtask) -> gauge, for the gauges named below. */
    private static final Map<String, Gauge<?>> GAUGES = new ConcurrentHashMap<>();
    private static final String LINES = "linesRead";
    private static final String DONE = "inputDone";

    /** Adds the reporter to the configuration of a local run's MiniCluster. */
    static Configuration addTo(Configuration c) {
        c.setString("metrics.reporter." + NAME + ".factory.class", Factory.class.getName());
        return c;
    }

    @Override
    public void open(MetricConfig config) {}

    @Override
    public void close() {}

    @Override
    public void notifyOfAddedMetric(Metric metric, String name, MetricGroup group) {
        if (metric instanceof Gauge<?> g && group.getMetricIdentifier(name).contains(".factorbird.")) {
            GAUGES.put(group.getMetricIdentifier(name), g);
        }
    }

    /** The sum over the subtasks of the numeric gauge {@code factorbird.<name>}, and how many there are. */
    static double[] sum(String name) {
        double sum = 0;
        int n = 0;
        for (Map.Entry<String, Gauge<?>> e : GAUGES.entrySet()) {
            if (e.getKey().endsWith(".factorbird." + name) && e.getValue().getValue() instanceof Number v) {
                sum += v.doubleValue();
                n++;
            }
        }
        return new double[] {sum, n};
    }

    /** Any subtask's non-empty value of the gauge {@code factorbird.<name>}, or "". */
    static String any(String name) {
        for (Map.Entry<String, Gauge<?>> e : GAUGES.entrySet()) {
            Object v = e.getValue().getValue();
            if (e.getKey().endsWith(".factorbird." + name) && v != null && !String.valueOf(v).isEmpty()) {
                return String.valueOf(v);
            }
        }
        return "";
    }

    @Override
    public void notifyOfRemovedMetric(Metric metric, String name, MetricGroup group) {
        GAUGES.remove(group.getMetricIdentifier(name));
    }

    /** The line for the gauges now, or null when nothing was read yet or every subtask is done. */
    static String line(double seconds) {
        long lines = 0;
        int subtasks = 0;
        int done = 0;
        for (Map.Entry<String, Gauge<?>> e : GAUGES.entrySet()) {
            Object v = e.getValue().getValue();
            long n = v instanceof Number number ? number.longValue() : 0;
            if (e.getKey().endsWith("." + LINES)) {
                lines += n;
                subtasks++;
            } else if (e.getKey().endsWith("." + DONE)) {
                done += (int) n;
            }
        }
        if (lines == 0 || done >= subtasks) {
            return null;
        }
        return String.format(Locale.ROOT, "loading: %,d lines read by %d subtasks in %.1f s (%.2fM lines/s)",
                lines, subtasks, seconds, lines / Math.max(seconds, 1e-3) / 1e6);
    }

    /**
     * Prints {@link #line} every {@link #intervalMillis} until closed, timed from when the training subtasks
     * registered their gauges (the load's start: the MiniCluster's own start-up is not loading).
     */
    static final class Watch implements AutoCloseable {
        private final Thread thread;

        Watch(PrintStream out) {
            thread = new Thread(() -> {
                try {
                    long poll = Math.max(1, Math.min(500, intervalMillis / 4));
                    long start = 0;
                    long last = 0;
                    boolean printed = false;
                    while (true) {
                        Thread.sleep(poll);
                        long now = System.nanoTime();
                        if (start == 0) {
                            start = GAUGES.isEmpty() ? 0 : now;
                            last = now;
                            continue;
                        }
                        if ((now - last) / 1_000_000 < intervalMillis) {
                            continue;
                        }
                        last = now;
                        String line = line((now - start) / 1e9);
                        if (line != null) {
                            out.println(line);
                            printed = true;
                        } else if (printed) {
                            return; // every subtask has read its input
                        }
                    }
                } catch (InterruptedException e) {
                    // closed
                }
            }, "factorbird-load-progress");
            thread.setDaemon(true);
            thread.start();
        }

        @Override
        public void close() throws InterruptedException {
            thread.interrupt();
            thread.join();
        }
    }

    /** Factory named in the configuration. */
    public static final class Factory implements MetricReporterFactory {
        @Override
        public MetricReporter createMetricReporter(Properties properties) {
            return new LoadProgress();
        }
    }
}
