package org.factorbird.pipeline.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

import org.apache.flink.api.common.io.compression.InflaterInputStreamFactory;
import org.apache.flink.connector.file.src.FileSourceSplit;
import org.apache.flink.connector.file.src.compression.StandardDeCompressors;
import org.apache.flink.connector.file.src.reader.BulkFormat;
import org.apache.flink.connector.file.src.util.ArrayResultIterator;
import org.apache.flink.connector.file.src.util.CheckpointedPosition;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;

/**
 * Reads one split of {@link RatingFormat}: a whole file or a byte range of one, line by line, straight from bytes.
 * Each line becomes a {@link Rating} (TRAIN, TEST or VALIDATION by the held-out hashes), a BAD record naming the
 * file and line (or, in a later range, the line's byte offset), or nothing (a header, a blank line); with string
 * ids, names of ids come before their first training line. Batches of up to {@link RatingFormat#BATCH} records; a
 * restored reader skips the records it emitted before (the source's checkpointed position).
 */
final class RatingReader implements BulkFormat.Reader<Rating> {
    private final RatingFormat format;
    private final Path path;
    private final String name;
    private final InputStream in;
    private final RatingLineParser parser;
    /** ~key of the ids named last in each cache slot (0: none; ~key is never 0 for a key >= 0). */
    private final long[] rowsNamed;
    private final long[] colsNamed;
    /**
     * A second, independent hash of the text named in each slot: a different id with the same key (a collision)
     * differs here and is named again, so that training sees both texts and stops the run.
     */
    private final int[] rowsText;
    private final int[] colsText;
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

    RatingReader(RatingFormat format, FileSourceSplit split, long recordsToSkip) throws IOException {
        this.format = format;
        this.parser = new RatingLineParser(format.weightColumn, format.stringIds);
        this.rowsNamed = format.stringIds ? new long[RatingFormat.NAMED_CACHE] : null;
        this.colsNamed = format.stringIds ? new long[RatingFormat.NAMED_CACHE] : null;
        this.rowsText = format.stringIds ? new int[RatingFormat.NAMED_CACHE] : null;
        this.colsText = format.stringIds ? new int[RatingFormat.NAMED_CACHE] : null;
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
            if (!format.skipBadFiles || format.strict) {
                throw e;
            }
            badFile = "cannot be read: " + e.getMessage();
            eof = true;
        }
        this.in = opened;
        this.toSkip = recordsToSkip;
    }

    @Override
    public BulkFormat.RecordIterator<Rating> readBatch() throws IOException {
        Rating[] batch = new Rating[RatingFormat.BATCH + 2]; // a line adds up to 3 records
        int n = 0;
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
        while (n < RatingFormat.BATCH) {
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
            if (format.stringIds && r.kind == Rating.TRAIN) {
                n = nameIds(batch, n);
            }
            n = offer(r, batch, n);
        }
        if (n == 0) {
            return null;
        }
        ArrayResultIterator<Rating> it = new ArrayResultIterator<>();
        // the batch holds the last n records emitted (a restored reader's skipped ones came before them)
        it.set(batch, n, CheckpointedPosition.NO_OFFSET, emitted - n);
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
        int slot = (int) (row ^ (row >>> 29)) & (RatingFormat.NAMED_CACHE - 1);
        int text = fnv1a(parser.rowFrom, parser.rowTo);
        if (rowsNamed[slot] != ~row || rowsText[slot] != text) {
            rowsNamed[slot] = ~row;
            rowsText[slot] = text;
            n = offer(Rating.name(Rating.ROW_NAME, row, text(parser.rowFrom, parser.rowTo)), batch, n);
        }
        long col = parser.col;
        slot = (int) (col ^ (col >>> 29)) & (RatingFormat.NAMED_CACHE - 1);
        text = fnv1a(parser.colFrom, parser.colTo);
        if (colsNamed[slot] != ~col || colsText[slot] != text) {
            colsNamed[slot] = ~col;
            colsText[slot] = text;
            n = offer(Rating.name(Rating.COLUMN_NAME, col, text(parser.colFrom, parser.colTo)), batch, n);
        }
        return n;
    }

    /** 32-bit FNV-1a of {@code buf[from, to)}: unrelated to XXH64, so two texts rarely agree on both. */
    private int fnv1a(int from, int to) {
        int h = 0x811C9DC5;
        for (int i = from; i < to; i++) {
            h = (h ^ (buf[i] & 0xFF)) * 0x01000193;
        }
        return h;
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
        if (to - from > RatingFormat.MAX_LINE_BYTES) {
            return bad("line is longer than " + RatingFormat.MAX_LINE_BYTES + " bytes", null);
        }
        if (parser.parse(buf, from, to)) {
            byte k = format.kind;
            if (format.kind == Rating.TRAIN && format.holdout > 0
                    && HoldoutSplit.isHeldOut(format.seed, parser.row, parser.col, format.holdout)) {
                k = Rating.TEST;
            } else if (format.kind == Rating.TRAIN && format.validation > 0 && HoldoutSplit.isHeldOut(
                    format.seed ^ HoldoutSplit.VALIDATION_SALT, parser.row, parser.col, format.validation)) {
                k = Rating.VALIDATION;
            }
            return new Rating(parser.row, parser.col, parser.value, parser.weight, k);
        }
        if (lineNo == 1 && this.from == 0
                && (format.stringIds ? fieldHasLetter(from, to, 3) : containsLetter(from, to))) {
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
        String kind = RatingFormat.binaryKind(buf, from, end);
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
        if (!format.skipBadFiles || format.strict) {
            throw new RatingFormat.BadInputException(name + ": " + message);
        }
        return message;
    }

    private Rating bad(String reason, String text) throws IOException {
        // a later range of a cut file does not know its line numbers: it names the line's byte offset
        String where = this.from == 0 ? name + ":" + lineNo : name + " at byte " + lineStartOffset;
        String note = where + ": " + reason + (text == null ? "" : " in '" + text.strip() + "'");
        if (format.strict) {
            throw new RatingFormat.BadInputException(note + " (--strict)");
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
     * -1 at end of input. A line longer than {@link RatingFormat#MAX_LINE_BYTES} comes back cut to its first
     * {@code RatingFormat.MAX_LINE_BYTES + 1} bytes, so that the caller sees it is too long and reports it.
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
            if (scanned > RatingFormat.MAX_LINE_BYTES) {
                return skipLongLine();
            }
            fill();
        }
    }

    /** Drops an over-long line's bytes after its first RatingFormat.MAX_LINE_BYTES + 1, up to its '\n'. */
    private int skipLongLine() throws IOException {
        compact();
        int keep = RatingFormat.MAX_LINE_BYTES + 1;
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
