package org.factorbird.pipeline.train;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;

import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.core.fs.Path;
import org.apache.flink.runtime.state.KeyedStateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.factorbird.pipeline.TrainConfig;
import org.factorbird.pipeline.io.HoldoutSplit;
import org.factorbird.pipeline.io.OutLine;
import org.factorbird.pipeline.io.Rating;
import org.factorbird.ps.ModelSpec;
import org.factorbird.ps.Hashing;
import org.factorbird.ps.PsClient;
import org.factorbird.pipeline.train.PrimitiveLists.FloatList;
import org.factorbird.pipeline.train.PrimitiveLists.IntList;
import org.factorbird.pipeline.train.PrimitiveLists.LongList;
import org.factorbird.ps.protocol.Protocol;

/**
 * Factorbird's training loop, one instance per parallel subtask, after {@code keyBy(row)}.
 *
 * <p>While input arrives it only appends each rating to its row's list state (a blind append, cheap on RocksDB).
 * At end of input it packs every row into one {@link RowData} value plus its parameters {@code [b_i, u_i]}, agrees
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
    /** Rows shuffled together on RocksDB state (see trainEpoch). */
    static final int ROCKSDB_SHUFFLE_WINDOW = 16_384;
    private static final int PRINTED_BAD_SAMPLES = 5;

    // aggregate ids: phase << 32 | epoch
    private static final long AGG_STATS = 1L << 32;
    private static final long AGG_TRAINED = 2L << 32;
    private static final long AGG_EVALUATED = 3L << 32;
    private static final long AGG_DONE = 4L << 32;
    private static final long AGG_RESTORED = 5L << 32;

    private final TrainConfig cfg;

    private transient ListState<Rating> incoming;
    private transient ValueState<RowData> rowState;
    private transient ValueState<float[]> paramState;
    private transient PsClient ps;
    private transient long skipped;
    private transient List<String> badSamples;
    /** Restart attempt of this subtask: part of every aggregate id, so attempts never mix their barriers. */
    private transient int attempt;
    private transient boolean heapState;
    private transient long loadStart;

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
        incoming = getPartitionedState(new ListStateDescriptor<>("incoming", TypeInformation.of(Rating.class)));
        rowState = getPartitionedState(new ValueStateDescriptor<>("rows", TypeInformation.of(RowData.class)));
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
        incoming.add(r);
    }

    @Override
    public void close() throws Exception {
        if (ps != null) {
            ps.close();
            ps = null;
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
                Protocol.AGG_MAX}, packed.sum, packed.trainRatings, packed.testRatings, skipped,
                packed.trainKeys.length, packed.testOnlyRows, packed.min, packed.max, packed.weightSum, loadSeconds);
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
        if (subtask() == 0) {
            long lines = summary.trainRatings + summary.testRatings + summary.skipped;
            progress(String.format(Locale.ROOT, "loaded %,d training and %,d held-out ratings of %,d rows "
                    + "(%,d malformed lines skipped) in %.1f s (%.2fM lines/s); global mean %.4f; %d model(s)",
                    summary.trainRatings, summary.testRatings, summary.rows, summary.skipped, stats[9],
                    lines / stats[9] / 1e6, mu, models));
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
            trainEpoch(packed.trainKeys, batches, md, mu, epoch, loss);
            double[] trained = aggregate(AGG_TRAINED | epoch, sums, loss);
            double seconds = (System.nanoTime() - t0) / 1e9;
            boolean snapshot = cfg.snapshotDir != null && (epoch % cfg.snapshotEvery == 0 || epoch == cfg.epochs);
            if (snapshot) {
                writeSnapshot(packed.trainKeys, epoch); // between two barriers: no subtask is training
            }
            double[] eval = new double[3 * models + 2 + 2 * shards];
            evaluate(packed.testKeys, batch, md, summary, eval);
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
            writeSnapshot(packed.trainKeys, lastEpoch);
            aggregate(AGG_RESTORED | 0xFFFFF, new byte[] {s}, 0);
            if (subtask() == 0) {
                Snapshots.writeManifest(cfg.snapshotDir, lastEpoch, md.width, parallelism());
            }
        }
        int best = summary.best();
        long rowsWritten = writeRows(packed.trainKeys, best);
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

    /** Writes this subtask's rows and its output slice of the columns for the end of {@code epoch}. */
    private void writeSnapshot(long[] keys, int epoch) throws Exception {
        int width = cfg.width();
        org.apache.flink.core.fs.Path dir = Snapshots.epochDir(cfg.snapshotDir, epoch);
        long[] sorted = keys.clone();
        Arrays.sort(sorted);
        float[] rows = new float[sorted.length * width];
        for (int i = 0; i < sorted.length; i++) {
            setCurrentKey(sorted[i]);
            System.arraycopy(paramState.value(), 0, rows, i * width, width);
        }
        Snapshots.write(Snapshots.file(dir, "rows", subtask()), sorted, sorted.length, rows, width);
        LongList colKeys = new LongList(1024);
        FloatList colValues = new FloatList(1024 * width);
        for (int shard = 0; shard < ps.shardCount(); shard++) {
            long cursor = 0;
            while (cursor >= 0) {
                checkInterrupted();
                PsClient.ScanPage page = ps.await(ps.scan(shard, subtask(), parallelism(), cursor, 8192));
                for (int i = 0; i < page.count; i++) {
                    colKeys.add(page.keys[i]);
                }
                for (int i = 0; i < page.count * width; i++) {
                    colValues.add(page.values[i]);
                }
                cursor = page.nextCursor;
            }
        }
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
        long[] owned = packed.trainKeys.clone();
        Arrays.sort(owned);
        long[] restoredRows = new long[1];
        for (org.apache.flink.core.fs.Path f : Snapshots.files(snap.dir, "rows")) {
            Snapshots.read(f, width, (key, values) -> {
                if (Arrays.binarySearch(owned, key) >= 0) {
                    setCurrentKey(key);
                    paramState.update(values.clone());
                    restoredRows[0]++;
                }
            });
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
        long[] trainKeys;
        long[] testKeys;
        double sum;
        double weightSum;
        long trainRatings;
        long testRatings;
        long testOnlyRows;
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
    }

    /** Turns each row's appended ratings into one packed value and initialises its parameters. */
    private Packed pack() throws Exception {
        long[] keys;
        KeyedStateBackend<Long> backend = getKeyedStateBackend();
        try (Stream<Long> stream = backend.getKeys("incoming", VoidNamespace.INSTANCE)) {
            keys = stream.mapToLong(Long::longValue).toArray();
        }
        // Read in the backend's own key order: on RocksDB that is its storage order (sequential reads, not one
        // random seek per row); the key lists are sorted afterwards so that every run shuffles the same order.
        Packed p = new Packed();
        LongList trainKeys = new LongList(keys.length);
        LongList testKeys = new LongList(keys.length);
        LongList cols = new LongList(64);
        FloatList vals = new FloatList(64);
        FloatList weights = new FloatList(64);
        IntList sample = new IntList(16);
        boolean weighted = cfg.weightColumn > 0;
        long sampleSeed = cfg.seed ^ HoldoutSplit.LOSS_SAMPLE_SALT;
        List<ModelSpec.Segment> segments = cfg.segments();
        LongList testCols = new LongList(16);
        FloatList testVals = new FloatList(16);
        for (long key : keys) {
            checkInterrupted();
            setCurrentKey(key);
            cols.clear();
            vals.clear();
            weights.clear();
            sample.clear();
            testCols.clear();
            testVals.clear();
            for (Rating r : incoming.get()) {
                if (r.kind == Rating.TEST) {
                    testCols.add(r.col);
                    testVals.add(r.value);
                } else {
                    if (cfg.lossSample > 0 && HoldoutSplit.unit(sampleSeed, key, r.col) < cfg.lossSample) {
                        sample.add(cols.size());
                    }
                    cols.add(r.col);
                    vals.add(r.value);
                    weights.add(r.weight);
                    // mu is the weighted mean: zero-weight ratings do not move it, as they move nothing else
                    p.sum += (double) r.weight * r.value;
                    p.weightSum += r.weight;
                    if (r.weight > 0) {
                        p.min = Math.min(p.min, r.value);
                        p.max = Math.max(p.max, r.value);
                    }
                }
            }
            incoming.clear();
            rowState.update(new RowData(cols.toArray(), vals.toArray(), weighted ? weights.toArray() : null,
                    sample.size() > 0 ? sample.toArray() : null, testCols.toArray(), testVals.toArray()));
            if (cols.size() > 0) {
                float[] params = new float[cfg.width()];
                ModelSpec.init(cfg.seed ^ ROW_SEED_SALT, segments, key, params, 0);
                paramState.update(params);
                trainKeys.add(key);
                p.trainRatings += cols.size();
            } else {
                p.testOnlyRows++;
            }
            if (testCols.size() > 0 || sample.size() > 0) {
                testKeys.add(key);
                p.testRatings += testCols.size();
            }
        }
        p.trainKeys = trainKeys.toArray();
        p.testKeys = testKeys.toArray();
        if (heapState) {
            java.util.Arrays.sort(p.trainKeys);
            java.util.Arrays.sort(p.testKeys);
        } // on RocksDB the keys stay in storage order: see trainEpoch
        return p;
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
        if (heapState) {
            shuffle(keys, 0, keys.length, seed);
        } else {
            // RocksDB: a global shuffle costs one random seek per row. Keep the storage order of blocks of rows
            // and shuffle within each block, so that reads stay local.
            for (int from = 0; from < keys.length; from += ROCKSDB_SHUFFLE_WINDOW) {
                shuffle(keys, from, Math.min(keys.length, from + ROCKSDB_SHUFFLE_WINDOW), seed + from);
            }
        }
        CompletableFuture<Void> pushes = CompletableFuture.completedFuture(null);
        int[] next = {0};
        Batch current = batches[0];
        fill(current, keys, next, epoch);
        CompletableFuture<Void> pull = current.rows > 0 ? current.pull(ps, false) : null;
        int turn = 0;
        while (pull != null) {
            checkInterrupted();
            Batch following = batches[++turn & 1];
            fill(following, keys, next, epoch); // overlaps the pull in flight
            ps.await(pull);
            loss[md.count] += current.train(md, mu, loss);
            pushes = CompletableFuture.allOf(pushes, current.push(ps));
            pull = following.rows > 0 ? following.pull(ps, false) : null;
            if (!heapState) {
                // RocksDB serializes: write the trained parameters back (heap state holds the live arrays)
                for (int r = 0; r < current.rows; r++) {
                    setCurrentKey(current.rowKeys[r]);
                    paramState.update(current.rowParams[r]);
                }
            }
            current = following;
        }
        ps.await(pushes); // every push applied before this subtask reports the epoch done
    }

    /** Gathers the next batch of rows from state, starting at {@code next[0]}. */
    private void fill(Batch batch, long[] keys, int[] next, int epoch) throws Exception {
        batch.clear();
        int i = next[0];
        while (i < keys.length && batch.rows < cfg.batchRows && batch.ratings < cfg.batchRatings) {
            long key = keys[i++];
            setCurrentKey(key);
            batch.addRow(key, paramState.value(), rowState.value(),
                    Hashing.mix64(cfg.seed ^ Hashing.mix64(key) ^ epoch) | 1);
        }
        next[0] = i;
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
        float[] zeroRow = new float[md.width];
        int i = 0;
        while (i < keys.length) {
            checkInterrupted();
            batch.clear();
            while (i < keys.length && batch.rows < cfg.batchRows && batch.ratings < cfg.batchRatings) {
                long key = keys[i++];
                setCurrentKey(key);
                float[] params = paramState.value();
                // a row without training ratings has no parameters: mu + b_j is its prediction
                batch.addEvalRow(key, params == null ? zeroRow : params, rowState.value());
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

    /** Fisher-Yates over {@code a[from, to)} with a SplitMix64 stream from {@code seed}. */
    private static void shuffle(long[] a, int from, int to, long seed) {
        long st = seed;
        for (int i = to - 1; i > from; i--) {
            st += 0x9E3779B97F4A7C15L;
            int j = from + (int) Long.remainderUnsigned(Hashing.mix64(st), i - from + 1);
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

    private long writeRows(long[] keys, int best) throws Exception {
        java.util.Arrays.sort(keys);
        StringBuilder sb = new StringBuilder(256);
        int[] models = written(best);
        for (long key : keys) {
            checkInterrupted();
            setCurrentKey(key);
            float[] p = paramState.value();
            for (int slot = 0; slot < models.length; slot++) {
                int m = models[slot];
                output.collect(new StreamRecord<>(new OutLine(bucket(slot, m, "rows"),
                        formatLine(sb, key, p, cfg.offsets[m], cfg.models.get(m).rank + 1))));
            }
        }
        return keys.length;
    }

    private long writeColumns(int best) throws Exception {
        StringBuilder sb = new StringBuilder(256);
        int width = cfg.width();
        int[] models = written(best);
        long written = 0;
        for (int shard = 0; shard < ps.shardCount(); shard++) {
            long cursor = 0;
            while (cursor >= 0) {
                checkInterrupted();
                PsClient.ScanPage page = ps.await(ps.scan(shard, subtask(), parallelism(), cursor, 8192));
                for (int i = 0; i < page.count; i++) {
                    for (int slot = 0; slot < models.length; slot++) {
                        int m = models[slot];
                        output.collect(new StreamRecord<>(new OutLine(bucket(slot, m, "columns"), formatLine(sb,
                                page.keys[i], page.values, i * width + cfg.offsets[m], cfg.models.get(m).rank + 1))));
                    }
                }
                written += page.count;
                cursor = page.nextCursor;
            }
        }
        return written;
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
