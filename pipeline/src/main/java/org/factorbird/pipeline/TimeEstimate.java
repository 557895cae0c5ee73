package org.factorbird.pipeline;

import java.util.Locale;

/**
 * The wall time of a run, from per-rating costs measured on this project's reference machine (2 cores of a shared
 * x86 server, Java 17; README "Benchmarks"): a rough guide on similar hardware, not a promise. Per core:
 *
 * <ul>
 *   <li>loading (read, parse, key, spill, pack): {@value #LOAD_NS_PER_LINE} ns per input line ({@code bench.sh}:
 *       3.6M lines/s at parallelism 2);
 *   <li>training: {@value #BASE_NS_PER_RATING} ns per rating and epoch for the batch and the bookkeeping, plus per
 *       model {@value #MODEL_FACTOR} x the SGD step's {@value #KERNEL_NS} + {@value #KERNEL_NS_PER_FACTOR} x rank ns
 *       (JMH: 25 ns at rank 10, 72 at rank 40; doubled for AdaGrad): the step, and the memory traffic and PS bytes
 *       of wider rows and columns. Calibrated on {@code bench.sh} (5.5M ratings/s at parallelism 2, rank 10, heap
 *       state: 364 ns per rating and core) and {@code bench-grid.sh} (8 models in 56.4 s against 21.7 s for one:
 *       110 ns per rating, core and extra model at rank 10); RocksDB state adds {@value #ROCKSDB_SHARE} of the base;
 *   <li>evaluation: the held-out and sampled ratings predicted once per epoch per model, at the kernel's cost;
 *   <li>start-up: {@value #STARTUP_SECONDS} s (JVM, Flink, the PS connections).
 * </ul>
 *
 * The subtasks are assumed to have a core each.
 */
public final class TimeEstimate {

    static final double LOAD_NS_PER_LINE = 550;
    static final double BASE_NS_PER_RATING = 254;
    static final double MODEL_FACTOR = 4.4;
    static final double KERNEL_NS = 10;
    static final double KERNEL_NS_PER_FACTOR = 1.55;
    static final double ROCKSDB_SHARE = 0.10;
    static final double STARTUP_SECONDS = 6;

    public final double loadSeconds;
    public final double secondsPerEpoch;
    public final double totalSeconds;
    public final int epochs;

    /**
     * @param ratings input lines (held-out ones included); {@code heldOut} of them are evaluated, not trained
     * @param models models trained together (a grid), each of {@code rank}
     */
    public TimeEstimate(long ratings, double heldOut, int rank, int models, boolean adagrad, boolean rocksdb,
            int parallelism, int epochs) {
        if (ratings < 1 || rank < 1 || models < 1 || parallelism < 1 || epochs < 1 || !(heldOut >= 0 && heldOut < 1)) {
            throw new IllegalArgumentException("ratings, rank, models, parallelism and epochs must be >= 1 and the "
                    + "held-out share in [0, 1)");
        }
        double kernel = (KERNEL_NS + KERNEL_NS_PER_FACTOR * rank) * (adagrad ? 2 : 1);
        double base = BASE_NS_PER_RATING * (rocksdb ? 1 + ROCKSDB_SHARE : 1);
        double train = ratings * (1 - heldOut) * (base + models * MODEL_FACTOR * kernel);
        double evaluate = ratings * heldOut * models * (KERNEL_NS + KERNEL_NS_PER_FACTOR * rank);
        this.epochs = epochs;
        this.loadSeconds = ratings * LOAD_NS_PER_LINE / parallelism / 1e9;
        this.secondsPerEpoch = (train + evaluate) / parallelism / 1e9;
        this.totalSeconds = STARTUP_SECONDS + loadSeconds + epochs * secondsPerEpoch;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "about %s: start-up %.0f s, load %s, %s per epoch x %d epochs (costs "
                + "measured on a 2-core reference machine, one core per subtask; see TimeEstimate)",
                duration(totalSeconds), STARTUP_SECONDS, duration(loadSeconds), duration(secondsPerEpoch), epochs);
    }

    static String duration(double s) {
        if (s < 60) {
            return String.format(Locale.ROOT, "%.1f s", s);
        }
        if (s < 3600) {
            return String.format(Locale.ROOT, "%.1f min", s / 60);
        }
        return String.format(Locale.ROOT, "%.1f h", s / 3600);
    }
}
