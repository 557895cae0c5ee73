package org.factorbird.pipeline.train;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.factorbird.pipeline.sgd.LongIntMap;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Numbering a subtask's columns while packing, one lookup per rating (scripts/jmh.sh ColumnNumbering): the
 * general map of three arrays ({@link LongIntMap}) against {@link ColumnIds}' table of (id, number) pairs, and
 * that against its array for dense ids (0 .. columns - 1), all warm with every column, in ns per lookup. The 100M
 * case has 1M columns per subtask.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class ColumnNumberingBenchmark {

    static final int LOOKUPS = 1 << 20;

    @Param({"100000", "1000000"})
    int columns;

    long[] lookups = new long[LOOKUPS];
    long[] dense = new long[LOOKUPS];
    LongIntMap map;
    ColumnIds ids;
    ColumnIds denseIds;

    @Setup
    public void setUp() {
        SplittableRandom r = new SplittableRandom(3);
        map = new LongIntMap(1024);
        ids = new ColumnIds();
        for (int c = 0; c < columns; c++) {
            long id = c * 7919L;
            map.indexOf(id);
            ids.numberOf(id);
        }
        denseIds = new ColumnIds();
        denseIds.directLimit(columns);
        for (int c = 0; c < columns; c++) {
            denseIds.numberOf(c);
        }
        for (int i = 0; i < LOOKUPS; i++) {
            lookups[i] = r.nextInt(columns) * 7919L;
            dense[i] = r.nextInt(columns);
        }
    }

    @Benchmark
    @OperationsPerInvocation(LOOKUPS)
    public long threeArrays() {
        long sum = 0;
        for (long id : lookups) {
            sum += map.indexOf(id);
        }
        return sum;
    }

    @Benchmark
    @OperationsPerInvocation(LOOKUPS)
    public long pairedSlots() {
        long sum = 0;
        for (long id : lookups) {
            sum += ids.numberOf(id);
        }
        return sum;
    }

    @Benchmark
    @OperationsPerInvocation(LOOKUPS)
    public long directArray() {
        long sum = 0;
        for (long id : dense) {
            sum += denseIds.numberOf(id);
        }
        return sum;
    }
}
