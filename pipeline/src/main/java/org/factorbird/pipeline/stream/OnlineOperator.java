package org.factorbird.pipeline.stream;

import java.io.BufferedWriter;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.api.common.operators.ProcessingTimeService.ProcessingTimeCallback;
import org.factorbird.pipeline.io.FloatText;
import org.factorbird.pipeline.io.Rating;
import org.factorbird.pipeline.model.ModelDir;
import org.factorbird.pipeline.train.Snapshots;
import org.factorbird.ps.PsClient;

/**
 * Online SGD over an unbounded stream of ratings, one instance per subtask after {@code keyBy(row)}: row factors
 * in keyed state, column factors on the PS, as in training.
 *
 * <ul>
 *   <li><b>Warm start</b> (a fresh job): every subtask reads the model's row files and keeps the rows of its key
 *       groups; subtask i sets the PS columns of every i-th column file; all wait at a barrier before training.</li>
 *   <li><b>Batches</b> ({@link OnlineBatch}): ratings gather until {@code --batch-ratings} or {@code --batch-ms}; a
 *       batch pulls each of its distinct columns once, predicts every rating before its step (prequential error),
 *       steps the rows in state and the pulled copies, and pushes the summed column deltas (Hogwild! across
 *       subtasks).</li>
 *   <li><b>Checkpoints</b>: at a checkpoint every subtask trains what it holds and waits for its pushes, then all
 *       meet at a barrier; each writes its slice of the columns under {@code OUT/.checkpoints/<id>/}, and meets the
 *       others again before training on. Rows (keyed state), the source's position and those columns are thus one
 *       consistent cut. A restart (a new PS table) sets the columns of the checkpoint it resumes from: no rating is
 *       lost or trained twice, on either side.</li>
 *   <li><b>Exports</b>: the first checkpoint after every {@code --export-every} seconds also writes the rows and
 *       columns as a model directory {@code OUT/<time>/}; once Flink completes that checkpoint, subtask 0 names it in
 *       {@code OUT/LATEST}. An export whose checkpoint failed is never named.</li>
 * </ul>
 */
public final class OnlineOperator extends AbstractStreamOperator<Void>
        implements OneInputStreamOperator<Rating, Void>, ProcessingTimeCallback {

    private static final long serialVersionUID = 1L;

    /** Barrier kinds (bits 32..39 of the aggregate id; the low bits hold the checkpoint id). */
    private static final long LOADED = 0x21L << 32;
    private static final long FLUSHED = 0x22L << 32;
    private static final long WRITTEN = 0x23L << 32;

    private final StreamConfig cfg;

    private transient ValueState<float[]> rows;
    /** The prequential totals and skipped lines at the last checkpoint: {n, squares, absolutes, skipped}. */
    private transient org.apache.flink.api.common.state.ListState<double[]> savedTotals;
    private transient double[] restoredTotals;
    private transient PsClient ps;
    private transient int attempt;
    private transient long restoredFrom;
    /** The ratings gathered since the last batch trained. */
    private transient OnlineBatch batch;
    private transient CompletableFuture<Void> pushes;
    private transient Prequential prequential;
    private transient StreamMetrics metrics;
    private transient long nextExportMillis;
    /** Checkpoint id -> export directory written with it, until Flink completes it. */
    private transient java.util.Map<Long, String> pendingExports;

    public OnlineOperator(StreamConfig cfg) {
        this.cfg = cfg;
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        rows = getPartitionedState(new ValueStateDescriptor<>("row", TypeInformation.of(float[].class)));
        restoredFrom = context.getRestoredCheckpointId().orElse(-1L);
        savedTotals = context.getOperatorStateStore().getListState(new org.apache.flink.api.common.state.ListStateDescriptor<>(
                "prequential-totals", TypeInformation.of(double[].class)));
        restoredTotals = new double[4];
        for (double[] t : savedTotals.get()) {
            for (int i = 0; i < 4; i++) {
                restoredTotals[i] += t[i];
            }
        }
    }

    @Override
    public void open() throws Exception {
        super.open();
        attempt = getRuntimeContext().getTaskInfo().getAttemptNumber();
        pushes = CompletableFuture.completedFuture(null);
        prequential = new Prequential(cfg.window);
        prequential.restoreTotals((long) restoredTotals[0], restoredTotals[1], restoredTotals[2]);
        metrics = new StreamMetrics(getMetricGroup(), prequential);
        metrics.restoreSkipped((long) restoredTotals[3]);
        batch = new OnlineBatch(cfg, prequential);
        pendingExports = new java.util.HashMap<>();
        nextExportMillis = System.currentTimeMillis() + cfg.exportEvery * 1000L;
        ps = PsClient.connect(cfg.psClientConfig(attempt));
        ModelDir model = ModelDir.open(cfg.model);
        if (restoredFrom < 0) {
            loadRows(model);
            loadColumns(model.files("columns"), model);
        } else {
            // a restart: the columns of the checkpoint whose rows and source position Flink restored
            loadColumns(Exports.checkpointColumns(cfg.output, restoredFrom), model);
        }
        barrier(LOADED, 0);
        long now = getProcessingTimeService().getCurrentProcessingTime();
        getProcessingTimeService().registerTimer(now + cfg.batchMs, this);
    }

    /** This subtask's rows of the model: those whose key group it owns. */
    private void loadRows(ModelDir model) throws Exception {
        int subtask = subtask();
        int parallelism = getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks();
        int maxParallelism = getRuntimeContext().getTaskInfo().getMaxNumberOfParallelSubtasks();
        for (Path f : model.files("rows")) {
            model.read(f, (id, values) -> {
                if (KeyGroupRangeAssignment.assignKeyToParallelOperator(id, maxParallelism, parallelism) == subtask) {
                    setCurrentKey(id);
                    rows.update(values.clone());
                }
            });
        }
    }

    /** Sets the columns of every parallelism-th file of {@code files}, from this subtask's index on. */
    private void loadColumns(List<Path> files, ModelDir model) throws Exception {
        int parallelism = getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks();
        int w = cfg.width();
        long[] keys = new long[4096];
        float[] values = new float[4096 * w];
        int[] n = {0};
        for (int i = subtask(); i < files.size(); i += parallelism) {
            model.read(files.get(i), (id, v) -> {
                keys[n[0]] = id;
                System.arraycopy(v, 0, values, n[0] * w, w);
                if (++n[0] == keys.length) {
                    ps.await(ps.set(keys, n[0], values));
                    n[0] = 0;
                }
            });
        }
        if (n[0] > 0) {
            ps.await(ps.set(keys, n[0], values));
        }
    }

    @Override
    public void processElement(StreamRecord<Rating> element) throws Exception {
        Rating r = element.getValue();
        if (r.kind == Rating.BAD) {
            metrics.skipped(r.note);
            return;
        }
        if (r.kind != Rating.TRAIN) {
            return;
        }
        if (batch.add(r)) {
            train();
        }
    }

    @Override
    public void onProcessingTime(long time) throws Exception {
        train();
        getProcessingTimeService().registerTimer(time + cfg.batchMs, this);
    }

    /** Trains the gathered ratings, if any, as one batch (pull, steps, push). */
    private void train() throws Exception {
        int n = batch.size();
        CompletableFuture<Void> push = batch.train(ps, rows, this::setCurrentKey);
        if (push != null) {
            // pushes go out on the connections the next pull uses: it sees them (bounded staleness, as in training)
            pushes = CompletableFuture.allOf(pushes, push);
            metrics.trained(n, batch.seconds);
        }
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        train();
        ps.await(pushes);
        pushes = CompletableFuture.completedFuture(null);
        long id = context.getCheckpointId();
        if (subtask() == 0) {
            // a checkpoint id can come again after a restore from an older one: no part of an earlier writer stays
            Exports.clearCheckpoint(cfg.output, id);
        }
        // subtask 0 alone decides whether this checkpoint is an export (the others' clocks started elsewhere)
        boolean due = subtask() == 0 && context.getCheckpointTimestamp() >= nextExportMillis;
        // every subtask has applied what it trained before this checkpoint; nobody trains until all have written
        boolean exporting = barrier(FLUSHED, id, due ? 1 : 0)[0] > 0;
        Exports.writeColumns(ps, Exports.checkpointDir(cfg.output, id), subtask(), parallelism(), cfg.width());
        String export = null;
        long rowsWritten = 0;
        long columnsWritten = 0;
        if (exporting) {
            nextExportMillis = context.getCheckpointTimestamp() + cfg.exportEvery * 1000L;
            export = Exports.exportDir(cfg.output, context.getCheckpointTimestamp());
            columnsWritten = Exports.writeColumns(ps, export, subtask(), parallelism(), cfg.width(),
                    Exports.snapshotEpochDir(export, cfg));
            rowsWritten = writeRows(new Path(export, "rows/part-" + subtask()), Exports.snapshotEpochDir(export, cfg));
            pendingExports.put(id, export);
        }
        double[] totals = barrier(WRITTEN, id, prequential.total(), rowsWritten, columnsWritten,
                prequential.totalSquares(), prequential.totalAbsolutes(), metrics.skipped());
        if (export != null && subtask() == 0) {
            Exports.writeSnapshotManifest(export, cfg, parallelism());
            Exports.writeModelJson(export, cfg, (long) totals[0], (long) totals[1], (long) totals[2]);
            Exports.writeStreamJson(export, new StreamFile(id, (long) totals[0],
                    totals[0] > 0 ? Math.sqrt(totals[3] / totals[0]) : null,
                    totals[0] > 0 ? totals[4] / totals[0] : null, (long) totals[5]));
        }
        savedTotals.clear();
        savedTotals.add(new double[] {prequential.total(), prequential.totalSquares(), prequential.totalAbsolutes(),
                metrics.skipped()});
        super.snapshotState(context);
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) throws Exception {
        super.notifyCheckpointComplete(checkpointId);
        String export = pendingExports.remove(checkpointId);
        if (subtask() == 0) {
            if (export != null) {
                Exports.markLatest(cfg.output, export);
                metrics.exported(export);
            }
            Exports.dropCheckpointsBefore(cfg.output, checkpointId);
        }
        pendingExports.keySet().removeIf(id -> id < checkpointId);
    }

    /**
     * This subtask's rows from keyed state, as factor lines and into {@code snapshot} (the format of training's
     * snapshots, for {@code train --resume}); returns how many.
     */
    private long writeRows(Path file, Path snapshot) throws Exception {
        FileSystem fs = file.getFileSystem();
        StringBuilder sb = new StringBuilder(256);
        long[] keys = getKeyedStateBackend().<VoidNamespace>getKeys("row", VoidNamespace.INSTANCE)
                .mapToLong(k -> (Long) k).sorted().toArray();
        int w = cfg.width();
        float[] all = new float[keys.length * w];
        try (BufferedWriter out = new BufferedWriter(new OutputStreamWriter(
                fs.create(file, FileSystem.WriteMode.OVERWRITE), StandardCharsets.UTF_8), 1 << 16)) {
            for (int i = 0; i < keys.length; i++) {
                long k = keys[i];
                setCurrentKey(k);
                float[] u = rows.value();
                System.arraycopy(u, 0, all, i * w, w);
                sb.setLength(0);
                sb.append(k);
                for (float v : u) {
                    FloatText.append(sb.append('\t'), v);
                }
                out.write(sb.append('\n').toString());
            }
        }
        Snapshots.write(Snapshots.file(snapshot, "rows", subtask()), keys, keys.length, all, w);
        return keys.length;
    }

    /** All subtasks meet; returns the sums of {@code values} over them. */
    private double[] barrier(long kind, long id, double... values) {
        long aggregate = kind | (id & 0xFFFFFL) | ((long) attempt << 40);
        if (values.length == 0) {
            values = new double[] {0};
        }
        byte[] ops = new byte[values.length]; // sums
        return ps.awaitUnbounded(ps.aggregate(aggregate, parallelism(), ops, values));
    }

    private int subtask() {
        return getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
    }

    private int parallelism() {
        return getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks();
    }

    @Override
    public void close() throws Exception {
        if (ps != null) {
            ps.close();
            ps = null;
        }
        super.close();
    }

}
