package org.factorbird.pipeline.train;

import java.io.Closeable;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.factorbird.pipeline.io.Rating;
import org.factorbird.pipeline.sgd.LongIntMap;
import org.factorbird.ps.Hashing;

/**
 * The incoming ratings of a subtask (on any state backend), hash-partitioned by row into bucket files on local disk while
 * input arrives, then read back one bucket at a time, grouped by row.
 *
 * <p>Why not keyed list state: every rating appended to a row's list is a RocksDB merge operand; reading a row back
 * must find and merge operands scattered over the LSM tree, and on 10M ratings over 1M rows that read phase took
 * from 4 s to 150 s from run to run, CPU-bound inside RocksDB. Bucket files are written and read sequentially;
 * memory is one write buffer per bucket and one bucket's records at the end.
 *
 * <p>Record format, little-endian, {@value #RECORD_BYTES} bytes: row (8), column (8), value (4), weight (4), kind
 * (1). Files live in Flink's temporary directories and are deleted on {@link #close}.
 */
final class RatingSpill implements Closeable {

    static final int RECORD_BYTES = 25;

    private final File dir;
    /**
     * Bucket files, opened for each flush and for the read only: a TaskManager with many slots would otherwise hold
     * 128 descriptors per slot open for the whole load.
     */
    private final Path[] files;
    private final long[] sizes;
    private final ByteBuffer[] buffers;
    private long count;
    /** A bitmap of hashed training columns, for {@link #trainColumnEstimate}: 32 KB. */
    private final long[] trainColumnBits = new long[1 << 12];

    /** Grouped records of one bucket, reused from bucket to bucket. */
    private long[] rows = new long[0];
    private long[] cols = new long[0];
    private float[] vals = new float[0];
    private float[] weights = new float[0];
    private byte[] kinds = new byte[0];
    /** Per record of the current bucket: its row's index in order of first appearance. */
    private int[] group = new int[0];
    /** The current bucket's record indices, grouped by row: what the accessors below index. */
    private int[] order = new int[0];

    /**
     * @param dir a fresh directory of its own (created here)
     * @param buckets bucket files, a power of two
     * @param bufferBytes write buffer per bucket
     */
    RatingSpill(File dir, int buckets, int bufferBytes) throws IOException {
        if (buckets < 1 || Integer.bitCount(buckets) != 1) {
            throw new IllegalArgumentException("buckets must be a power of two but was " + buckets);
        }
        if (bufferBytes < RECORD_BYTES) {
            throw new IllegalArgumentException("bufferBytes must be >= " + RECORD_BYTES + " but was " + bufferBytes);
        }
        this.dir = dir;
        Files.createDirectories(dir.toPath());
        files = new java.nio.file.Path[buckets];
        sizes = new long[buckets];
        buffers = new ByteBuffer[buckets];
        for (int b = 0; b < buckets; b++) {
            files[b] = new File(dir, "bucket-" + b).toPath();
            buffers[b] = ByteBuffer.allocate(bufferBytes - bufferBytes % RECORD_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    long count() {
        return count;
    }

    /**
     * About how many distinct columns the training ratings added so far have (a linear count: m ln(m / z) for z of
     * the m bits still clear; within a few percent up to about a million columns, and at least that beyond). Packing
     * needs it before the first block closes (see {@link RowPacker}), while the exact count is known only after.
     */
    double trainColumnEstimate() {
        long set = 0;
        for (long w : trainColumnBits) {
            set += Long.bitCount(w);
        }
        double m = 64.0 * trainColumnBits.length;
        double clear = Math.max(1, m - set); // a full sketch reads as if one bit were clear: m ln m, ~3.3M
        return m * Math.log(m / clear);
    }

    void add(long row, long col, float value, float weight, byte kind) throws IOException {
        if (kind == Rating.TRAIN) {
            // one bit of 2^18 per column: 12 bits pick the word, the shift takes the low 6 of the same hash
            long h = Hashing.mix64(col ^ 0x434F4C53L);
            trainColumnBits[(int) (h >>> 52)] |= 1L << h;
        }
        int b = (int) (Hashing.mix64(row ^ 0x5350494C4CL) & (files.length - 1));
        ByteBuffer buf = buffers[b];
        if (buf.remaining() < RECORD_BYTES) {
            flush(b);
        }
        buf.putLong(row).putLong(col).putFloat(value).putFloat(weight).put(kind);
        count++;
    }

    private void flush(int b) throws IOException {
        ByteBuffer buf = buffers[b];
        buf.flip();
        if (!buf.hasRemaining()) {
            buf.clear();
            return;
        }
        sizes[b] += buf.remaining();
        try (FileChannel out = FileChannel.open(files[b], StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND)) {
            while (buf.hasRemaining()) {
                out.write(buf);
            }
        } catch (IOException e) {
            // e.g. a full disk: name the file, the JDK's message does not
            throw new IOException("cannot write the rating spill file " + files[b] + ": "
                    + e.getMessage() + " (the spill needs " + RECORD_BYTES + " bytes per rating in Flink's "
                    + "io.tmp.dirs)", e);
        }
        buf.clear();
    }

    /** Receives one row's records: indices {@code order[from, to)} into the bucket's arrays. */
    interface RowConsumer {
        void accept(long row, RatingSpill spill, int from, int to) throws Exception;
    }

    /**
     * Hands every row to {@code consumer}, bucket by bucket; within a bucket rows come in the order of
     * {@link KeyOrder#scramble} (fixed, unrelated to the ids' numeric order) and each row's ratings in their
     * order of arrival.
     */
    void forEachRow(RowConsumer consumer) throws Exception {
        LongIntMap index = new LongIntMap(1024);
        for (int b = 0; b < files.length; b++) {
            flush(b);
            int n = read(b);
            if (group.length < n) {
                group = new int[Math.max(n, group.length + group.length / 2)];
                order = new int[group.length];
            }
            // one hash lookup per record: its row's index in order of first appearance
            index.clear();
            for (int i = 0; i < n; i++) {
                group[i] = index.indexOf(rows[i]);
            }
            int distinct = index.size();
            long[] firstSeen = java.util.Arrays.copyOf(index.keys(), distinct);
            // the rows' scrambled order, and each row's rank in it (one lookup per row)
            long[] ranked = firstSeen.clone();
            KeyOrder.scramble(ranked);
            index.clear();
            for (long row : ranked) {
                index.indexOf(row);
            }
            int[] rankOf = new int[distinct];
            for (int g = 0; g < distinct; g++) {
                rankOf[g] = index.find(firstSeen[g]);
            }
            // counting sort of the records by rank, stable: arrival order within a row
            int[] start = new int[distinct + 1];
            for (int i = 0; i < n; i++) {
                start[rankOf[group[i]] + 1]++;
            }
            for (int r = 0; r < distinct; r++) {
                start[r + 1] += start[r];
            }
            int[] next = java.util.Arrays.copyOf(start, distinct);
            for (int i = 0; i < n; i++) {
                order[next[rankOf[group[i]]]++] = i;
            }
            for (int r = 0; r < distinct; r++) {
                consumer.accept(ranked[r], this, start[r], start[r + 1]);
            }
        }
    }

    /** Reads bucket b's records into the arrays and deletes its file; returns their number. */
    private int read(int b) throws IOException {
        long bytes = sizes[b];
        if (bytes / RECORD_BYTES > Integer.MAX_VALUE - 8) {
            throw new IOException("spill file " + files[b] + " holds too many ratings (" + bytes / RECORD_BYTES
                    + "): raise the parallelism");
        }
        int n = (int) (bytes / RECORD_BYTES);
        if (n == 0) {
            return 0;
        }
        if (rows.length < n) {
            int cap = Math.max(n, rows.length + rows.length / 2);
            rows = new long[cap];
            cols = new long[cap];
            vals = new float[cap];
            weights = new float[cap];
            kinds = new byte[cap];
        }
        ByteBuffer in = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        int chunk = in.capacity() - in.capacity() % RECORD_BYTES;
        try (FileChannel file = FileChannel.open(files[b], StandardOpenOption.READ)) {
            long pos = 0;
            int i = 0;
            while (i < n) {
                in.clear();
                in.limit((int) Math.min(chunk, bytes - pos));
                while (in.hasRemaining()) {
                    if (file.read(in, pos + in.position()) < 0) {
                        throw new IOException("spill file " + files[b] + " ended early");
                    }
                }
                pos += in.limit();
                in.flip();
                while (in.remaining() >= RECORD_BYTES) {
                    rows[i] = in.getLong();
                    cols[i] = in.getLong();
                    vals[i] = in.getFloat();
                    weights[i] = in.getFloat();
                    kinds[i] = in.get();
                    i++;
                }
            }
        }
        // free the disk early: this bucket is in memory now
        Files.delete(files[b]);
        sizes[b] = 0;
        return n;
    }

    long col(int k) {
        return cols[order[k]];
    }

    float value(int k) {
        return vals[order[k]];
    }

    float weight(int k) {
        return weights[order[k]];
    }

    byte kind(int k) {
        return kinds[order[k]];
    }

    @Override
    public void close() {
        File[] left = dir.listFiles();
        if (left != null) {
            for (File f : left) {
                f.delete();
            }
        }
        dir.delete();
    }
}
