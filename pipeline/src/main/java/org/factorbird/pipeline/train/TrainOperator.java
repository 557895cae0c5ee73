package org.factorbird.pipeline.train;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;

import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.core.fs.Path;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.factorbird.pipeline.TrainConfig;
import org.factorbird.pipeline.io.HoldoutSplit;
import org.factorbird.pipeline.io.OutLine;
import org.factorbird.pipeline.io.Rating;
import org.factorbird.pipeline.sgd.LongIntMap;
import org.factorbird.ps.ModelSpec;
import org.factorbird.ps.Hashing;
import org.factorbird.ps.PsClient;
import org.factorbird.pipeline.train.PrimitiveLists.FloatList;
import org.factorbird.pipeline.train.PrimitiveLists.LongList;
import org.factorbird.ps.protocol.Protocol;

/**
 * Factorbird's training loop, one instance per parallel subtask, after {@code keyBy(row)}.
 *
 * <p>While input arrives it only appends each rating to hash-partitioned files on local disk ({@link RatingSpill}:
 * sequential writes, 25 bytes per rating; keyed list state cost 56 bytes per rating on heap and, on RocksDB, a
 * merge operand per rating that was slow to read back).
 * At end of input it packs the rows into blocks ({@link RowBlock}: one state value per block of up to
 * {@link #BLOCK_ROWS} rows) plus one value of their parameters {@code [b_i, u_i]}, agrees
 * with the other subtasks on the global mean through the parameter server's AGGREGATE (which doubles as a
 * barrier), and runs the epochs: batches of rows pull their columns once, train, and push summed deltas
 * ({@link Batch}). Each epoch ends with two barriers: after training (so every push is applied) and after the
 * held-out evaluation (aggregating the metrics that subtask 0 reports). Finally every subtask emits its rows, and
 * the column slice {@link Hashing#sliceOf} assigns to it, read from every shard: each id exactly once.
 *
 * <p>Row parameters never leave the subtask; only columns cross the network.
 */
public class TrainOperator extends AbstractStreamOperator<OutLine>
        implements OneInputStreamOperator<Rating, OutLine>, BoundedOneInput {

    private static final long serialVersionUID = 1L;

    static final long ROW_SEED_SALT = 0x726F777321L;
    private static final int MAX_BAD_SAMPLES = 100;
    /** Spill buckets per subtask on RocksDB state and the write buffer of each (see {@link RatingSpill}). */
    static final int SPILL_BUCKETS = 128;
    static final int SPILL_BUFFER_BYTES = 32 * 1024;
    /** Rows per keyed-state value at most (see {@link RowBlock}). */
    static final int BLOCK_ROWS = 256;
    /**
     * Blocks per batch at least: a batch takes whole blocks, so blocks are at most 1/16 of --batch-rows rows and
     * of --batch-ratings ratings (unless one row has more), and batches stay within a 16th of their limits.
     */
    static final int BLOCKS_PER_BATCH = 16;
    private static final int PRINTED_BAD_SAMPLES = 5;

    // aggregate ids: phase << 32 | epoch
    private static final long AGG_STATS = 1L << 32;
    private static final long AGG_TRAINED = 2L << 32;
    private static final long AGG_EVALUATED = 3L << 32;
    private static final long AGG_DONE = 4L << 32;
    private static final long AGG_RESTORED = 5L << 32;

    private final TrainConfig cfg;

    /** The incoming ratings, hash-partitioned by row on local disk until end of input. */
    private transient RatingSpill spill;
    /** The packed ratings of a block of rows, under the block's first row key. */
    private transient ValueState<RowBlock> blockState;
    /** The parameters of the same block's rows, {@code width} floats per row. */
    private transient ValueState<float[]> paramState;
    private transient PsClient ps;
    private transient long skipped;
    private transient List<String> badSamples;
    /** Restart attempt of this subtask: part of every aggregate id, so attempts never mix their barriers. */
    private transient int attempt;
    private transient boolean heapState;
    private transient long loadStart;
    /** Bytes of the blocks stored so far by {@link #storeBlock}. */
    private transient long packedBytes;

    // Flink metrics (group "factorbird"), written by the task thread, read by reporters
    private transient volatile int metricEpoch;
    private transient volatile double metricRatingsPerSecond;
    private transient volatile double metricTrainRmse = Double.NaN;
    private transient volatile double metricTestRmse = Double.NaN;
    private transient volatile long metricSkippedLines;
    private transient volatile long metricPsBytes;
    private transient volatile long metricPsRequests;

    public TrainOperator(TrainConfig cfg) {
        this.cfg = cfg;
    }

    @Override
    public void open() throws Exception {
        super.open();
        blockState = getPartitionedState(new ValueStateDescriptor<>("blocks", TypeInformation.of(RowBlock.class)));
        paramState = getPartitionedState(new ValueStateDescriptor<>("params",
                TypeInformation.of(float[].class)));
        badSamples = new ArrayList<>();
        metricTrainRmse = Double.NaN;
        metricTestRmse = Double.NaN;
        MetricGroup metrics = getMetricGroup().addGroup("factorbird");
        metrics.gauge("epoch", () -> metricEpoch);
        metrics.gauge("ratingsPerSecond", () -> metricRatingsPerSecond);
        metrics.gauge("trainRmse", () -> metricTrainRmse);
        metrics.gauge("testRmse", () -> metricTestRmse);
        metrics.gauge("skippedLines", () -> metricSkippedLines);
        metrics.gauge("psBytesPerEpoch", () -> metricPsBytes);
        metrics.gauge("psRequestsPerEpoch", () -> metricPsRequests);
        loadStart = System.nanoTime();
        attempt = getRuntimeContext().getTaskInfo().getAttemptNumber();
        // heap state hands out the live objects: parameters trained in place need no write-back
        heapState = getKeyedStateBackend() instanceof org.apache.flink.runtime.state.heap.HeapKeyedStateBackend;
        ps = PsClient.connect(cfg.psClientConfig(attempt));
        File[] tmp = getContainingTask().getEnvironment().getIOManager().getSpillingDirectories();
        spill = new RatingSpill(new File(tmp[subtask() % tmp.length], "factorbird-spill-"
                + java.util.UUID.randomUUID()), SPILL_BUCKETS, SPILL_BUFFER_BYTES);
    }

    @Override
    public void processElement(StreamRecord<Rating> element) throws Exception {
        Rating r = element.getValue();
        if (r.kind == Rating.BAD) {
            skipped++;
            if (badSamples.size() < MAX_BAD_SAMPLES) {
                badSamples.add(r.note);
            }
            return;
        }
        spill.add(r.row, r.col, r.value, r.weight, r.kind);
    }

    @Override
    public void close() throws Exception {
        if (ps != null) {
            ps.close();
            ps = null;
        }
        if (spill != null) {
            spill.close();
            spill = null;
        }
        super.close();
    }

    private int subtask() {
        return getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
    }

    private int parallelism() {
        return getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks();
    }

    private double[] aggregate(long id, byte[] ops, double... values) {
        return ps.awaitUnbounded(ps.aggregate(id | ((long) attempt << 40), parallelism(), ops, values));
    }

    private static void checkInterrupted() throws InterruptedException {
        if (Thread.currentThread().isInterrupted()) {
            throw new InterruptedException("training cancelled");
        }
    }

    // ------------------------------------------------------------------------------------------------
    //  end of input: pack, agree on the global mean, train, write
    // ------------------------------------------------------------------------------------------------

    @Override
    public void endInput() throws Exception {
        Packed packed = pack();
        if (!badSamples.isEmpty()) {
            reportBadLines();
        }
        final byte s = Protocol.AGG_SUM;
        double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
        double[] stats = aggregate(AGG_STATS, new byte[] {s, s, s, s, s, s, Protocol.AGG_MIN, Protocol.AGG_MAX, s,
                Protocol.AGG_MAX, Protocol.AGG_MAX}, packed.sum, packed.trainRatings, packed.testRatings, skipped,
                packed.trainRows, packed.testOnlyRows, packed.min, packed.max, packed.weightSum, loadSeconds,
                packed.stateBytes);
        long trainRatings = (long) stats[1];
        if (trainRatings == 0) {
            throw new IllegalStateException("no valid training ratings in " + cfg.input
                    + (stats[3] > 0 ? " (" + (long) stats[3] + " malformed lines skipped)" : " (the input is empty)"));
        }
        if (!(stats[8] > 0)) {
            throw new IllegalStateException("every training rating in " + cfg.input + " has weight 0");
        }
        float mu = (float) (stats[0] / stats[8]);
        metricSkippedLines = (long) stats[3];
        Models md = new Models(cfg.models, cfg.offsets);
        int models = md.count;
        Summary summary = new Summary(mu, trainRatings, (long) stats[2], (long) stats[3], (long) stats[4],
                (long) stats[5], (float) stats[6], (float) stats[7], models);
        summary.loadSeconds = stats[9];
        summary.stateBytesPerSubtask = (long) stats[10];
        if (subtask() == 0) {
            long lines = summary.trainRatings + summary.testRatings + summary.skipped;
            progress(String.format(Locale.ROOT, "loaded %,d training and %,d held-out ratings of %,d rows "
                    + "(%,d malformed lines skipped) in %.1f s (%.2fM lines/s); global mean %.4f; %d model(s); "
                    + "keyed state %.1f MB in the largest subtask (%s)",
                    summary.trainRatings, summary.testRatings, summary.rows, summary.skipped, stats[9],
                    lines / stats[9] / 1e6, mu, models, stats[10] / 1e6, heapState ? "heap" : "RocksDB"));
        }

        int firstEpoch = 1 + restore(packed);
        summary.resumedFrom = firstEpoch - 1;

        Batch batch = new Batch(md.width, 1 << 16);
        Batch[] batches = {batch, new Batch(md.width, 1 << 16)};
        byte[] sums = new byte[models + 1]; // all AGG_SUM (0)
        double bestRmse = Double.POSITIVE_INFINITY;
        int sinceBest = 0;
        int lastSnapshot = -1;
        int shards = ps.shardCount();
        for (int epoch = firstEpoch; epoch <= cfg.epochs; epoch++) {
            long t0 = System.nanoTime();
            long[][] trafficBefore = ps.traffic();
            md.startEpoch(epoch);
            double[] loss = new double[models + 1];
            trainEpoch(packed.blockKeys, batches, md, mu, epoch, loss);
            double[] trained = aggregate(AGG_TRAINED | epoch, sums, loss);
            double seconds = (System.nanoTime() - t0) / 1e9;
            boolean snapshot = cfg.snapshotDir != null && (epoch % cfg.snapshotEvery == 0 || epoch == cfg.epochs);
            if (snapshot) {
                writeSnapshot(packed.blockKeys, epoch); // between two barriers: no subtask is training
            }
            double[] eval = new double[3 * models + 2 + 2 * shards];
            evaluate(packed.blockKeys, batch, md, summary, eval);
            long[][] trafficAfter = ps.traffic();
            for (int sh = 0; sh < shards; sh++) {
                // this epoch's requests and bytes (both directions) per shard, snapshots included
                eval[3 * models + 2 + sh] = trafficAfter[sh][0] - trafficBefore[sh][0];
                eval[3 * models + 2 + shards + sh] = trafficAfter[sh][1] - trafficBefore[sh][1]
                        + trafficAfter[sh][2] - trafficBefore[sh][2];
            }
            double[] ev = aggregate(AGG_EVALUATED | epoch, new byte[eval.length], eval);
            double[] psRequests = Arrays.copyOfRange(ev, 3 * models + 2, 3 * models + 2 + shards);
            double[] psBytes = Arrays.copyOfRange(ev, 3 * models + 2 + shards, 3 * models + 2 + 2 * shards);
            if (snapshot) {
                lastSnapshot = epoch;
                if (subtask() == 0) {
                    // every subtask has written its files (it passed the barrier): the snapshot is complete
                    Snapshots.writeManifest(cfg.snapshotDir, epoch, md.width, parallelism());
                }
            }
            double testCount = ev[3 * models];
            double sampleWeight = ev[3 * models + 1];
            double epochBest = Double.POSITIVE_INFINITY;
            for (int m = 0; m < models; m++) {
                EpochMetrics em = new EpochMetrics(epoch, Math.sqrt(trained[m] / trained[models]),
                        sampleWeight > 0 ? Math.sqrt(ev[2 * models + m] / sampleWeight) : Double.NaN,
                        testCount > 0 ? Math.sqrt(ev[2 * m] / testCount) : Double.NaN,
                        testCount > 0 ? ev[2 * m + 1] / testCount : Double.NaN, trainRatings / seconds, seconds,
                        psRequests, psBytes);
                summary.epochs.get(m).add(em);
                epochBest = Math.min(epochBest, em.testRmse);
                if (subtask() == 0) {
                    progress(em.line(cfg.epochs, models > 1 ? "model " + m + " " : ""));
                }
            }
            int leader = bestOf(summary, epoch);
            EpochMetrics lead = summary.epochs.get(leader).get(summary.epochs.get(leader).size() - 1);
            metricEpoch = epoch;
            metricRatingsPerSecond = lead.ratingsPerSecond;
            metricTrainRmse = lead.trainRmse();
            metricTestRmse = lead.testRmse;
            metricPsBytes = (long) Arrays.stream(psBytes).sum();
            metricPsRequests = (long) Arrays.stream(psRequests).sum();
            if (cfg.earlyStop > 0 && testCount > 0) {
                if (epochBest < bestRmse) {
                    bestRmse = epochBest;
                    sinceBest = 0;
                } else if (++sinceBest >= cfg.earlyStop) {
                    summary.stoppedEarly = String.format(Locale.ROOT, "after epoch %d: held-out RMSE %.4f has "
                            + "not improved for %d epochs", epoch, bestRmse, sinceBest);
                    if (subtask() == 0) {
                        progress("early stop " + summary.stoppedEarly);
                    }
                    break;
                }
            }
        }

        int lastEpoch = summary.epochs.get(0).isEmpty() ? firstEpoch - 1
                : summary.epochs.get(0).get(summary.epochs.get(0).size() - 1).epoch;
        if (cfg.snapshotDir != null && lastSnapshot != lastEpoch && lastEpoch >= firstEpoch) {
            // stopped early: snapshot the final state too (all pushes are applied since the last barrier)
            writeSnapshot(packed.blockKeys, lastEpoch);
            aggregate(AGG_RESTORED | 0xFFFFF, new byte[] {s}, 0);
            if (subtask() == 0) {
                Snapshots.writeManifest(cfg.snapshotDir, lastEpoch, md.width, parallelism());
            }
        }
        int best = summary.best();
        long rowsWritten = writeRows(packed.blockKeys, best);
        long columnsWritten = writeColumns(best);
        double[] done = aggregate(AGG_DONE, new byte[] {s, s}, rowsWritten, columnsWritten);
        if (subtask() == 0) {
            summary.rowsWritten = (long) done[0];
            summary.columnsWritten = (long) done[1];
            writeFile("model.json", summary.modelJson(cfg, best));
            if (cfg.grid) {
                writeFile("grid.json", summary.gridJson(cfg));
                progress("grid of " + models + " models, best first:\n" + summary.table(cfg).stripTrailing());
                if (cfg.keepAll) {
                    for (int m = 0; m < models; m++) {
                        writeFile("models/" + m + "/model.json", summary.modelJson(cfg, m));
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------------
    //  snapshots and recovery
    // ------------------------------------------------------------------------------------------------

    /** Receives a row with training ratings: its key and its parameters at {@code params[offset..]}. */
    @FunctionalInterface
    private interface RowVisitor {
        void accept(long key, float[] params, int offset) throws Exception;
    }

    /** Visits the rows with training ratings of the given blocks (rows seen only in held-out data have no factors). */
    private void forEachTrainedRow(long[] blockKeys, RowVisitor visitor) throws Exception {
        int width = cfg.width();
        for (long bk : blockKeys) {
            checkInterrupted();
            setCurrentKey(bk);
            RowBlock block = blockState.value();
            float[] params = paramState.value();
            for (int r = 0; r < block.rows(); r++) {
                if (block.trainCount(r) > 0) {
                    visitor.accept(block.keys[r], params, r * width);
                }
            }
        }
    }

    @FunctionalInterface
    private interface PageVisitor {
        void accept(PsClient.ScanPage page) throws Exception;
    }

    /**
     * Reads this subtask's output slice of the columns ({@link Hashing#sliceOf}) from every shard, page by page:
     * across all subtasks, every column exactly once.
     */
    private void forEachColumnPage(PageVisitor visitor) throws Exception {
        for (int shard = 0; shard < ps.shardCount(); shard++) {
            long cursor = 0;
            while (cursor >= 0) {
                checkInterrupted();
                PsClient.ScanPage page = ps.await(ps.scan(shard, subtask(), parallelism(), cursor, 8192));
                visitor.accept(page);
                cursor = page.nextCursor;
            }
        }
    }

    /** Writes this subtask's rows and its output slice of the columns for the end of {@code epoch}. */
    private void writeSnapshot(long[] blockKeys, int epoch) throws Exception {
        int width = cfg.width();
        org.apache.flink.core.fs.Path dir = Snapshots.epochDir(cfg.snapshotDir, epoch);
        LongList rowKeys = new LongList(1024);
        FloatList rows = new FloatList(1024 * width);
        forEachTrainedRow(blockKeys, (key, params, offset) -> {
            rowKeys.add(key);
            for (int k = 0; k < width; k++) {
                rows.add(params[offset + k]);
            }
        });
        Snapshots.write(Snapshots.file(dir, "rows", subtask()), rowKeys.a, rowKeys.n, rows.a, width);
        LongList colKeys = new LongList(1024);
        FloatList colValues = new FloatList(1024 * width);
        forEachColumnPage(page -> {
            for (int i = 0; i < page.count; i++) {
                colKeys.add(page.keys[i]);
            }
            for (int i = 0; i < page.count * width; i++) {
                colValues.add(page.values[i]);
            }
        });
        Snapshots.write(Snapshots.file(dir, "columns", subtask()), colKeys.a, colKeys.n, colValues.a, width);
    }

    /**
     * Restores rows and columns from the newest complete snapshot of --snapshot-dir (after a failure) or of
     * --resume (a warm start); returns its epoch, or 0 when starting fresh. Every subtask restores the rows it owns
     * and the columns of its output slice, then all wait for each other.
     */
    private int restore(Packed packed) throws Exception {
        Snapshots.Manifest snap = cfg.snapshotDir == null ? null : Snapshots.latest(cfg.snapshotDir);
        if (snap == null && cfg.resume != null) {
            snap = Snapshots.latest(cfg.resume);
            if (snap == null) {
                throw new IllegalStateException("--resume " + cfg.resume + " holds no complete snapshot");
            }
        }
        if (snap == null) {
            return 0;
        }
        int width = cfg.width();
        if (snap.width != width) {
            throw new IllegalStateException("the snapshot in " + snap.dir + " holds " + snap.width
                    + " floats per id, this run's models need " + width + " (same ranks, schedules and grid?)");
        }
        // index this subtask's trained rows, read the snapshot's values for them, then write them into the blocks
        LongIntMap owned = new LongIntMap(1024);
        forEachTrainedRow(packed.blockKeys, (key, params, offset) -> owned.indexOf(key));
        float[] restored = new float[owned.size() * width];
        boolean[] found = new boolean[owned.size()];
        long[] restoredRows = new long[1];
        for (org.apache.flink.core.fs.Path f : Snapshots.files(snap.dir, "rows")) {
            Snapshots.read(f, width, (key, values) -> {
                int i = owned.find(key);
                if (i >= 0 && !found[i]) {
                    found[i] = true;
                    System.arraycopy(values, 0, restored, i * width, width);
                    restoredRows[0]++;
                }
            });
        }
        for (long bk : packed.blockKeys) {
            setCurrentKey(bk);
            RowBlock block = blockState.value();
            float[] params = paramState.value();
            for (int r = 0; r < block.rows(); r++) {
                int i = block.trainCount(r) > 0 ? owned.find(block.keys[r]) : -1;
                if (i >= 0 && found[i]) {
                    System.arraycopy(restored, i * width, params, r * width, width);
                }
            }
            paramState.update(params);
        }
        int me = subtask();
        int p = parallelism();
        long[] keys = new long[8192];
        float[] values = new float[8192 * width];
        int[] n = new int[1];
        long[] restoredColumns = new long[1];
        for (org.apache.flink.core.fs.Path f : Snapshots.files(snap.dir, "columns")) {
            Snapshots.read(f, width, (key, v) -> {
                if (Hashing.sliceOf(key, p) == me) {
                    keys[n[0]] = key;
                    System.arraycopy(v, 0, values, n[0] * width, width);
                    if (++n[0] == keys.length) {
                        ps.await(ps.set(keys, n[0], values));
                        restoredColumns[0] += n[0];
                        n[0] = 0;
                    }
                }
            });
        }
        if (n[0] > 0) {
            ps.await(ps.set(keys, n[0], values));
            restoredColumns[0] += n[0];
        }
        double[] total = aggregate(AGG_RESTORED | snap.epoch, new byte[] {Protocol.AGG_SUM, Protocol.AGG_SUM},
                restoredRows[0], restoredColumns[0]);
        if (subtask() == 0) {
            progress(String.format(Locale.ROOT, "resuming after epoch %d from the snapshot in %s (%,d rows, %,d "
                    + "columns restored; restart attempt %d)", snap.epoch, snap.dir, (long) total[0], (long) total[1],
                    attempt));
        }
        return snap.epoch;
    }

    /** The model the metrics follow: the best so far (the only one outside a grid). */
    private static int bestOf(Summary summary, int epoch) {
        return summary.best();
    }

    /** What {@link #pack} learned about this subtask's rows. */
    private static final class Packed {
        /** The key each block is stored under (its first row). */
        long[] blockKeys;
        long trainRows;
        /** Bytes of the packed blocks and their parameters (what the state backend holds, before overheads). */
        long stateBytes;
        double sum;
        double weightSum;
        long trainRatings;
        long testRatings;
        long testOnlyRows;
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
    }

    /**
     * Turns the incoming ratings into blocks of rows ({@link RowBlock}), each one keyed-state value plus one value
     * of parameters, stored under the block's first row key (a key of this subtask, so any backend takes it).
     */
    private Packed pack() throws Exception {
        Packer packer = new Packer();
        spill.forEachRow((row, sp, from, to) -> {
            checkInterrupted();
            for (int k = from; k < to; k++) {
                packer.rating(row, sp.kind(k), sp.col(k), sp.value(k), sp.weight(k));
            }
            packer.endRow(row);
        });
        spill.close();
        spill = null;
        return packer.finish();
    }

    /** Collects rows into blocks and stores each full block; counts what {@link Packed} reports. */
    private final class Packer {
        private final Packed p = new Packed();
        private final LongList blockKeys = new LongList(1024);
        private final RowBlock.Builder builder = new RowBlock.Builder(cfg.weightColumn > 0);
        private final long sampleSeed = cfg.seed ^ HoldoutSplit.LOSS_SAMPLE_SALT;
        private final int blockRows = Math.max(1, Math.min(BLOCK_ROWS, cfg.batchRows / BLOCKS_PER_BATCH));
        private final int blockRatings = Math.max(1, cfg.batchRatings / BLOCKS_PER_BATCH);

        Packer() {
            packedBytes = 0;
        }

        void rating(long row, byte kind, long col, float value, float weight) {
            if (kind == Rating.TEST) {
                builder.test(col, value);
                p.testRatings++;
                return;
            }
            builder.train(col, value, weight,
                    cfg.lossSample > 0 && HoldoutSplit.unit(sampleSeed, row, col) < cfg.lossSample);
            // mu is the weighted mean: zero-weight ratings do not move it, as they move nothing else
            p.sum += (double) weight * value;
            p.weightSum += weight;
            if (weight > 0) {
                p.min = Math.min(p.min, value);
                p.max = Math.max(p.max, value);
            }
        }

        void endRow(long row) throws Exception {
            int trained = builder.endRow(row);
            if (trained > 0) {
                p.trainRows++;
                p.trainRatings += trained;
            } else {
                p.testOnlyRows++;
            }
            if (builder.rows() >= blockRows || builder.ratings() >= blockRatings) {
                blockKeys.add(storeBlock(builder.build()));
            }
        }

        Packed finish() throws Exception {
            if (builder.rows() > 0) {
                blockKeys.add(storeBlock(builder.build()));
            }
            p.blockKeys = blockKeys.toArray();
            p.stateBytes = packedBytes;
            return p;
        }
    }

    /** Stores a block and its initial parameters (rows without training ratings keep zeros: mu + b_j predicts). */
    private long storeBlock(RowBlock block) throws Exception {
        int width = cfg.width();
        float[] params = new float[block.rows() * width];
        List<ModelSpec.Segment> segments = cfg.segments();
        for (int r = 0; r < block.rows(); r++) {
            if (block.trainCount(r) > 0) {
                ModelSpec.init(cfg.seed ^ ROW_SEED_SALT, segments, block.keys[r], params, r * width);
            }
        }
        long key = block.keys[0];
        packedBytes += block.bytes() + 4L * params.length;
        setCurrentKey(key);
        blockState.update(block);
        paramState.update(params);
        return key;
    }

    /**
     * Trains one epoch; {@code loss[m]} gains model m's weighted squared errors, {@code loss[M]} the weights.
     *
     * <p>Two batches alternate: while batch i's pull is on the wire, batch i+1 is gathered from state (its rows
     * differ from batch i's, so this changes no number). Batch i+1's pull is sent only after batch i's push, on
     * the same connections, so it sees batch i's updates: staleness stays bounded by one batch.
     */
    private void trainEpoch(long[] keys, Batch[] batches, Models md, float mu, int epoch, double[] loss)
            throws Exception {
        long seed = Hashing.mix64(cfg.seed + epoch * 0x9E3779B97F4A7C15L);
        // blocks in a new order every epoch; the rows of a batch's blocks are shuffled together (Batch)
        shuffle(keys, 0, keys.length, seed);
        CompletableFuture<Void> pushes = CompletableFuture.completedFuture(null);
        BlockCursor cursor = new BlockCursor(keys, true);
        Batch current = batches[0];
        CompletableFuture<Void> pull = layOut(current, cursor, seed, epoch) ? current.pull(ps, false) : null;
        int turn = 0;
        while (pull != null) {
            checkInterrupted();
            Batch following = batches[++turn & 1];
            boolean more = layOut(following, cursor, seed, epoch); // overlaps the pull in flight
            ps.await(pull);
            loss[md.count] += current.train(md, mu, loss);
            pushes = CompletableFuture.allOf(pushes, current.push(ps));
            pull = more ? following.pull(ps, false) : null;
            if (!heapState) {
                // RocksDB serializes: write the trained parameters back (heap state holds the live arrays)
                for (int b = 0; b < current.blocks; b++) {
                    setCurrentKey(current.blockKeys[b]);
                    paramState.update(current.blockParams[b]);
                }
            }
            current = following;
        }
        ps.await(pushes); // every push applied before this subtask reports the epoch done
    }

    /** Fills {@code batch} for training and lays out its rows; false when the epoch is done. */
    private boolean layOut(Batch batch, BlockCursor cursor, long epochSeed, int epoch) throws Exception {
        while (cursor.fill(batch)) {
            batch.layoutTraining(Hashing.mix64(epochSeed ^ cursor.position()), cfg.seed, epoch);
            if (batch.rows > 0) {
                return true;
            } // only rows seen in held-out data so far: nothing to train, take the next blocks
        }
        return false;
    }

    /**
     * Walks an epoch's blocks into batches. A batch closes before the block that would take it past
     * --batch-rows rows or --batch-ratings ratings (it holds at least one block); that block, already read, opens
     * the next batch. Training counts rows and ratings to train, evaluation those to evaluate.
     */
    private final class BlockCursor {
        private final long[] keys;
        private final boolean training;
        private int next;
        private long key;
        private RowBlock block;
        private float[] params;
        private boolean held;

        BlockCursor(long[] keys, boolean training) {
            this.keys = keys;
            this.training = training;
        }

        /** Refills {@code batch} with the next blocks; false when the epoch has none left. */
        boolean fill(Batch batch) throws Exception {
            batch.clear();
            while (true) {
                if (!held) {
                    if (next == keys.length) {
                        break;
                    }
                    key = keys[next++];
                    setCurrentKey(key);
                    block = blockState.value();
                    params = paramState.value();
                    held = true;
                }
                int rows = training ? block.trainRows() : block.evalRows();
                int ratings = training ? block.cols.length : block.evalRatings();
                if (batch.blocks > 0 && (batch.blockRows + rows > cfg.batchRows
                        || batch.blockRatings + ratings > cfg.batchRatings)) {
                    break;
                }
                batch.addBlock(key, block, params, rows, ratings);
                held = false;
            }
            return batch.blocks > 0;
        }

        int position() {
            return next;
        }
    }

    /**
     * Evaluates every model on this subtask's held-out ratings and training sample into {@code acc}:
     * [2m] squared and [2m+1] absolute held-out errors, [2M+m] weighted squared sample errors, [3M] held-out
     * count, [3M+1] sample weight.
     */
    private void evaluate(long[] keys, Batch batch, Models md, Summary s, double[] acc) throws Exception {
        int models = md.count;
        double[] test = new double[2 * models];
        double[] sample = new double[models];
        BlockCursor cursor = new BlockCursor(keys, false);
        while (cursor.fill(batch)) {
            checkInterrupted();
            batch.layoutEvaluation();
            if (batch.rows == 0) {
                continue;
            }
            // read-only: a column seen only in held-out data predicts from mu + b_i and is not created
            ps.await(batch.pull(ps, true));
            double[] counts = batch.evaluate(md, s.mu, cfg.clip, s.min, s.max, test, sample);
            acc[3 * models] += counts[0];
            acc[3 * models + 1] += counts[1];
        }
        System.arraycopy(test, 0, acc, 0, 2 * models);
        System.arraycopy(sample, 0, acc, 2 * models, models);
    }

    /**
     * Odd multipliers (bijective on longs) and their inverses mod 2^64, for {@link #scramble}. Not SplitMix64's:
     * with those, the rows of a block had correlated {@link Hashing#mix64} values, which seed their initial
     * factors and rating shuffles, and held-out RMSE after 10 epochs on the bench set was 0.863 instead of 0.853.
     */
    private static final long M1 = 0xD6E8FEB86659FD93L;
    private static final long M2 = 0xA0761D6478BD642FL;
    private static final long M1_INV = inverse(M1);
    private static final long M2_INV = inverse(M2);

    /** The inverse of an odd number mod 2^64 (Newton's iteration doubles the correct low bits each step). */
    static long inverse(long odd) {
        long x = odd;
        for (int i = 0; i < 5; i++) {
            x *= 2 - odd * x;
        }
        return x;
    }

    /**
     * Sorts keys by a bijective mix of themselves (multiply, xor-shift, twice; each step invertible): a fixed
     * order unrelated to the ids' numeric order, computed without a second array.
     */
    static void scramble(long[] keys) {
        for (int i = 0; i < keys.length; i++) {
            long x = keys[i] * M1;
            x ^= x >>> 32;
            x *= M2;
            keys[i] = x ^ (x >>> 32);
        }
        Arrays.sort(keys);
        for (int i = 0; i < keys.length; i++) {
            long x = keys[i];
            x ^= x >>> 32; // x ^ (x >>> 32) is its own inverse
            x *= M2_INV;
            x ^= x >>> 32;
            keys[i] = x * M1_INV;
        }
    }

    /** Fisher-Yates over {@code a[from, to)} with a SplitMix64 stream from {@code seed}. */
    private static void shuffle(long[] a, int from, int to, long seed) {
        long st = seed;
        for (int i = to - 1; i > from; i--) {
            st += 0x9E3779B97F4A7C15L;
            int j = from + Hashing.below(Hashing.mix64(st), i - from + 1);
            long t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    // ------------------------------------------------------------------------------------------------
    //  output
    // ------------------------------------------------------------------------------------------------

    /** The models whose factors are written: the best, and with --keep-all every one. */
    private int[] written(int best) {
        if (!cfg.keepAll) {
            return new int[] {best};
        }
        int[] all = new int[cfg.models.size() + 1];
        all[0] = best;
        for (int m = 0; m < cfg.models.size(); m++) {
            all[m + 1] = m;
        }
        return all;
    }

    private static String bucket(int slot, int model, String kind) {
        return slot == 0 ? kind : "models/" + model + "/" + kind;
    }

    private long writeRows(long[] blockKeys, int best) throws Exception {
        long[] sorted = blockKeys.clone();
        Arrays.sort(sorted);
        StringBuilder sb = new StringBuilder(256);
        int[] models = written(best);
        long[] written = {0};
        forEachTrainedRow(sorted, (key, params, offset) -> {
            for (int slot = 0; slot < models.length; slot++) {
                int m = models[slot];
                output.collect(new StreamRecord<>(new OutLine(bucket(slot, m, "rows"),
                        formatLine(sb, key, params, offset + cfg.offsets[m], cfg.models.get(m).rank + 1))));
            }
            written[0]++;
        });
        return written[0];
    }

    private long writeColumns(int best) throws Exception {
        StringBuilder sb = new StringBuilder(256);
        int width = cfg.width();
        int[] models = written(best);
        long[] written = {0};
        forEachColumnPage(page -> {
            for (int i = 0; i < page.count; i++) {
                for (int slot = 0; slot < models.length; slot++) {
                    int m = models[slot];
                    output.collect(new StreamRecord<>(new OutLine(bucket(slot, m, "columns"), formatLine(sb,
                            page.keys[i], page.values, i * width + cfg.offsets[m], cfg.models.get(m).rank + 1))));
                }
            }
            written[0] += page.count;
        });
        return written[0];
    }

    /** {@code id<TAB>bias<TAB>f1<TAB>...<TAB>fk}. */
    static String formatLine(StringBuilder sb, long id, float[] values, int from, int dim) {
        sb.setLength(0);
        sb.append(id);
        for (int j = 0; j < dim; j++) {
            sb.append('\t').append(values[from + j]);
        }
        return sb.toString();
    }

    private void reportBadLines() {
        StringBuilder sb = new StringBuilder();
        sb.append("skipped ").append(skipped).append(" malformed input line(s); the first:");
        for (int i = 0; i < Math.min(PRINTED_BAD_SAMPLES, badSamples.size()); i++) {
            sb.append("\n  ").append(badSamples.get(i));
        }
        LOG.warn(sb.toString());
        System.err.println(sb);
        Path p = new Path(cfg.output, "skipped-lines.txt");
        try {
            FileSystem fs = p.getFileSystem();
            try (OutputStream out = fs.create(p, FileSystem.WriteMode.OVERWRITE)) {
                out.write((String.join("\n", badSamples) + "\n").getBytes(StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            LOG.warn("cannot write {}: {}", p, e.toString());
        }
    }

    private void progress(String line) {
        LOG.info(line);
        System.out.println(line);
    }

    private void writeFile(String relative, String content) throws IOException {
        Path p = new Path(cfg.output, relative);
        FileSystem fs = p.getFileSystem();
        try (OutputStream out = fs.create(p, FileSystem.WriteMode.OVERWRITE)) {
            out.write(content.getBytes(StandardCharsets.UTF_8));
        }
    }
}
