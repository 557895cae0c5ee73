package org.factorbird.pipeline.train;

import java.util.Locale;

import org.apache.flink.core.fs.Path;
import org.factorbird.pipeline.TrainConfig;
import org.factorbird.pipeline.sgd.LongIntMap;
import org.factorbird.pipeline.sgd.PrimitiveLists.FloatList;
import org.factorbird.pipeline.sgd.PrimitiveLists.LongList;
import org.factorbird.ps.Hashing;
import org.factorbird.ps.PsClient;

/**
 * Writes one subtask's part of an epoch snapshot ({@link Snapshots}: its rows and its output slice of the columns)
 * and restores from the newest complete one, after a failure (--snapshot-dir) or for a warm start (--resume).
 */
final class SnapshotIo {

    private final TrainConfig cfg;
    private final BlockStore store;
    private final PsClient ps;
    private final Coordinator coordinator;
    private final RunReport report;
    private final int subtask;
    private final int parallelism;
    private final int attempt;

    SnapshotIo(TrainConfig cfg, BlockStore store, PsClient ps, Coordinator coordinator, RunReport report, int subtask,
            int parallelism, int attempt) {
        this.cfg = cfg;
        this.store = store;
        this.ps = ps;
        this.coordinator = coordinator;
        this.report = report;
        this.subtask = subtask;
        this.parallelism = parallelism;
        this.attempt = attempt;
    }

    boolean enabled() {
        return cfg.snapshotDir != null;
    }

    /** Whether the end of {@code epoch} is snapshotted: every --snapshot-every epochs and after the last one. */
    boolean due(int epoch) {
        return enabled() && (epoch % cfg.snapshotEvery == 0 || epoch == cfg.epochs);
    }

    /** Writes this subtask's rows and its output slice of the columns for the end of {@code epoch}. */
    void write(long[] blockKeys, int epoch) throws Exception {
        int width = cfg.width();
        Path dir = Snapshots.epochDir(cfg.snapshotDir, epoch);
        LongList rowKeys = new LongList(1024);
        FloatList rows = new FloatList(1024 * width);
        store.forEachTrainedRow(blockKeys, (key, params, offset) -> {
            rowKeys.add(key);
            for (int k = 0; k < width; k++) {
                rows.add(params[offset + k]);
            }
        });
        Snapshots.write(Snapshots.file(dir, "rows", subtask), rowKeys.a, rowKeys.n, rows.a, width);
        LongList colKeys = new LongList(1024);
        FloatList colValues = new FloatList(1024 * width);
        ColumnSlice.forEachPage(ps, subtask, parallelism, page -> {
            for (int i = 0; i < page.count; i++) {
                colKeys.add(page.keys[i]);
            }
            for (int i = 0; i < page.count * width; i++) {
                colValues.add(page.values[i]);
            }
        });
        Snapshots.write(Snapshots.file(dir, "columns", subtask), colKeys.a, colKeys.n, colValues.a, width);
    }

    /**
     * Marks the snapshot of {@code epoch} complete, with which models had stopped by then; call after a barrier
     * that every writer has passed.
     */
    void commit(int epoch, FlatModels models) throws Exception {
        if (subtask == 0) {
            Snapshots.writeManifest(cfg.snapshotDir, epoch, cfg.width(), parallelism, models.stoppedAt);
        }
    }

    /**
     * Restores rows and columns from the newest complete snapshot of --snapshot-dir (after a failure) or of
     * --resume (a warm start); returns its epoch, or 0 when starting fresh. Every subtask restores the rows it owns
     * and the columns of its output slice, then all wait for each other. Models that had stopped by the snapshot
     * ({@code --prune}) stop again in {@code models}.
     */
    int restore(long[] blockKeys, FlatModels models) throws Exception {
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
        for (int m = 0; m < snap.stoppedAt.length && m < models.count; m++) {
            if (snap.stoppedAt[m] > 0) {
                models.stop(m, snap.stoppedAt[m]);
            }
        }
        long rows = restoreRows(snap, blockKeys, width);
        long columns = restoreColumns(snap, width);
        double[] total = coordinator.restored(snap.epoch, rows, columns);
        report.progress(String.format(Locale.ROOT, "resuming after epoch %d from the snapshot in %s (%,d "
                + "rows, %,d columns restored; restart attempt %d)", snap.epoch, snap.dir, (long) total[0],
                (long) total[1], attempt));
        return snap.epoch;
    }

    /** Indexes this subtask's trained rows, reads the snapshot's values for them, writes them into the blocks. */
    private long restoreRows(Snapshots.Manifest snap, long[] blockKeys, int width) throws Exception {
        LongIntMap owned = new LongIntMap(1024);
        store.forEachTrainedRow(blockKeys, (key, params, offset) -> owned.indexOf(key));
        float[] restored = new float[owned.size() * width];
        boolean[] found = new boolean[owned.size()];
        long[] count = new long[1];
        for (Path f : Snapshots.files(snap.dir, "rows")) {
            Snapshots.read(f, width, (key, values) -> {
                int i = owned.find(key);
                if (i >= 0 && !found[i]) {
                    found[i] = true;
                    System.arraycopy(values, 0, restored, i * width, width);
                    count[0]++;
                }
            });
        }
        for (long bk : blockKeys) {
            store.select(bk);
            RowBlock block = store.block();
            float[] params = store.params();
            for (int r = 0; r < block.rows(); r++) {
                int i = block.trainCount(r) > 0 ? owned.find(block.keys[r]) : -1;
                if (i >= 0 && found[i]) {
                    System.arraycopy(restored, i * width, params, r * width, width);
                }
            }
            store.writeBack(bk, params);
        }
        return count[0];
    }

    /** Sets this subtask's output slice of the snapshot's columns on the PS, in pages. */
    private long restoreColumns(Snapshots.Manifest snap, int width) throws Exception {
        long[] keys = new long[ColumnSlice.PAGE_KEYS];
        float[] values = new float[ColumnSlice.PAGE_KEYS * width];
        int[] n = new int[1];
        long[] count = new long[1];
        for (Path f : Snapshots.files(snap.dir, "columns")) {
            Snapshots.read(f, width, (key, v) -> {
                if (Hashing.sliceOf(key, parallelism) == subtask) {
                    keys[n[0]] = key;
                    System.arraycopy(v, 0, values, n[0] * width, width);
                    if (++n[0] == keys.length) {
                        ps.await(ps.set(keys, n[0], values));
                        count[0] += n[0];
                        n[0] = 0;
                    }
                }
            });
        }
        if (n[0] > 0) {
            ps.await(ps.set(keys, n[0], values));
            count[0] += n[0];
        }
        return count[0];
    }
}
