package org.factorbird.pipeline;

import java.util.Locale;

import org.factorbird.ps.protocol.Protocol;

/**
 * What a run will cost before it runs: memory per PS shard and per training subtask, and bytes and requests per
 * epoch, from the shape of the data and the settings. Distinct columns per batch follow from the column
 * popularity: uniform, or Zipf-like with exponent {@code skew} (popular columns repeat within a batch and move
 * once).
 */
public final class Estimate {

    public final long rows;
    public final long cols;
    public final long ratings;
    public final int width;
    public final int shards;
    public final int parallelism;
    public final int batchRows;
    public final double heldOutFraction;
    public final double lossSample;
    /** Zipf exponent of column popularity (0: uniform), as in {@code factorbird generate --skew}. */
    public final double skew;

    public Estimate(long rows, long cols, long ratings, int width, int shards, int parallelism, int batchRows,
            double heldOutFraction, double lossSample) {
        this(rows, cols, ratings, width, shards, parallelism, batchRows, heldOutFraction, lossSample, 0);
    }

    public Estimate(long rows, long cols, long ratings, int width, int shards, int parallelism, int batchRows,
            double heldOutFraction, double lossSample, double skew) {
        if (rows < 1 || cols < 1 || ratings < 1 || width < 1 || shards < 1 || parallelism < 1 || batchRows < 1) {
            throw new IllegalArgumentException("rows, cols, ratings, width, shards, parallelism and batch-rows "
                    + "must all be >= 1");
        }
        this.rows = rows;
        this.cols = cols;
        this.ratings = ratings;
        this.width = width;
        this.shards = shards;
        this.parallelism = parallelism;
        this.batchRows = batchRows;
        this.heldOutFraction = heldOutFraction;
        this.lossSample = lossSample;
        if (!(skew >= 0 && skew <= 3)) {
            throw new IllegalArgumentException("skew must be in [0, 3] but was " + skew);
        }
        this.skew = skew;
    }

    /** Bytes of one shard's table: open addressing at <= 70% load, a power of two of slots, key + values each. */
    public long psTableBytesPerShard() {
        long keys = (cols + shards - 1) / shards;
        long slots = Math.max(1024, Long.highestOneBit(Math.max(1, (long) (keys / 0.7))) << 1);
        return slots * (8L + 4L * width);
    }

    /**
     * Bytes of one subtask's keyed state after loading: rows packed in blocks (the column's number in the
     * subtask's column list 4 B + value 4 B per rating; per row its key, three offsets and its parameters). On heap
     * that is heap; on RocksDB, disk.
     */
    public long stateBytesPerSubtask() {
        long rowsHere = (rows + parallelism - 1) / parallelism;
        long ratingsHere = (ratings + parallelism - 1) / parallelism;
        return ratingsHere * 8L + (long) (ratingsHere * (1 - heldOutFraction) * lossSample * 4)
                + rowsHere * (20L + 4L * width);
    }

    /**
     * Peak memory of one subtask while loading: the packed state, the spill's write buffers (128 x 32 KB), one
     * spill bucket in memory while it is packed (~45 bytes per rating with its grouping arrays), and the numbering
     * of the subtask's distinct columns (at most one per rating): while packing, a hash index of up to ~64 bytes per
     * column for sparse ids, or for dense ids an array of 4 bytes per id up to the largest (6 while it doubles),
     * which stays below 64 bytes per column unless ids are 10x sparser than the columns' count (the array is cut
     * at half the ratings' count); 12 bytes per column afterwards, for the whole run.
     */
    public long loadPeakBytesPerSubtask() {
        long ratingsHere = (ratings + parallelism - 1) / parallelism;
        return stateBytesPerSubtask() + 128L * 32 * 1024 + ratingsHere / 128 * 45
                + Math.min(cols, ratingsHere) * 64L;
    }

    /** Local disk of one subtask's spill while loading: 25 bytes per rating (see the pipeline's RatingSpill). */
    public long spillBytesPerSubtask() {
        return (ratings + parallelism - 1) / parallelism * 25L;
    }

    /** Expected distinct columns among {@code r} ratings whose columns follow the popularity law. */
    private double distinct(double r) {
        if (skew == 0) {
            return cols * -Math.expm1(r * Math.log1p(-1.0 / cols));
        }
        // sum over columns of P(column seen) = 1 - (1 - p_j)^r, p_j proportional to (j + 1)^-skew
        double norm = 0;
        for (long j = 1; j <= cols; j++) {
            norm += Math.pow(j, -skew);
        }
        double seen = 0;
        for (long j = 1; j <= cols; j++) {
            double p = Math.pow(j, -skew) / norm;
            seen += -Math.expm1(r * Math.log1p(-p));
        }
        return seen;
    }

    /**
     * Batches of one subtask per pass over its rows: by --batch-rows, or more when they would hold over
     * {@link TrainConfig#BATCH_STEPS_PER_COLUMN} ratings per column of the subtask.
     */
    private double batchesPerSubtask() {
        double train = ratings * (1 - heldOutFraction) / parallelism;
        double byColumns = Math.ceil(train / Math.max(1, BatchSizes.BATCH_STEPS_PER_COLUMN * distinct(train)));
        return Math.max(Math.ceil((double) rows / parallelism / batchRows), byColumns);
    }

    /** Bytes exchanged with all shards per epoch (training and evaluation, both directions). */
    public double bytesPerEpoch() {
        double batches = batchesPerSubtask() * parallelism;
        double train = ratings * (1 - heldOutFraction);
        double evalRatings = ratings * heldOutFraction + train * lossSample;
        double perKey = 8 + 4.0 * width; // id + values
        double frame = 4 + Protocol.HEADER_BYTES + 8;
        double d = distinct(train / batches);
        // pull (ids out, values back) and push (ids and deltas out, a count back)
        double trainBytes = batches * (d * (8 + 4.0 * width) + d * perKey + 4 * shards * frame);
        double evalBatches = evalBatches();
        double de = evalBatches > 0 ? distinct(evalRatings / evalBatches) : 0;
        double evalBytes = evalRatings > 0 ? evalBatches * (de * (8 + 4.0 * width) + 2 * shards * frame) : 0;
        return trainBytes + evalBytes;
    }

    /** Evaluation batches: only rows with a held-out or sampled rating take part. */
    private double evalBatches() {
        double f = heldOutFraction + (1 - heldOutFraction) * lossSample;
        double rowsWithEval = rows * -Math.expm1((double) ratings / rows * Math.log1p(-Math.min(f, 0.999999)));
        return Math.ceil(rowsWithEval / parallelism / batchRows) * parallelism;
    }

    /** Requests to all shards per epoch: a pull and a push per batch and shard, a read-only pull to evaluate. */
    public double requestsPerEpoch() {
        double batches = batchesPerSubtask() * parallelism;
        double evalRatings = ratings * heldOutFraction + ratings * (1 - heldOutFraction) * lossSample;
        return batches * shards * 2 + (evalRatings > 0 ? evalBatches() * shards : 0) + 2.0 * parallelism;
    }

    /** {@link #report(int, String, long)} for one slot per TaskManager on heap state. */
    public String report() {
        return report(1, "heap", 0);
    }

    /**
     * The estimate as text.
     *
     * @param slots training subtasks per TaskManager
     * @param backend "heap" or "rocksdb"
     * @param rocksdbBytes RocksDB memory per subtask (--rocksdb-memory), for "rocksdb"
     */
    public String report(int slots, String backend, long rocksdbBytes) {
        boolean rocks = "rocksdb".equals(backend);
        long state = stateBytesPerSubtask();
        String tm = rocks
                ? String.format(Locale.ROOT, "%,.1f MB of RocksDB memory outside the heap, %,.1f MB of state on local "
                        + "disk", slots * rocksdbBytes / 1e6, slots * state / 1e6)
                : String.format(Locale.ROOT, "%,.1f MB of keyed state on the heap, %,.1f MB at the peak of loading",
                        slots * state / 1e6, slots * loadPeakBytesPerSubtask() / 1e6);
        return String.format(Locale.ROOT, String.join("%n",
                "per PS shard:        %,.1f MB of parameters (%,d columns / %d shards x %d floats)",
                "per subtask:         %,.1f MB of keyed state after loading (%s); %,.1f MB of local disk while "
                        + "loading",
                "per TaskManager:     %s (%d slot(s); add the JVM's and Flink's own ~300 MB)",
                "per epoch:           %,.1f MB between subtasks and PS, %,.0f requests (%,.1f MB and %,.0f "
                        + "requests per shard)"),
                psTableBytesPerShard() / 1e6, cols, shards, width, state / 1e6, rocks ? "on disk" : "heap",
                spillBytesPerSubtask() / 1e6, tm, slots,
                bytesPerEpoch() / 1e6, requestsPerEpoch(), bytesPerEpoch() / shards / 1e6,
                requestsPerEpoch() / shards);
    }
}
