package org.factorbird.pipeline.train;

import java.util.Arrays;

import org.factorbird.pipeline.TrainConfig;
import org.factorbird.pipeline.io.HoldoutSplit;
import org.factorbird.pipeline.io.Rating;
import org.factorbird.pipeline.recommend.RowScorer;
import org.factorbird.pipeline.sgd.PrimitiveLists.IntList;
import org.factorbird.pipeline.sgd.PrimitiveLists.LongList;
import org.factorbird.ps.PsClient;
import org.factorbird.ps.protocol.Protocol;

/**
 * Ranking metrics at K (--ranking-k) for every model: precision, recall, NDCG (binary relevance, log2 discount,
 * ideal DCG over min(|relevant|, K)) and MAP, of each sampled row's top K over every column on the parameter
 * servers (the row's training ratings excluded) against its relevant held-out ratings (value >=
 * --relevance-threshold). Rows: a fixed hash sample of about --ranking-rows of the rows with training ratings;
 * only those with a relevant held-out rating count. Scored like {@code recommend} ({@link RowScorer}), so the
 * numbers equal those recomputed from {@code train --recommend K} output.
 *
 * <p>Catalog coverage, the share of the columns that appear in any sampled row's top K, needs the union of the
 * subtasks' recommended columns: each subtask reports a HyperLogLog sketch of its own (512 registers per model,
 * combined by MAX in the barrier), so coverage is an estimate within a few percent (standard error 1.04 /
 * sqrt(512) = 4.6%).
 *
 * <p>Values, for M models: {@code [5m .. 5m+4]} = sums of precision, recall, NDCG, AP over the counted rows, and
 * their number; then M x 512 sketch registers; then the number of columns (MAX). Epochs that are not due report
 * zeros (no rows: no numbers).
 */
final class RankingEvaluator implements Evaluator {

    static final long SAMPLE_SALT = 0x72616E6BL;
    private static final int STATS = 5;
    /** HyperLogLog registers per model: 2^9. */
    static final int REGISTER_BITS = 9;
    static final int REGISTERS = 1 << REGISTER_BITS;
    private static final long COVERAGE_SALT = 0x636F7665L;

    /** The aggregated values, read as metrics (NaN when no row counted). */
    static final class Totals {
        private final double[] s;
        private final int from;
        private final int models;

        Totals(double[] sums, int from, int models) {
            this.s = sums;
            this.from = from;
            this.models = models;
        }

        /** {precision, recall, NDCG, MAP, catalog coverage} of model m at K. */
        double[] metrics(int m) {
            int at = from + STATS * m;
            double rows = s[at + 4];
            double[] out = new double[5];
            for (int i = 0; i < 4; i++) {
                out[i] = rows > 0 ? s[at + i] / rows : Double.NaN;
            }
            double columns = s[from + STATS * models + REGISTERS * models];
            out[4] = rows > 0 && columns > 0
                    ? Math.min(1.0, estimate(s, from + STATS * models + REGISTERS * m) / columns) : Double.NaN;
            return out;
        }
    }

    /** HyperLogLog's estimate of the distinct count from registers {@code r[at, at + REGISTERS)}. */
    static double estimate(double[] r, int at) {
        double sum = 0;
        int zeros = 0;
        for (int j = 0; j < REGISTERS; j++) {
            sum += Math.pow(2, -r[at + j]);
            if (r[at + j] == 0) {
                zeros++;
            }
        }
        double m = REGISTERS;
        double e = 0.7213 / (1 + 1.079 / m) * m * m / sum;
        return e <= 2.5 * m && zeros > 0 ? m * Math.log(m / zeros) : e; // linear counting for small sets
    }

    /** Adds column {@code col} to the sketch at {@code r[at, at + REGISTERS)}. */
    static void sketch(long col, double[] r, int at) {
        long h = org.factorbird.ps.Hashing.mix64(col ^ COVERAGE_SALT);
        int j = (int) (h >>> (64 - REGISTER_BITS));
        int rank = Long.numberOfLeadingZeros((h << REGISTER_BITS) | (1L << (REGISTER_BITS - 1))) + 1;
        r[at + j] = Math.max(r[at + j], rank);
    }

    private final BlockStore store;
    private final PsClient ps;
    private final TrainConfig cfg;
    private final FlatModels models;
    private final double fraction;

    // the sample, built on first use: rows, where their parameters are, and their excluded and relevant columns
    private long[] rowIds;
    private long[] rowBlock;
    private int[] rowIndex;
    private long[] excluded;
    private int[] exStart;
    private long[] relevant;
    private int[] relStart;

    RankingEvaluator(BlockStore store, PsClient ps, TrainConfig cfg, FlatModels models, LoadStats load) {
        this.store = store;
        this.ps = ps;
        this.cfg = cfg;
        this.models = models;
        this.fraction = Math.min(1.0, cfg.rankingRows / (double) Math.max(1, load.trainRows()));
    }

    @Override
    public int size() {
        return (STATS + REGISTERS) * models.count + 1;
    }

    @Override
    public byte op(int i) {
        return i < STATS * models.count ? Protocol.AGG_SUM : Protocol.AGG_MAX;
    }

    boolean due(int epoch) {
        return epoch % cfg.rankingEvery == 0 || epoch == cfg.epochs;
    }

    @Override
    public void evaluate(long[] blockKeys, Batch[] batches, int epoch, double[] sums, int from) throws Exception {
        if (!due(epoch)) {
            return;
        }
        if (rowIds == null) {
            sample(blockKeys);
        }
        int k = cfg.rankingK;
        int n = rowIds.length;
        RowScorer[] scorers = new RowScorer[models.count]; // null for a stopped model: it is not measured again
        for (int i = 0; i < models.liveCount; i++) {
            int m = models.live[i];
            scorers[m] = new RowScorer(models.rank[m], k, rowIds, params(m), excluded, exStart);
        }
        // a subtask without sampled rows only misses the column count, which the barrier takes from the others (MAX)
        long columns = n > 0 ? scanColumns(scorers) : 0;
        sums[from + (STATS + REGISTERS) * models.count] = columns;
        long[] top = new long[k];
        for (int l = 0; l < models.liveCount; l++) {
            int m = models.live[l];
            int at = from + STATS * m;
            int registers = from + STATS * models.count + REGISTERS * m;
            for (int r = 0; r < n; r++) {
                int got = scorers[m].top(r, top);
                addRow(top, got, relevant, relStart[r], relStart[r + 1], k, sums, at);
                for (int i = 0; i < got; i++) {
                    sketch(top[i], sums, registers);
                }
            }
        }
    }

    /** One row's precision, recall, NDCG and AP at k into {@code sums[at..at+4]}. */
    static void addRow(long[] top, int got, long[] rel, int relFrom, int relTo, int k, double[] sums, int at) {
        int relevantCount = relTo - relFrom;
        int hits = 0;
        double dcg = 0;
        double ap = 0;
        for (int i = 0; i < got; i++) {
            if (Arrays.binarySearch(rel, relFrom, relTo, top[i]) >= 0) {
                hits++;
                dcg += 1.0 / log2(i + 2);
                ap += hits / (double) (i + 1);
            }
        }
        double idcg = 0;
        for (int i = 0; i < Math.min(relevantCount, k); i++) {
            idcg += 1.0 / log2(i + 2);
        }
        sums[at] += hits / (double) k;
        sums[at + 1] += hits / (double) relevantCount;
        sums[at + 2] += dcg / idcg;
        sums[at + 3] += ap / Math.min(relevantCount, k);
        sums[at + 4] += 1;
    }

    private static double log2(int x) {
        return Math.log(x) / Math.log(2);
    }

    /** Every column of every shard, page by page, offered to every model's rows; returns how many columns. */
    private long scanColumns(RowScorer[] scorers) throws Exception {
        int width = cfg.width();
        long[] count = {0};
        ColumnSlice.forEachPage(ps, 0, 1, scanned -> { // slice 0 of 1: every column
            count[0] += scanned.count;
            for (int l = 0; l < models.liveCount; l++) {
                int m = models.live[l];
                for (int i = 0; i < scanned.count; i++) {
                    scorers[m].offer(scanned.keys[i], scanned.values, i * width + models.offset[m]);
                }
            }
        });
        for (RowScorer s : scorers) {
            if (s != null) {
                s.flush();
            }
        }
        return count[0];
    }

    /** The sampled rows' current {@code [b_i, u_i]} of model m. */
    private float[] params(int m) throws Exception {
        int dim = models.rank[m] + 1;
        int width = cfg.width();
        float[] out = new float[rowIds.length * dim];
        long current = Long.MIN_VALUE;
        float[] p = null;
        for (int r = 0; r < rowIds.length; r++) {
            if (rowBlock[r] != current || p == null) {
                current = rowBlock[r];
                store.select(current);
                p = store.params();
            }
            System.arraycopy(p, rowIndex[r] * width + models.offset[m], out, r * dim, dim);
        }
        return out;
    }

    /** Picks the sampled rows that have training ratings and a relevant held-out rating. */
    private void sample(long[] blockKeys) throws Exception {
        long seed = cfg.seed ^ SAMPLE_SALT;
        LongList ids = new LongList(256);
        LongList blocks = new LongList(256);
        IntList index = new IntList(256);
        LongList ex = new LongList(1024);
        IntList exAt = new IntList(256);
        LongList rel = new LongList(256);
        IntList relAt = new IntList(256);
        long[] sorted = blockKeys.clone();
        Arrays.sort(sorted); // a fixed order, whatever the epoch's shuffle
        for (long bk : sorted) {
            store.select(bk);
            RowBlock b = store.block();
            for (int r = 0; r < b.rows(); r++) {
                if (b.trainCount(r) == 0 || HoldoutSplit.unit(seed, b.keys[r], 0) >= fraction) {
                    continue;
                }
                int relFrom = rel.n;
                for (int t = b.testFrom(r); t < b.testEnd[r]; t++) {
                    // validation ratings are for choosing, not for the test metrics
                    boolean validation = b.testKinds != null && b.testKinds[t] == Rating.VALIDATION;
                    if (!validation && b.testVals[t] >= cfg.relevanceThreshold) {
                        rel.add(store.columns().id(b.testCols[t]));
                    }
                }
                int exFrom = ex.n;
                for (int t = b.trainFrom(r); t < b.trainEnd[r]; t++) {
                    ex.add(store.columns().id(b.cols[t]));
                }
                Arrays.sort(ex.a, exFrom, ex.n);
                // each relevant column once, and none the row trained on (it can never be recommended)
                Arrays.sort(rel.a, relFrom, rel.n);
                int kept = relFrom;
                for (int i = relFrom; i < rel.n; i++) {
                    long c = rel.a[i];
                    if ((kept == relFrom || rel.a[kept - 1] != c) && Arrays.binarySearch(ex.a, exFrom, ex.n, c) < 0) {
                        rel.a[kept++] = c;
                    }
                }
                rel.n = kept;
                if (rel.n == relFrom) {
                    ex.n = exFrom;
                    continue; // nothing relevant held out: the row cannot be scored
                }
                relAt.add(relFrom);
                ids.add(b.keys[r]);
                blocks.add(bk);
                index.add(r);
                exAt.add(exFrom);
            }
        }
        exAt.add(ex.n);
        relAt.add(rel.n);
        rowIds = ids.toArray();
        rowBlock = blocks.toArray();
        rowIndex = index.toArray();
        excluded = ex.toArray();
        exStart = exAt.toArray();
        relevant = rel.toArray();
        relStart = relAt.toArray();
    }
}
