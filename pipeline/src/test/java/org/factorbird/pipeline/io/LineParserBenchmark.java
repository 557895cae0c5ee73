package org.factorbird.pipeline.io;

import java.nio.charset.StandardCharsets;
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
 * Parsing rating lines (scripts/jmh.sh LineParser): lines shaped like the generator's ("row,col,value" with ids up
 * to 10M and 1M and four decimals), back to back in one buffer as the reader holds them; ns per line.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class LineParserBenchmark {

    static final int LINES = 1 << 16;

    byte[] buf;
    int[] starts = new int[LINES + 1];
    RatingLineParser parser = new RatingLineParser();

    @Setup
    public void setUp() {
        SplittableRandom r = new SplittableRandom(3);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < LINES; i++) {
            starts[i] = sb.length();
            sb.append(r.nextInt(10_000_000)).append(',').append(r.nextInt(1_000_000)).append(',')
                    .append(String.format(java.util.Locale.ROOT, "%.4f", 5 * r.nextDouble()));
            sb.append('\n');
        }
        starts[LINES] = sb.length();
        buf = sb.toString().getBytes(StandardCharsets.US_ASCII);
    }

    @Benchmark
    @OperationsPerInvocation(LINES)
    public long parse() {
        long sum = 0;
        for (int i = 0; i < LINES; i++) {
            if (parser.parse(buf, starts[i], starts[i + 1] - 1)) {
                sum += parser.row + parser.col + (long) parser.value;
            }
        }
        return sum;
    }
}
