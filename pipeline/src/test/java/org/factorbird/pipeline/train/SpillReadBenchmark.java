package org.factorbird.pipeline.train;

import java.io.File;
import java.nio.file.Files;
import java.util.concurrent.TimeUnit;

import org.factorbird.pipeline.io.Rating;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Reading one spill bucket back grouped by row, as packing does (scripts/jmh.sh SpillRead): 390k records of 39k
 * rows with 10 ratings each, the size of a bucket at 100M ratings (50M per subtask over 128 buckets), every field
 * of every record read by the consumer. The bucket is written anew before each invocation (not measured).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class SpillReadBenchmark {

    static final int ROWS = 39_000;
    static final int PER_ROW = 10;

    File dir;
    RatingSpill spill;
    double sink;

    @Setup(Level.Invocation)
    public void fill() throws Exception {
        dir = Files.createTempDirectory("spill-bench").toFile();
        spill = new RatingSpill(new File(dir, "s"), 1, 1 << 20);
        java.util.SplittableRandom r = new java.util.SplittableRandom(9);
        // ratings arrive interleaved across rows, as from parallel sources
        for (int k = 0; k < PER_ROW; k++) {
            for (int row = 0; row < ROWS; row++) {
                spill.add(row * 7919L, r.nextInt(1_000_000), 3f, 1f, Rating.TRAIN);
            }
        }
    }

    @TearDown(Level.Invocation)
    public void clean() {
        spill.close();
        dir.delete();
    }

    @Benchmark
    public double readBack() throws Exception {
        spill.forEachRow((row, sp, from, to) -> {
            for (int k = from; k < to; k++) {
                sink += sp.col(k) + sp.value(k) + sp.weight(k) + sp.kind(k);
            }
        });
        return sink;
    }
}
