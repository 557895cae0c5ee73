package org.factorbird.pipeline.train;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Laying out one training batch (scripts/jmh.sh BatchLayout): 64 blocks of 256 rows with 45 ratings each over
 * 100k columns with a skew like the bench set's, the shape of a default batch of the 10M bench set (16,384 rows,
 * ~740k ratings). Reports ns per batch; divide by {@link #ratings} for ns per rating. Rows are shuffled across the
 * batch, each row's ratings shuffled and given their batch column index.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class BatchLayoutBenchmark {

    static final int BLOCKS = 64;
    static final int ROWS = 256;
    static final int PER_ROW = 45;
    static final int COLUMNS = 100_000;

    /** Whether the batch is ordered by column chunk at rank 10, as in training (see {@link ColumnChunks#layout}). */
    @org.openjdk.jmh.annotations.Param({"false", "true"})
    boolean chunked;

    RowBlock[] blocks = new RowBlock[BLOCKS];
    float[][] params = new float[BLOCKS][];
    Batch batch;
    int ratings;
    long seed;

    @Setup
    public void setUp() {
        SplittableRandom r = new SplittableRandom(5);
        ColumnIds ids = new ColumnIds();
        RowBlock.Builder builder = new RowBlock.Builder(false, ids);
        long key = 0;
        for (int b = 0; b < BLOCKS; b++) {
            for (int row = 0; row < ROWS; row++) {
                for (int t = 0; t < PER_ROW; t++) {
                    // skewed: the square of a uniform favours low ids, as popular columns do
                    double u = r.nextDouble();
                    builder.train((long) (u * u * COLUMNS), (float) r.nextDouble(), 1f, false);
                }
                builder.endRow(key++);
            }
            blocks[b] = builder.build();
            params[b] = new float[ROWS * 11];
        }
        ids.freeze();
        batch = new Batch(11, ids);
        ratings = BLOCKS * ROWS * PER_ROW;
    }

    @Benchmark
    public int layout() {
        batch.clear();
        for (int b = 0; b < BLOCKS; b++) {
            batch.addBlock(b, blocks[b], params[b], ROWS, ROWS * PER_ROW);
        }
        batch.layoutTraining(++seed, 7L, 1, chunked ? 11 : 0);
        return batch.ratings + batch.distinctColumns();
    }
}
