package org.factorbird.pipeline.stream;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;

import org.apache.flink.core.fs.FileStatus;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;
import org.factorbird.pipeline.io.FloatText;
import org.factorbird.pipeline.model.Json;
import org.factorbird.pipeline.model.ModelFile;
import org.factorbird.pipeline.train.Snapshots;
import org.factorbird.ps.PsClient;

/**
 * The files of a streaming job under its output directory, on any Flink file system:
 *
 * <pre>
 *   OUT/.checkpoints/&lt;id&gt;/columns/part-&lt;s&gt;   the columns at checkpoint id (slice s of subtask s)
 *   OUT/&lt;yyyyMMdd-HHmmss&gt;/                        an export: model.json, rows/, columns/ (a model directory),
 *                                               stream.json, and snapshot/ (for train --resume)
 *   OUT/LATEST                                  the name of the newest export whose checkpoint completed
 * </pre>
 */
public final class Exports {

    static final String LATEST = "LATEST";
    static final int PAGE_KEYS = 8192;
    private static final DateTimeFormatter NAME = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss-SSS")
            .withZone(ZoneOffset.UTC);

    private Exports() {}

    static String checkpointDir(String out, long id) {
        return new Path(new Path(out, ".checkpoints"), String.valueOf(id)).toString();
    }

    static String exportDir(String out, long timestampMillis) {
        return new Path(out, NAME.format(Instant.ofEpochMilli(timestampMillis))).toString();
    }

    /** Deletes what an earlier writer left under checkpoint {@code id} (ids repeat after a restore). */
    static void clearCheckpoint(String out, long id) throws IOException {
        Path dir = new Path(checkpointDir(out, id));
        FileSystem fs = dir.getFileSystem();
        if (fs.exists(dir)) {
            fs.delete(dir, true);
        }
    }

    /** The column files written with checkpoint {@code id}; fails in one line when they are gone. */
    static List<Path> checkpointColumns(String out, long id) throws IOException {
        Path dir = new Path(checkpointDir(out, id), "columns");
        FileSystem fs = dir.getFileSystem();
        if (!fs.exists(dir)) {
            throw new IOException("cannot restore checkpoint " + id + ": its columns are not in " + dir
                    + " (was --output changed or cleaned?)");
        }
        List<Path> files = new ArrayList<>();
        for (FileStatus st : fs.listStatus(dir)) {
            if (st.getPath().getName().startsWith("part-")) {
                files.add(st.getPath());
            }
        }
        files.sort((a, b) -> a.getName().compareTo(b.getName()));
        return files;
    }

    /** The snapshot of an export: training's format, at the starting model's epoch count. */
    static Path snapshotEpochDir(String export, StreamConfig cfg) {
        return Snapshots.epochDir(new Path(export, "snapshot").toString(), epochs(cfg));
    }

    private static int epochs(StreamConfig cfg) {
        return cfg.start.settings() == null ? 1 : Math.max(1, cfg.start.settings().epochs());
    }

    /** Completes the export's snapshot: written last, by subtask 0, once every subtask has written its files. */
    static void writeSnapshotManifest(String export, StreamConfig cfg, int parallelism) throws IOException {
        Snapshots.writeManifest(new Path(export, "snapshot").toString(), epochs(cfg), cfg.width(), parallelism,
                new int[] {0});
    }

    /**
     * Writes slice {@code slice} of the PS columns to {@code dir/columns/part-<slice>} (and, for an export, into its
     * snapshot); returns how many.
     */
    static long writeColumns(PsClient ps, String dir, int slice, int slices, int width) throws IOException {
        return writeColumns(ps, dir, slice, slices, width, null);
    }

    static long writeColumns(PsClient ps, String dir, int slice, int slices, int width, Path snapshot)
            throws IOException {
        Path file = new Path(dir, "columns/part-" + slice);
        FileSystem fs = file.getFileSystem();
        long written = 0;
        org.factorbird.pipeline.sgd.PrimitiveLists.LongList keys = new org.factorbird.pipeline.sgd.PrimitiveLists
                .LongList(snapshot == null ? 4 : PAGE_KEYS);
        org.factorbird.pipeline.sgd.PrimitiveLists.FloatList values = new org.factorbird.pipeline.sgd.PrimitiveLists
                .FloatList(snapshot == null ? 4 : PAGE_KEYS * width);
        StringBuilder sb = new StringBuilder(256);
        try (BufferedWriter out = new BufferedWriter(new OutputStreamWriter(
                fs.create(file, FileSystem.WriteMode.OVERWRITE), StandardCharsets.UTF_8), 1 << 16)) {
            for (int shard = 0; shard < ps.shardCount(); shard++) {
                long cursor = 0;
                while (cursor >= 0) {
                    PsClient.ScanPage page = ps.await(ps.scan(shard, slice, slices, cursor, PAGE_KEYS));
                    for (int i = 0; i < page.count; i++) {
                        sb.setLength(0);
                        sb.append(page.keys[i]);
                        for (int j = 0; j < width; j++) {
                            FloatText.append(sb.append('\t'), page.values[i * width + j]);
                            if (snapshot != null) {
                                values.add(page.values[i * width + j]);
                            }
                        }
                        if (snapshot != null) {
                            keys.add(page.keys[i]);
                        }
                        out.write(sb.append('\n').toString());
                    }
                    written += page.count;
                    cursor = page.nextCursor;
                }
            }
        }
        if (snapshot != null) {
            Snapshots.write(Snapshots.file(snapshot, "columns", slice), keys.a, keys.n, values.a, width);
        }
        return written;
    }

    /** model.json of an export: the starting model's, with the stream's counts and settings. */
    static void writeModelJson(String export, StreamConfig cfg, long streamed, long rows, long columns)
            throws IOException {
        ModelFile s = cfg.start;
        ModelFile.Counts c = s.counts();
        ModelFile.HyperParameters hp = s.hyperParameters();
        ModelFile.HyperParameters online = hp == null ? null : new ModelFile.HyperParameters(hp.rank(),
                cfg.learningRate, cfg.lambda, cfg.lambdaBias, "constant", 0f, hp.initStd());
        ModelFile m = new ModelFile(s.format(), s.globalMean(), s.rank(), s.lineFormat(), cfg.input, null, null,
                online, s.settings(), new ModelFile.Counts((c == null ? 0 : c.trainRatings()) + streamed, 0, rows,
                        columns, 0, 0, 0), s.ratingRange(), null, 0, cfg.parallelism, cfg.psServers.size(), "heap",
                null, null, null, null, null, null, s.epochs(), null);
        Json.write(new Path(export, "model.json"), m);
    }

    /** stream.json of an export: what the stream had done at its checkpoint. */
    static void writeStreamJson(String export, StreamFile f) throws IOException {
        Json.write(new Path(export, StreamFile.NAME), f);
    }

    /** Names {@code export} in OUT/LATEST (written beside, then renamed over it). */
    static void markLatest(String out, String export) throws IOException {
        Path latest = new Path(out, LATEST);
        Path tmp = new Path(out, ".LATEST.tmp");
        FileSystem fs = latest.getFileSystem();
        try (var o = fs.create(tmp, FileSystem.WriteMode.OVERWRITE)) {
            o.write((new Path(export).getName() + "\n").getBytes(StandardCharsets.UTF_8));
        }
        fs.delete(latest, false);
        if (!fs.rename(tmp, latest)) {
            throw new IOException("cannot rename " + tmp + " to " + latest);
        }
    }

    /** The newest complete export's directory, or null before the first. */
    public static String latest(String out) throws IOException {
        Path latest = new Path(out, LATEST);
        FileSystem fs = latest.getFileSystem();
        if (!fs.exists(latest)) {
            return null;
        }
        try (var in = fs.open(latest)) {
            return new Path(out, new String(in.readAllBytes(), StandardCharsets.UTF_8).strip()).toString();
        }
    }

    /** Deletes the column copies of checkpoints older than {@code id} (the newest complete one). */
    static void dropCheckpointsBefore(String out, long id) throws IOException {
        Path dir = new Path(out, ".checkpoints");
        FileSystem fs = dir.getFileSystem();
        if (!fs.exists(dir)) {
            return;
        }
        for (FileStatus st : fs.listStatus(dir)) {
            String name = st.getPath().getName();
            if (name.matches("[0-9]+") && Long.parseLong(name) < id) {
                fs.delete(st.getPath(), true);
            }
        }
    }
}
