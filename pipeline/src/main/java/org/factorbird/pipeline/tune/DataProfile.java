package org.factorbird.pipeline.tune;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.apache.flink.api.common.io.compression.InflaterInputStreamFactory;
import org.apache.flink.connector.file.src.compression.StandardDeCompressors;
import org.apache.flink.core.fs.FileStatus;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;
import org.factorbird.pipeline.io.RatingLineParser;
import org.factorbird.pipeline.sgd.LongIntMap;

/**
 * What {@code tune} knows of the data before it trains: the first {@code maxLines} valid lines of the input (on any
 * Flink file system, compressed or not), their rating scale and their density, and the whole input's size in
 * ratings, extrapolated from the bytes the sample took when the input is larger than the sample.
 *
 * @param ratings the input's ratings (exact when the sample read everything, else estimated)
 * @param rows distinct rows (likewise; a head sample underestimates ids of a larger input, see {@link #perRow})
 * @param columns distinct columns
 * @param mean mean rating of the sample
 * @param std standard deviation of the sample's ratings
 * @param exact whether the sample read the whole input
 */
public record DataProfile(long ratings, long rows, long columns, double mean, double std, boolean exact) {

    /** Ratings per row: what bounds the rank a row can support. */
    public double perRow() {
        return rows == 0 ? 0 : ratings / (double) rows;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s%,d ratings of %,d rows x %,d columns (%.1f per row), ratings %.3f +- %.3f",
                exact ? "" : "about ", ratings, rows, columns, perRow(), mean, std);
    }

    /** Reads the head of {@code input} (a file or a directory of part files, hidden files skipped). */
    public static DataProfile of(String input, int maxLines) throws IOException {
        return of(input, maxLines, false);
    }

    /** Like {@link #of(String, int)}; {@code stringIds}: the ids are text (--ids string). */
    public static DataProfile of(String input, int maxLines, boolean stringIds) throws IOException {
        Path root = new Path(input);
        FileSystem fs = root.getFileSystem();
        List<FileStatus> files = new ArrayList<>();
        collect(fs, fs.getFileStatus(root), files);
        long totalBytes = 0;
        for (FileStatus f : files) {
            totalBytes += f.getLen();
        }
        RatingLineParser parser = new RatingLineParser(0, stringIds);
        LongIntMap rows = new LongIntMap(1 << 12);
        LongIntMap cols = new LongIntMap(1 << 12);
        long n = 0;
        double sum = 0;
        double sumSq = 0;
        long bytesRead = 0;
        boolean all = true;
        byte[] line = new byte[1 << 16];
        for (FileStatus f : files) {
            if (n >= maxLines) {
                all = false;
                break;
            }
            InflaterInputStreamFactory<?> decompressor =
                    StandardDeCompressors.getDecompressorForFileName(f.getPath().getName());
            Counting raw = new Counting(fs.open(f.getPath()));
            try (InputStream in = new java.io.BufferedInputStream(decompressor == null ? raw : decompressor.create(raw),
                    1 << 16)) {
                int len = 0;
                int b;
                long consumed = 0; // bytes of the lines read, terminators included
                while ((b = in.read()) >= 0) {
                    consumed++;
                    if (b != '\n') {
                        if (len < line.length) {
                            line[len++] = (byte) b;
                        }
                        continue;
                    }
                    if (parser.parse(line, 0, len)) {
                        n++;
                        sum += parser.value;
                        sumSq += (double) parser.value * parser.value;
                        rows.indexOf(parser.row);
                        cols.indexOf(parser.col);
                    }
                    len = 0;
                    if (n >= maxLines) {
                        all = in.read() < 0;
                        break;
                    }
                }
                if (len > 0 && parser.parse(line, 0, len)) {
                    n++;
                    sum += parser.value;
                    sumSq += (double) parser.value * parser.value;
                    rows.indexOf(parser.row);
                    cols.indexOf(parser.col);
                }
                // plain files: exactly the lines' bytes; compressed ones: what the decompressor took (read ahead
                // by at most a buffer, which matters only for files that small)
                bytesRead += decompressor == null ? consumed : raw.count;
            }
        }
        if (n == 0) {
            throw new IOException("no valid rating line in the head of " + input);
        }
        double mean = sum / n;
        double std = Math.sqrt(Math.max(0, sumSq / n - mean * mean));
        double scale = all || bytesRead == 0 ? 1 : Math.max(1, totalBytes / (double) bytesRead);
        // ids grow slower than ratings in a longer input; the per-row density of the sample is kept as it is
        return new DataProfile(Math.round(n * scale), Math.round(rows.size() * scale), Math.round(cols.size() * scale),
                mean, std, all);
    }

    private static void collect(FileSystem fs, FileStatus st, List<FileStatus> out) throws IOException {
        String name = st.getPath().getName();
        if (name.startsWith("_") || name.startsWith(".")) {
            return;
        }
        if (!st.isDir()) {
            out.add(st);
            return;
        }
        FileStatus[] children = fs.listStatus(st.getPath());
        java.util.Arrays.sort(children, (a, b) -> a.getPath().getName().compareTo(b.getPath().getName()));
        for (FileStatus c : children) {
            collect(fs, c, out);
        }
    }

    /** Counts the raw (compressed) bytes read, to extrapolate from the sample to the whole input. */
    private static final class Counting extends FilterInputStream {
        long count;

        Counting(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            count += b >= 0 ? 1 : 0;
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int r = super.read(b, off, len);
            count += Math.max(r, 0);
            return r;
        }
    }
}
