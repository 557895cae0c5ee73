package org.factorbird.pipeline.train;

import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.factorbird.pipeline.HyperParams;
import org.factorbird.ps.PsClient;
import org.factorbird.ps.PsClientConfig;
import org.factorbird.ps.TableSpec;
import org.factorbird.ps.server.PsServer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * SGD over one laid-out training batch of the 10M bench set's default shape (scripts/jmh.sh BatchTrain): 16,384
 * rows of 45 ratings over ~84k distinct columns, rank 10, in row order ({@code chunked=false}) or chunked by
 * column ({@link ColumnChunks#layout}). {@code trainOnly}: the SGD over a batch laid out once per iteration;
 * {@code layOutAndTrain}: laid out anew each time, as every epoch does, so the layout and chunking count too.
 * Reports ms per batch of 737,280 ratings.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class BatchTrainBenchmark {

    static final int BLOCKS = 64;
    static final int ROWS = 256;
    static final int PER_ROW = 45;
    static final int COLUMNS = 100_000;
    static final int WIDTH = 11;

    @Param({"false", "true"})
    boolean chunked;

    PsServer server;
    PsClient ps;
    FlatModels models;
    Batch batch;
    float[][] params = new float[BLOCKS][];
    RowBlock[] blocks = new RowBlock[BLOCKS];
    double[] loss = new double[1];

    @Setup
    public void setUp() {
        server = PsServer.startLocal(0, 1);
        ps = PsClient.connect(new PsClientConfig(List.of(server.address()),
                TableSpec.single(WIDTH, 1, 5L, 42L, 0.1f)));
        models = new FlatModels(List.of(new HyperParams(10, 0.001f, 0.01f, 0.01f, 0.1f,
                HyperParams.Schedule.CONSTANT, 0f)), new int[] {0, WIDTH});
        models.startEpoch(0);
        SplittableRandom r = new SplittableRandom(5);
        ColumnIds ids = new ColumnIds();
        RowBlock.Builder builder = new RowBlock.Builder(false, ids);
        batch = new Batch(WIDTH, ids);
        long key = 0;
        for (int b = 0; b < BLOCKS; b++) {
            for (int row = 0; row < ROWS; row++) {
                for (int t = 0; t < PER_ROW; t++) {
                    double u = r.nextDouble(); // skewed: popular columns have low ids
                    builder.train((long) (u * u * COLUMNS), (float) r.nextDouble(), 1f, false);
                }
                builder.endRow(key++);
            }
            params[b] = new float[ROWS * WIDTH];
            java.util.Arrays.fill(params[b], 0.01f);
            blocks[b] = builder.build();
        }
        ids.freeze();
        layOut();
        ps.await(batch.pull(ps, false, models));
    }

    @TearDown
    public void tearDown() {
        ps.close();
        server.close();
    }

    /** The same layout every time (same seeds): the columns keep the batch indices of the pull in setUp. */
    private void layOut() {
        batch.clear();
        for (int b = 0; b < BLOCKS; b++) {
            batch.addBlock(b, blocks[b], params[b], ROWS, ROWS * PER_ROW);
        }
        batch.layoutTraining(1L, 7L, 1, chunked ? WIDTH : 0);
    }

    @Setup(org.openjdk.jmh.annotations.Level.Iteration)
    public void layOutOnce() {
        layOut();
    }

    @Benchmark
    public double trainOnly() {
        return batch.train(models, 0.5f, loss);
    }

    @Benchmark
    public double layOutAndTrain() {
        layOut();
        return batch.train(models, 0.5f, loss);
    }
}
