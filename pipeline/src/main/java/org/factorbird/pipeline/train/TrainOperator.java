package org.factorbird.pipeline.train;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;

import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;
import org.apache.flink.runtime.state.KeyedStateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.util.OutputTag;
import org.factorbird.pipeline.TrainConfig;
import org.factorbird.pipeline.io.Rating;
import org.factorbird.ps.Hashing;
import org.factorbird.ps.PsClient;
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
public class TrainOperator extends AbstractStreamOperator<String>
        implements OneInputStreamOperator<Rating, String>, BoundedOneInput {

    private static final long serialVersionUID = 1L;

    /** Side output carrying the column lines; the main output carries the row lines. */
    public static final OutputTag<String> COLUMNS = new OutputTag<>("columns", Types.STRING);

    static final long ROW_SEED_SALT = 0x726F777321L;
    private static final int MAX_BAD_SAMPLES = 100;
    private static final int PRINTED_BAD_SAMPLES = 5;

    // aggregate ids: phase << 32 | epoch
    private static final long AGG_STATS = 1L << 32;
    private static final long AGG_TRAINED = 2L << 32;
    private static final long AGG_EVALUATED = 3L << 32;
    private static final long AGG_DONE = 4L << 32;

    private final TrainConfig cfg;

    private transient ListState<Rating> incoming;
    private transient ValueState<RowData> rowState;
    private transient ValueState<float[]> paramState;
    private transient PsClient ps;
    private transient long skipped;
    private transient List<String> badSamples;

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
        ps = PsClient.connect(cfg.psClientConfig());
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
        return ps.awaitUnbounded(ps.aggregate(id, parallelism(), ops, values));
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
        double[] stats = aggregate(AGG_STATS, new byte[] {s, s, s, s, s, s, Protocol.AGG_MIN, Protocol.AGG_MAX},
                packed.sum, packed.trainRatings, packed.testRatings, skipped, packed.trainKeys.length,
                packed.testOnlyRows, packed.min, packed.max);
        long trainRatings = (long) stats[1];
        if (trainRatings == 0) {
            throw new IllegalStateException("no valid training ratings in " + cfg.input
                    + (stats[3] > 0 ? " (" + (long) stats[3] + " malformed lines skipped)" : " (the input is empty)"));
        }
        float mu = (float) (stats[0] / stats[1]);
        Summary summary = new Summary(mu, trainRatings, (long) stats[2], (long) stats[3], (long) stats[4],
                (long) stats[5], (float) stats[6], (float) stats[7]);
        if (subtask() == 0) {
            progress(String.format(Locale.ROOT, "loaded %,d training and %,d held-out ratings of %,d rows "
                    + "(%,d malformed lines skipped); global mean %.4f", summary.trainRatings, summary.testRatings,
                    summary.rows, summary.skipped, mu));
        }

        Batch batch = new Batch(cfg.dim(), 1 << 16);
        for (int epoch = 1; epoch <= cfg.epochs; epoch++) {
            long t0 = System.nanoTime();
            double loss = trainEpoch(packed.trainKeys, batch, mu, epoch);
            double[] trained = aggregate(AGG_TRAINED | epoch, new byte[] {s, s}, loss, packed.trainRatings);
            double seconds = (System.nanoTime() - t0) / 1e9;
            double[] eval = evaluate(packed.testKeys, batch, summary);
            double[] evaluated = aggregate(AGG_EVALUATED | epoch, new byte[] {s, s, s}, eval[0], eval[1], eval[2]);
            EpochMetrics m = new EpochMetrics(epoch, Math.sqrt(trained[0] / trained[1]),
                    evaluated[2] > 0 ? Math.sqrt(evaluated[0] / evaluated[2]) : Double.NaN,
                    evaluated[2] > 0 ? evaluated[1] / evaluated[2] : Double.NaN, trained[1] / seconds, seconds);
            summary.epochs.add(m);
            if (subtask() == 0) {
                progress(m.line(cfg.epochs));
            }
        }

        long rowsWritten = writeRows(packed.trainKeys);
        long columnsWritten = writeColumns();
        double[] done = aggregate(AGG_DONE, new byte[] {s, s}, rowsWritten, columnsWritten);
        if (subtask() == 0) {
            summary.rowsWritten = (long) done[0];
            summary.columnsWritten = (long) done[1];
            writeModelJson(summary);
        }
    }

    /** What {@link #pack} learned about this subtask's rows. */
    private static final class Packed {
        long[] trainKeys;
        long[] testKeys;
        double sum;
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
        java.util.Arrays.sort(keys); // a fixed order makes runs reproducible
        Packed p = new Packed();
        LongList trainKeys = new LongList(keys.length);
        LongList testKeys = new LongList(keys.length);
        LongList cols = new LongList(64);
        FloatList vals = new FloatList(64);
        LongList testCols = new LongList(16);
        FloatList testVals = new FloatList(16);
        for (long key : keys) {
            checkInterrupted();
            setCurrentKey(key);
            cols.clear();
            vals.clear();
            testCols.clear();
            testVals.clear();
            for (Rating r : incoming.get()) {
                if (r.kind == Rating.TEST) {
                    testCols.add(r.col);
                    testVals.add(r.value);
                } else {
                    cols.add(r.col);
                    vals.add(r.value);
                    p.sum += r.value;
                    p.min = Math.min(p.min, r.value);
                    p.max = Math.max(p.max, r.value);
                }
            }
            incoming.clear();
            rowState.update(new RowData(cols.toArray(), vals.toArray(), testCols.toArray(), testVals.toArray()));
            if (cols.size() > 0) {
                float[] params = new float[cfg.dim()];
                Hashing.initParams(cfg.seed ^ ROW_SEED_SALT, key, cfg.initStd, 1, params, 0, cfg.dim());
                paramState.update(params);
                trainKeys.add(key);
                p.trainRatings += cols.size();
            } else {
                p.testOnlyRows++;
            }
            if (testCols.size() > 0) {
                testKeys.add(key);
                p.testRatings += testCols.size();
            }
        }
        p.trainKeys = trainKeys.toArray();
        p.testKeys = testKeys.toArray();
        return p;
    }

    private double trainEpoch(long[] keys, Batch batch, float mu, int epoch) throws Exception {
        shuffle(keys, Hashing.mix64(cfg.seed + epoch * 0x9E3779B97F4A7C15L));
        double loss = 0;
        CompletableFuture<Void> pushes = CompletableFuture.completedFuture(null);
        int i = 0;
        while (i < keys.length) {
            checkInterrupted();
            batch.clear();
            while (i < keys.length && batch.rows < cfg.batchRows && batch.ratings < cfg.batchRatings) {
                long key = keys[i++];
                setCurrentKey(key);
                RowData row = rowState.value();
                batch.addRow(key, paramState.value(), row.cols, row.vals,
                        Hashing.mix64(cfg.seed ^ Hashing.mix64(key) ^ epoch) | 1);
            }
            ps.await(batch.pull(ps, false));
            loss += batch.train(mu, cfg.learningRate, cfg.lambda, cfg.lambdaBias);
            pushes = CompletableFuture.allOf(pushes, batch.push(ps));
            for (int r = 0; r < batch.rows; r++) {
                setCurrentKey(batch.rowKeys[r]);
                paramState.update(batch.rowParams[r]);
            }
        }
        ps.await(pushes); // every push applied before this subtask reports the epoch done
        return loss;
    }

    /** Held-out squared error, absolute error and count of this subtask's rows. */
    private double[] evaluate(long[] keys, Batch batch, Summary s) throws Exception {
        double[] acc = new double[3];
        float[] zeroRow = new float[cfg.dim()];
        int i = 0;
        while (i < keys.length) {
            checkInterrupted();
            batch.clear();
            while (i < keys.length && batch.rows < cfg.batchRows && batch.ratings < cfg.batchRatings) {
                long key = keys[i++];
                setCurrentKey(key);
                RowData row = rowState.value();
                float[] params = paramState.value();
                // a row without training ratings has no parameters: mu + b_j is its prediction
                batch.addRow(key, params == null ? zeroRow : params, row.testCols, row.testVals, 0);
            }
            // read-only: a column seen only in held-out data predicts from mu + b_i and is not created
            ps.await(batch.pull(ps, true));
            batch.evaluate(s.mu, s.min, s.max, acc);
            acc[2] += batch.ratings;
        }
        return acc;
    }

    private static void shuffle(long[] a, long seed) {
        long st = seed;
        for (int i = a.length - 1; i > 0; i--) {
            st += 0x9E3779B97F4A7C15L;
            int j = (int) Long.remainderUnsigned(Hashing.mix64(st), i + 1);
            long t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    // ------------------------------------------------------------------------------------------------
    //  output
    // ------------------------------------------------------------------------------------------------

    private long writeRows(long[] keys) throws Exception {
        java.util.Arrays.sort(keys);
        StringBuilder sb = new StringBuilder(256);
        for (long key : keys) {
            checkInterrupted();
            setCurrentKey(key);
            float[] p = paramState.value();
            output.collect(new StreamRecord<>(formatLine(sb, key, p, 0, p.length)));
        }
        return keys.length;
    }

    private long writeColumns() throws Exception {
        StringBuilder sb = new StringBuilder(256);
        int dim = cfg.dim();
        long written = 0;
        for (int shard = 0; shard < ps.shardCount(); shard++) {
            long cursor = 0;
            while (cursor >= 0) {
                checkInterrupted();
                PsClient.ScanPage page = ps.await(ps.scan(shard, subtask(), parallelism(), cursor, 8192));
                for (int i = 0; i < page.count; i++) {
                    output.collect(COLUMNS, new StreamRecord<>(formatLine(sb, page.keys[i], page.values, i * dim, dim)));
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

    private void writeModelJson(Summary s) throws IOException {
        Path p = new Path(cfg.output, "model.json");
        FileSystem fs = p.getFileSystem();
        try (OutputStream out = fs.create(p, FileSystem.WriteMode.OVERWRITE)) {
            out.write(s.toJson(cfg).getBytes(StandardCharsets.UTF_8));
        }
    }

    // ------------------------------------------------------------------------------------------------

    /** Growable primitive long list (no boxing while packing). */
    static final class LongList {
        long[] a;
        int n;

        LongList(int cap) {
            a = new long[Math.max(4, cap)];
        }

        void add(long v) {
            if (n == a.length) {
                a = java.util.Arrays.copyOf(a, n * 2);
            }
            a[n++] = v;
        }

        int size() {
            return n;
        }

        void clear() {
            n = 0;
        }

        long[] toArray() {
            return java.util.Arrays.copyOf(a, n);
        }
    }

    /** Growable primitive float list. */
    static final class FloatList {
        float[] a;
        int n;

        FloatList(int cap) {
            a = new float[Math.max(4, cap)];
        }

        void add(float v) {
            if (n == a.length) {
                a = java.util.Arrays.copyOf(a, n * 2);
            }
            a[n++] = v;
        }

        void clear() {
            n = 0;
        }

        float[] toArray() {
            return java.util.Arrays.copyOf(a, n);
        }
    }
}
