package org.factorbird.pipeline.io;

import java.io.IOException;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.file.src.FileSourceSplit;
import org.apache.flink.connector.file.src.reader.BulkFormat;
import org.apache.flink.connector.file.src.util.CheckpointedPosition;

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
 * <p>A split may be a byte range of a file ({@link RangeEnumerator}); {@link RatingReader} reads its lines.
 */
public final class RatingFormat implements BulkFormat<Rating, FileSourceSplit> {

    private static final long serialVersionUID = 1L;
    static final int BATCH = 4096;
    /** Longest line read; longer lines are skipped as bad (a 10 MB line must not take the reader down). */
    public static final int MAX_LINE_BYTES = 64 * 1024;

    final byte kind;
    final boolean strict;
    final int weightColumn;
    final float holdout;
    final float validation;
    final long seed;
    final boolean stringIds;
    /** A file that cannot be opened or is binary becomes one bad record instead of failing (unless strict). */
    boolean skipBadFiles;
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
        return new RatingReader(this, split, 0);
    }

    @Override
    public Reader<Rating> restoreReader(Configuration config, FileSourceSplit split) throws IOException {
        long skip = split.getReaderPosition().map(CheckpointedPosition::getRecordsAfterOffset).orElse(0L);
        RatingReader reader = new RatingReader(this, split, skip);
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
}
