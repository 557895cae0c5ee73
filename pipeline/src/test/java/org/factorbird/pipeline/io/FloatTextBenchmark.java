package org.factorbird.pipeline.io;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * A factor line's floats as text (scripts/jmh.sh FloatText): the JDK's {@code Float.toString} against
 * {@link FloatText}, in ns per float, on values shaped like trained factors (normal, standard deviation 0.3).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class FloatTextBenchmark {

    static final int FLOATS = 1 << 16;

    float[] values = new float[FLOATS];
    StringBuilder sb = new StringBuilder(1 << 20);

    @Setup
    public void setUp() {
        SplittableRandom r = new SplittableRandom(9);
        for (int i = 0; i < FLOATS; i++) {
            double u1 = r.nextDouble();
            double u2 = r.nextDouble();
            values[i] = (float) (0.3 * Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2));
        }
    }

    @Benchmark
    @OperationsPerInvocation(FLOATS)
    public int jdkFloatToString() {
        sb.setLength(0);
        for (float v : values) {
            sb.append('\t').append(v);
        }
        return sb.length();
    }

    @Benchmark
    @OperationsPerInvocation(FLOATS)
    public int floatText() {
        sb.setLength(0);
        for (float v : values) {
            FloatText.append(sb.append('\t'), v);
        }
        return sb.length();
    }
}
