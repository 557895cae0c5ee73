package org.factorbird.pipeline.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.factorbird.pipeline.sgd.SgdKernel;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/** The per-rating SGD step over a batch-sized column copy: ns per rating (scripts/jmh.sh). */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class KernelBenchmark {

    static final int RATINGS = 65_536;

    @Param({"10", "40"})
    int rank;

    float[] rows;
    float[] cols;
    int[] rowOf;
    int[] colOf;
    float[] values;

    @Setup
    public void setUp() {
        SplittableRandom r = new SplittableRandom(1);
        int dim = rank + 1;
        rows = new float[4096 * dim];
        cols = new float[20_000 * dim];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = (float) (0.1 * r.nextGaussian());
        }
        for (int i = 0; i < cols.length; i++) {
            cols[i] = (float) (0.1 * r.nextGaussian());
        }
        rowOf = new int[RATINGS];
        colOf = new int[RATINGS];
        values = new float[RATINGS];
        for (int i = 0; i < RATINGS; i++) {
            rowOf[i] = r.nextInt(4096) * dim;
            colOf[i] = r.nextInt(20_000) * dim;
            values[i] = 1 + r.nextInt(5);
        }
    }

    @Benchmark
    @OperationsPerInvocation(RATINGS)
    public double sgdStep() {
        double loss = 0;
        for (int i = 0; i < RATINGS; i++) {
            loss += SgdKernel.step(values[i], 1f, 3f, rows, rowOf[i], cols, colOf[i], rank, 0.005f, 0.02f, 0.01f);
        }
        return loss;
    }

    @Benchmark
    @OperationsPerInvocation(RATINGS)
    public double adagradStep() {
        double loss = 0;
        int dim = rank + 1;
        for (int i = 0; i < RATINGS; i++) {
            // the AdaGrad layout needs 2 x dim floats: reuse the arrays at half the ids
            int ro = (rowOf[i] / dim / 2) * 2 * dim;
            int co = (colOf[i] / dim / 2) * 2 * dim;
            loss += SgdKernel.stepAdagrad(values[i], 1f, 3f, rows, ro, cols, co, rank, 0.01f, 0.02f, 0.01f);
        }
        return loss;
    }
}
