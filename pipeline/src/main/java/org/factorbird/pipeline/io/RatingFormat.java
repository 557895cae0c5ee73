package org.factorbird.pipeline.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.io.compression.InflaterInputStreamFactory;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.file.src.compression.StandardDeCompressors;
import org.apache.flink.connector.file.src.FileSourceSplit;
import org.apache.flink.connector.file.src.reader.BulkFormat;
import org.apache.flink.connector.file.src.util.ArrayResultIterator;
import org.apache.flink.connector.file.src.util.CheckpointedPosition;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;

/**
 * Reads rating text files for Flink's {@code FileSource}: one {@link Rating} per line, with the file name and
 * line number at hand for every bad line. A first line whose first field holds a letter is a header and is
 * skipped (with string ids: whose third field, the value, holds a letter). Bad lines become {@link Rating#BAD} records (counted and reported by the training operator),
 * or, in strict mode, fail the job with "file:line: reason".
 *
 * <p>With string ids, the first training line of each id in a reader is preceded by a {@link Rating#ROW_NAME} or
 * {@link Rating#COLUMN_NAME} record carrying its text; a small cache of the keys already named keeps most repeats
 * out of the stream (a repeat costs one more record, never a wrong one: the training operator keeps the first).
 *
 * <p>Files are not split, so line numbers are exact; a job reads as many files in parallel as there are files.
 */
public final class RatingFormat implements BulkFormat<Rating, FileSourceSplit> {

    private static final long serialVersionUID = 1L;
    private static final int BATCH = 4096;
    /** Longest line read; longer lines are skipped as bad (a 10 MB line must not take the reader down). */
    public static final int MAX_LINE_BYTES = 64 * 1024;

    private final byte kind;
    private final boolean strict;
    private final int weightColumn;
    private final float holdout;
    private final float validation;
    private final long seed;
    private final boolean stringIds;
    /** A file that cannot be opened or is binary becomes one bad record instead of failing (unless strict). */
    private boolean skipBadFiles;
    /** Keys remembered per reader as already named, for rows and for columns (direct-mapped). */
    static final int NAMED_CACHE = 1 << 16;

    public RatingFormat(byte kind, boolean strict) {
        this(kind, strict, 0, 0f, 0L);
    }

    /**
     * @param weightColumn 1-based column of the rating weight, 0 for none
     * @param holdout      fraction of TRAIN lines turned into TEST ones by {@link HoldoutSplit}
     */
    public RatingFormat(byte kind, boolean strict, int weightColumn, float holdout, long seed) {
        this(kind, strict, weightColumn, holdout, 0f, seed);
    }

    /** @param validation fraction of the TRAIN lines that are not held out turned into VALIDATION ones */
    public RatingFormat(byte kind, boolean strict, int weightColumn, float holdout, float validation, long seed) {
        this(kind, strict, weightColumn, holdout, validation, seed, false);
    }

    /** @param stringIds ids are text (--ids string), hashed by {@link StringIds#key} and named in the stream */
    public RatingFormat(byte kind, boolean strict, int weightColumn, float holdout, float validation, long seed,
            boolean stringIds) {
        if (kind != Rating.TRAIN && kind != Rating.TEST) {
            throw new IllegalArgumentException("kind must be TRAIN or TEST but was " + kind);
        }
        this.kind = kind;
        this.strict = strict;
        this.weightColumn = weightColumn;
        this.holdout = holdout;
        this.validation = validation;
        this.seed = seed;
        this.stringIds = stringIds;
        new RatingLineParser(weightColumn); // checks the column
    }

    /**
     * This format with unreadable and binary files skipped as one bad record each (unless strict): for a stream,
     * where one bad file must not stop the job, while a bounded run refuses it.
     */
    public RatingFormat skippingBadFiles() {
        this.skipBadFiles = true;
        return this;
    }

    @Override
    public Reader<Rating> createReader(Configuration config, FileSourceSplit split) throws IOException {
        return new LineReader(split, 0);
    }

    @Override
    public Reader<Rating> restoreReader(Configuration config, FileSourceSplit split) throws IOException {
        long skip = split.getReaderPosition().map(CheckpointedPosition::getRecordsAfterOffset).orElse(0L);
        LineReader reader = new LineReader(split, skip);
        return reader;
    }

    @Override
    public boolean isSplittable() {
        return false;
    }

    @Override
    public TypeInformation<Rating> getProducedType() {
        return TypeInformation.of(Rating.class);
    }

    /** What a file starting with {@code b[from, end)} is when its magic bytes say binary, else null. */
    static String binaryKind(byte[] b, int from, int end) {
        int n = end - from;
        if (n >= 2 && (b[from] & 0xFF) == 0x1F && (b[from + 1] & 0xFF) == 0x8B) {
            return "gzip data";
        }
        if (n >= 4 && b[from] == 'B' && b[from + 1] == 'Z' && b[from + 2] == 'h' && b[from + 3] >= '1'
                && b[from + 3] <= '9') {
            return "bzip2 data";
        }
        if (n >= 6 && (b[from] & 0xFF) == 0xFD && b[from + 1] == '7' && b[from + 2] == 'z' && b[from + 3] == 'X'
                && b[from + 4] == 'Z' && b[from + 5] == 0) {
            return "xz data";
        }
        if (n >= 4 && (b[from] & 0xFF) == 0x28 && (b[from + 1] & 0xFF) == 0xB5 && (b[from + 2] & 0xFF) == 0x2F
                && (b[from + 3] & 0xFF) == 0xFD) {
            return "zstd data";
        }
        if (n >= 4 && b[from] == 'P' && b[from + 1] == 'K' && b[from + 2] == 3 && b[from + 3] == 4) {
            return "a zip archive";
        }
        if (n >= 4 && b[from] == 'P' && b[from + 1] == 'A' && b[from + 2] == 'R' && b[from + 3] == '1') {
            return "a Parquet file";
        }
        return null;
    }

    /** Thrown in strict mode, and for a binary file; its message is the single line the user sees. */
    public static final class BadInputException extends IOException {
        public BadInputException(String message) {
            super(message);
        }
    }

    private final class LineReader implements BulkFormat.Reader<Rating> {
        private final Path path;
        private final String name;
        private final InputStream in;
        private final RatingLineParser parser = new RatingLineParser(weightColumn, stringIds);
        /** ~key of the ids named last in each cache slot (0: none; ~key is never 0 for a key >= 0). */
        private final long[] rowsNamed = stringIds ? new long[NAMED_CACHE] : null;
        private final long[] colsNamed = stringIds ? new long[NAMED_CACHE] : null;
        private byte[] buf = new byte[1 << 16];
        private int start;
        private int end;
        private boolean eof;
        private long lineNo;
        private long emitted;
        private long toSkip;
        /** Why this whole file is skipped (skipBadFiles), until reported as one bad record; then "". */
        private String badFile;
        /** The byte range read: lines that START in [from, until) (a range of a file cut by RangeEnumerator). */
        private final long from;
        private final long until;
        /** File offset of buf[0]; whether the partial line before 'from' is still to be skipped. */
        private long base;
        private boolean skipPartial;
        /** File offset of the line being parsed. */
        private long lineStartOffset;

        LineReader(FileSourceSplit split, long recordsToSkip) throws IOException {
            this.path = split.path();
            this.name = path.toString();
            FileSystem fs = path.getFileSystem();
            // compressed files (.gz, .bz2, .xz, .zst, .deflate, by name) are read decompressed: they are whole files
            // to this format (RangeEnumerator never cuts them)
            InflaterInputStreamFactory<?> decompressor = StandardDeCompressors.getDecompressorForFileName(name);
            this.from = decompressor == null ? split.offset() : 0;
            this.until = decompressor == null && split.length() >= 0 && split.offset() + split.length() < split.fileSize()
                    ? split.offset() + split.length() : Long.MAX_VALUE;
            InputStream opened = null;
            try {
                org.apache.flink.core.fs.FSDataInputStream raw = fs.open(path);
                if (from > 0) {
                    // the line under way at the range's start belongs to the range before: from the byte before
                    // on, skip through the first line end (a line starting exactly at 'from' is kept)
                    raw.seek(from - 1);
                    base = from - 1;
                    skipPartial = true;
                }
                opened = decompressor == null ? raw : decompressor.create(raw);
            } catch (IOException e) {
                if (!skipBadFiles || strict) {
                    throw e;
                }
                badFile = "cannot be read: " + e.getMessage();
                eof = true;
            }
            this.in = opened;
            this.toSkip = recordsToSkip;
        }

        @Override
        public RecordIterator<Rating> readBatch() throws IOException {
            Rating[] batch = new Rating[BATCH + 2]; // a line adds up to 3 records
            int n = 0;
            long firstIndex = emitted;
            if (badFile != null && !badFile.isEmpty()) {
                n = offer(Rating.bad(name + ": " + badFile + " (file skipped)"), batch, n);
                badFile = "";
            }
            if (skipPartial) {
                skipPartial = false;
                int partialEnd = nextLine();
                if (partialEnd >= 0) {
                    start = partialEnd + 1;
                }
            }
            while (n < BATCH) {
                long startOffset = base + start;
                if (startOffset >= until) {
                    break; // the next line starts in the next range
                }
                int lineEnd = nextLine();
                if (lineEnd < 0) {
                    break;
                }
                int lineStart = start;
                lineStartOffset = startOffset;
                start = lineEnd + 1;
                lineNo++;
                Rating r = toRating(lineStart, lineEnd);
                if (r == null) {
                    continue;
                }
                if (stringIds && r.kind == Rating.TRAIN) {
                    n = nameIds(batch, n);
                }
                n = offer(r, batch, n);
            }
            if (n == 0) {
                return null;
            }
            ArrayResultIterator<Rating> it = new ArrayResultIterator<>();
            it.set(batch, n, CheckpointedPosition.NO_OFFSET, firstIndex);
            return it;
        }

        /** Adds {@code r} to the batch unless a restored reader still skips records it emitted before. */
        private int offer(Rating r, Rating[] batch, int n) {
            emitted++;
            if (toSkip > 0) {
                toSkip--;
                return n;
            }
            batch[n] = r;
            return n + 1;
        }

        /** Names the ids of the training line just parsed, unless this reader named them recently. */
        private int nameIds(Rating[] batch, int n) {
            long row = parser.row;
            int slot = (int) (row ^ (row >>> 29)) & (NAMED_CACHE - 1);
            if (rowsNamed[slot] != ~row) {
                rowsNamed[slot] = ~row;
                n = offer(Rating.name(Rating.ROW_NAME, row, text(parser.rowFrom, parser.rowTo)), batch, n);
            }
            long col = parser.col;
            slot = (int) (col ^ (col >>> 29)) & (NAMED_CACHE - 1);
            if (colsNamed[slot] != ~col) {
                colsNamed[slot] = ~col;
                n = offer(Rating.name(Rating.COLUMN_NAME, col, text(parser.colFrom, parser.colTo)), batch, n);
            }
            return n;
        }

        private String text(int from, int to) {
            return new String(buf, from, to - from, StandardCharsets.UTF_8);
        }

        private Rating toRating(int from, int to) throws IOException {
            if (lineNo == 1 && this.from == 0) {
                String binary = checkText(from, to);
                if (binary != null) {
                    eof = true; // skip the rest of the file
                    start = 0;
                    end = 0;
                    return Rating.bad(name + ": " + binary + " (file skipped)");
                }
            }
            if (to - from > MAX_LINE_BYTES) {
                return bad("line is longer than " + MAX_LINE_BYTES + " bytes", null);
            }
            if (parser.parse(buf, from, to)) {
                byte k = kind;
                if (kind == Rating.TRAIN && holdout > 0
                        && HoldoutSplit.isHeldOut(seed, parser.row, parser.col, holdout)) {
                    k = Rating.TEST;
                } else if (kind == Rating.TRAIN && validation > 0 && HoldoutSplit.isHeldOut(
                        seed ^ HoldoutSplit.VALIDATION_SALT, parser.row, parser.col, validation)) {
                    k = Rating.VALIDATION;
                }
                return new Rating(parser.row, parser.col, parser.value, parser.weight, k);
            }
            if (lineNo == 1 && this.from == 0
                    && (stringIds ? fieldHasLetter(from, to, 3) : containsLetter(from, to))) {
                return null; // header
            }
            if (to - from == 0 || (to - from == 1 && buf[from] == '\r')) {
                return null; // blank lines carry nothing: not worth a report
            }
            return bad(parser.error(), new String(buf, from, Math.min(to - from, 80), StandardCharsets.UTF_8));
        }

        /**
         * Refuses a file that starts like a compressed or binary one: its every "line" would be skipped as
         * malformed, losing the whole file behind thousands of reports. Compression is chosen by the file name.
         * With skipBadFiles (and not strict) returns why instead, and the caller skips the file; null: text.
         */
        private String checkText(int from, int to) throws IOException {
            String kind = binaryKind(buf, from, end);
            if (kind == null) {
                for (int i = from; i < to; i++) {
                    if (buf[i] == 0) {
                        kind = "binary data (a NUL byte in its first line)";
                        break;
                    }
                }
            }
            if (kind == null) {
                return null;
            }
            String message = kind + " where text lines were expected; compressed input is read by its file name "
                    + "(.gz, .bz2, .xz, .zst, .deflate)";
            if (!skipBadFiles || strict) {
                throw new BadInputException(name + ": " + message);
            }
            return message;
        }

        private Rating bad(String reason, String text) throws IOException {
            // a later range of a cut file does not know its line numbers: it names the line's byte offset
            String where = this.from == 0 ? name + ":" + lineNo : name + " at byte " + lineStartOffset;
            String note = where + ": " + reason + (text == null ? "" : " in '" + text.strip() + "'");
            if (strict) {
                throw new BadInputException(note + " (--strict)");
            }
            return Rating.bad(note);
        }

        /**
         * A header is a first line whose first field holds a letter ("userId,movieId,rating"); a first line with a
         * numeric id and a bad value ("1,1,NaN") is data, and is reported like any other bad line.
         */
        private boolean containsLetter(int from, int to) {
            for (int i = from; i < to; i++) {
                byte b = buf[i];
                if (b == ',' || b == '\t' || b == ';' || (b == ' ' && i > from)) {
                    return false;
                }
                if ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')) {
                    return true;
                }
            }
            return false;
        }

        /** Whether the {@code field}-th field (1-based) of the line holds a letter. */
        private boolean fieldHasLetter(int from, int to, int field) {
            int f = 1;
            boolean inSeparator = true; // leading blanks start no field
            for (int i = from; i < to; i++) {
                byte b = buf[i];
                boolean sep = b == ',' || b == '\t' || b == ';' || b == ' ';
                if (sep && !inSeparator) {
                    f++;
                }
                inSeparator = sep;
                if (!sep && f == field && ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z'))) {
                    return true;
                }
            }
            return false;
        }

        /**
         * Index of the '\n' that ends the next line, reading more as needed (a last line without one gets one);
         * -1 at end of input. A line longer than {@link #MAX_LINE_BYTES} comes back cut to its first
         * {@code MAX_LINE_BYTES + 1} bytes, so that the caller sees it is too long and reports it.
         */
        private int nextLine() throws IOException {
            int scanned = 0;
            while (true) {
                for (int i = start + scanned; i < end; i++) {
                    if (buf[i] == '\n') {
                        return i;
                    }
                }
                scanned = end - start;
                if (eof) {
                    if (scanned == 0) {
                        return -1;
                    }
                    ensureCapacity(end + 1);
                    buf[end] = '\n';
                    return end++;
                }
                if (scanned > MAX_LINE_BYTES) {
                    return skipLongLine();
                }
                fill();
            }
        }

        /** Drops an over-long line's bytes after its first MAX_LINE_BYTES + 1, up to its '\n'. */
        private int skipLongLine() throws IOException {
            compact();
            int keep = MAX_LINE_BYTES + 1;
            // 'base' then maps the bytes after the kept part: the dropped ones are counted into it (the line's
            // own offset was taken before)
            base += end - keep;
            end = keep;
            while (true) {
                if (eof) {
                    ensureCapacity(end + 1);
                    buf[end] = '\n';
                    return end++;
                }
                fill();
                for (int i = keep; i < end; i++) {
                    if (buf[i] == '\n') {
                        base += i - keep;
                        System.arraycopy(buf, i, buf, keep, end - i);
                        end = keep + (end - i);
                        return keep;
                    }
                }
                base += end - keep;
                end = keep;
            }
        }

        private void compact() {
            if (start > 0) {
                base += start;
                System.arraycopy(buf, start, buf, 0, end - start);
                end -= start;
                start = 0;
            }
        }

        private void ensureCapacity(int size) {
            if (size > buf.length) {
                byte[] bigger = new byte[Math.max(size, buf.length * 2)];
                System.arraycopy(buf, 0, bigger, 0, end);
                buf = bigger;
            }
        }

        /** Moves the unread part to the front, grows if a line fills the buffer, and reads more. */
        private void fill() throws IOException {
            compact();
            if (end == buf.length) {
                ensureCapacity(buf.length * 2);
            }
            int n = in.read(buf, end, buf.length - end);
            if (n < 0) {
                eof = true;
            } else {
                end += n;
            }
        }

        @Override
        public void close() throws IOException {
            if (in != null) {
                in.close();
            }
        }
    }
}
