package org.factorbird.pipeline.io;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

import org.apache.flink.connector.file.src.FileSourceSplit;
import org.apache.flink.connector.file.src.compression.StandardDeCompressors;
import org.apache.flink.connector.file.src.enumerate.FileEnumerator;
import org.apache.flink.core.fs.FileStatus;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;

/**
 * Cuts the input files into byte ranges for the source subtasks, so that one big file is read by all of them:
 * about two ranges per subtask over the input's plain-text bytes, none under {@link #MIN_RANGE}. Compressed files
 * (read whole by their decompressor) stay whole. Flink's block-splitting enumerator splits by file-system blocks,
 * and a local file is one block: one big local file was read by one subtask. Hidden files ({@code .x}, {@code _x})
 * are skipped, as by Flink's default filter. The reader ({@link RatingFormat}) aligns ranges to lines.
 */
public final class RangeEnumerator implements FileEnumerator {

    /** The smallest range worth a split of its own. */
    public static final long MIN_RANGE = 16L << 20;

    private final long minRange;
    private int nextId;

    public RangeEnumerator() {
        this(MIN_RANGE);
    }

    /** With ranges of at least {@code minRange} bytes (tests cut small files). */
    public RangeEnumerator(long minRange) {
        if (minRange < 1) {
            throw new IllegalArgumentException("minRange must be >= 1 but was " + minRange);
        }
        this.minRange = minRange;
    }

    @Override
    public Collection<FileSourceSplit> enumerateSplits(Path[] paths, int minDesiredSplits) throws IOException {
        List<FileStatus> files = new ArrayList<>();
        for (Path p : paths) {
            FileSystem fs = p.getFileSystem();
            collect(fs, fs.getFileStatus(p), files);
        }
        long plain = 0;
        for (FileStatus f : files) {
            plain += compressed(f) ? 0 : f.getLen();
        }
        long wanted = 2L * Math.max(1, minDesiredSplits);
        long range = Math.max(minRange, (plain + wanted - 1) / wanted);
        List<FileSourceSplit> splits = new ArrayList<>();
        for (FileStatus f : files) {
            long len = f.getLen();
            if (compressed(f) || len <= range) {
                splits.add(split(f, 0, len));
                continue;
            }
            long n = (len + range - 1) / range;
            for (long i = 0; i < n; i++) {
                long from = len * i / n;
                long to = len * (i + 1) / n;
                splits.add(split(f, from, to - from));
            }
        }
        return splits;
    }

    private FileSourceSplit split(FileStatus f, long offset, long length) {
        return new FileSourceSplit(String.valueOf(nextId++), f.getPath(), offset, length, f.getModificationTime(),
                f.getLen());
    }

    private static boolean compressed(FileStatus f) {
        return StandardDeCompressors.getDecompressorForFileName(f.getPath().getName()) != null;
    }

    private static void collect(FileSystem fs, FileStatus st, List<FileStatus> out) throws IOException {
        String name = st.getPath().getName();
        if (name.startsWith(".") || name.startsWith("_")) {
            return;
        }
        if (st.isDir()) {
            FileStatus[] children = fs.listStatus(st.getPath());
            for (FileStatus c : children == null ? new FileStatus[0] : children) {
                collect(fs, c, out);
            }
        } else {
            out.add(st);
        }
    }
}
