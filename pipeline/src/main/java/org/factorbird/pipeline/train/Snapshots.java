package org.factorbird.pipeline.train;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

import org.apache.flink.core.fs.FileStatus;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;

/**
 * Epoch-consistent snapshots on any Flink file system:
 *
 * <pre>
 * DIR/epoch-00004/rows-00000.bin      subtask 0's rows:  count:int32, then per row    key:int64 width x float32
 * DIR/epoch-00004/columns-00000.bin   output slice 0 of the columns, same layout
 * DIR/epoch-00004/_MANIFEST           "factorbird-snapshot-1 epoch=4 width=11 parallelism=2 stopped=0", written last
 *                                     (stopped: per model, the epoch it stopped after with --prune; 0: training)
 * </pre>
 *
 * Every subtask writes its files between the epoch's "trained" barrier (all pushes applied) and the next one, so
 * rows and columns belong to the same epoch boundary; subtask 0 writes the manifest after the next barrier, when
 * all files are complete. A directory without a manifest is never read.
 */
public final class Snapshots {

    static final String MANIFEST = "_MANIFEST";
    private static final String FORMAT = "factorbird-snapshot-1";

    private Snapshots() {}

    /**
     * A complete snapshot: its directory, epoch and parameter width, and per model the epoch after which it stopped
     * training ({@code grid --prune halving}; 0 while it trains, an empty array for snapshots without that field).
     */
    public static final class Manifest {
        public final Path dir;
        public final int epoch;
        public final int width;
        final int[] stoppedAt;

        Manifest(Path dir, int epoch, int width, int[] stoppedAt) {
            this.dir = dir;
            this.epoch = epoch;
            this.width = width;
            this.stoppedAt = stoppedAt;
        }
    }

    public static Path epochDir(String root, int epoch) {
        return new Path(root, String.format(Locale.ROOT, "epoch-%05d", epoch));
    }

    public static Path file(Path dir, String kind, int subtask) {
        return new Path(dir, String.format(Locale.ROOT, "%s-%05d.bin", kind, subtask));
    }

    /** Writes {@code n} entries: keys[i] with values[i*width, (i+1)*width). */
    public static void write(Path file, long[] keys, int n, float[] values, int width) throws IOException {
        FileSystem fs = file.getFileSystem();
        try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(
                fs.create(file, FileSystem.WriteMode.OVERWRITE), 1 << 16))) {
            out.writeInt(n);
            for (int i = 0; i < n; i++) {
                out.writeLong(keys[i]);
                for (int j = 0; j < width; j++) {
                    out.writeFloat(values[i * width + j]);
                }
            }
        }
    }

    /** Receives the entries of a snapshot file; {@code values} is reused between calls. */
    interface EntryConsumer {
        void accept(long key, float[] values) throws Exception;
    }

    static void read(Path file, int width, EntryConsumer consumer) throws Exception {
        FileSystem fs = file.getFileSystem();
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(fs.open(file), 1 << 16))) {
            int n = in.readInt();
            float[] v = new float[width];
            for (int i = 0; i < n; i++) {
                long key = in.readLong();
                for (int j = 0; j < width; j++) {
                    v[j] = in.readFloat();
                }
                consumer.accept(key, v);
            }
        } catch (EOFException e) {
            throw new IOException("snapshot file " + file + " is truncated", e);
        }
    }

    public static void writeManifest(String root, int epoch, int width, int parallelism, int[] stoppedAt)
            throws IOException {
        Path p = new Path(epochDir(root, epoch), MANIFEST);
        StringBuilder stopped = new StringBuilder();
        for (int m = 0; m < stoppedAt.length; m++) {
            stopped.append(m == 0 ? "" : ",").append(stoppedAt[m]);
        }
        try (OutputStream out = p.getFileSystem().create(p, FileSystem.WriteMode.OVERWRITE)) {
            out.write(String.format(Locale.ROOT, "%s epoch=%d width=%d parallelism=%d stopped=%s%n", FORMAT, epoch,
                    width, parallelism, stopped).getBytes(StandardCharsets.UTF_8));
        }
    }

    /** The newest complete snapshot under {@code root}, or null when there is none. */
    public static Manifest latest(String root) throws IOException {
        Path rootPath = new Path(root);
        FileSystem fs = rootPath.getFileSystem();
        if (!fs.exists(rootPath)) {
            return null;
        }
        Manifest best = null;
        FileStatus[] dirs = fs.listStatus(rootPath);
        if (dirs == null) {
            return null;
        }
        for (FileStatus st : dirs) {
            String name = st.getPath().getName();
            if (!st.isDir() || !name.startsWith("epoch-")) {
                continue;
            }
            Path manifest = new Path(st.getPath(), MANIFEST);
            if (!fs.exists(manifest)) {
                continue; // half-written: never used
            }
            String text;
            try (InputStream in = fs.open(manifest)) {
                text = new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
            }
            if (!text.startsWith(FORMAT + " ")) {
                throw new IOException("not a Factorbird snapshot manifest: " + manifest);
            }
            int epoch = field(text, "epoch", manifest);
            int width = field(text, "width", manifest);
            if (best == null || epoch > best.epoch) {
                best = new Manifest(st.getPath(), epoch, width, stoppedAt(text, manifest));
            }
        }
        return best;
    }

    private static int field(String text, String name, Path file) throws IOException {
        for (String part : text.split(" ")) {
            if (part.startsWith(name + "=")) {
                return Integer.parseInt(part.substring(name.length() + 1));
            }
        }
        throw new IOException("manifest " + file + " has no " + name);
    }

    /** The optional {@code stopped=e0,e1,...} field: per model, the epoch it stopped after (0: training). */
    private static int[] stoppedAt(String text, Path file) throws IOException {
        for (String part : text.split(" ")) {
            if (part.startsWith("stopped=")) {
                String[] v = part.substring("stopped=".length()).split(",");
                int[] out = new int[v.length];
                try {
                    for (int m = 0; m < v.length; m++) {
                        out[m] = Integer.parseInt(v[m]);
                    }
                } catch (NumberFormatException e) {
                    throw new IOException("manifest " + file + " has a malformed " + part, e);
                }
                return out;
            }
        }
        return new int[0];
    }

    /** Every file of {@code kind} in a snapshot directory. */
    static Path[] files(Path dir, String kind) throws IOException {
        FileStatus[] all = dir.getFileSystem().listStatus(dir);
        return java.util.Arrays.stream(all).map(FileStatus::getPath)
                .filter(p -> p.getName().startsWith(kind + "-") && p.getName().endsWith(".bin")).toArray(Path[]::new);
    }
}
