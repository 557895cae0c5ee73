package org.factorbird.pipeline;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.factorbird.pipeline.model.ModelFile;
import org.factorbird.ps.TableSpec;
import org.factorbird.ps.PsClientConfig;

/**
 * A checked, immutable training configuration, built from {@link FactorbirdOptions}: the data and run settings,
 * and the list of models trained together in one pass (one for {@code train}, the Cartesian product of the listed
 * values for {@code grid}). Shipped to every subtask. Every check names the option and the bad value.
 */
public final class TrainConfig implements Serializable {

    private static final long serialVersionUID = 2L;

    /** Options that take a comma-separated list of values in a grid search. */
    public static final List<ConfigOption<?>> GRID_OPTIONS = List.of(FactorbirdOptions.RANK,
            FactorbirdOptions.LEARNING_RATE, FactorbirdOptions.LAMBDA, FactorbirdOptions.LAMBDA_BIAS,
            FactorbirdOptions.SCHEDULE, FactorbirdOptions.DECAY, FactorbirdOptions.INIT_STD);

    public static final int MAX_MODELS = 1024;
    private static final String GRID_VALIDATION_TEXT = String.valueOf(FactorbirdOptions.GRID_VALIDATION);
    public static final int MAX_EPOCHS = 1_000_000;

    public final String input;
    public final String output;
    public final String test;
    /** Delete --output first when it holds files. */
    public final boolean overwrite;
    public final int epochs;
    public final long seed;
    public final int parallelism;
    public final String stateBackend;
    /** RocksDB memory per subtask; null: sized from the input by {@link FactorbirdJob#flinkConfig}. */
    public final MemorySize rocksdbMemory;
    public final boolean strict;
    public final int batchRows;
    public final int batchRatings;
    /** --batch-ratings was given: training batches then close at it alone (see {@code EpochRunner}). */
    public final boolean batchRatingsGiven;
    /** --push-damping: see {@code PushDamping}. */
    public final boolean pushDamping;
    /** --column-chunks: see {@code ColumnChunks}. */
    public final boolean columnChunks;
    /** How subtasks talk to the PS (in-flight limit, timeout, secret, TLS). */
    public final PsSettings ps;
    public final int weightColumn;
    /** --ids string: ids are text, keyed by {@link org.factorbird.pipeline.io.StringIds#key}. */
    public final boolean stringIds;
    public final float holdout;
    /** Fraction of the training input set aside for validation. */
    public final float validation;
    public final float lossSample;
    /** Successive halving (--prune halving): stop models every {@link #pruneEvery} epochs; false: never. */
    public final boolean prune;
    public final int pruneEvery;
    /** Share of the training models that goes on at each pruning. */
    public final double keep;
    /** --prune-tie: relative gap in validation RMSE within which models tie with the last one kept. */
    public final double pruneTie;
    /** --first-rung: the partial passes before the full epochs, each followed by a halving; none without it. */
    public final Rungs rungs;
    public final boolean clip;
    public final int earlyStop;
    public final boolean keepAll;
    /** Implicit feedback: positives only, negatives sampled, no global mean. */
    public final boolean implicit;
    /** The loss: {@link #SQUARED}, {@link #LOGISTIC} or {@link #BPR}. */
    public final byte loss;
    public final int negatives;
    public final float confidenceAlpha;
    public static final byte SQUARED = 0;
    public static final byte LOGISTIC = 1;
    public static final byte BPR = 2;
    private static final String[] LOSS_NAMES = {"squared", "logistic", "bpr"};
    /** K of the ranking metrics; 0: off. */
    public final int rankingK;
    public final int rankingEvery;
    public final int rankingRows;
    public final float relevanceThreshold;
    /** True: the best model is the one with the highest final NDCG@K. */
    public final boolean selectByNdcg;
    /** Top-k recommendations per row written after training; 0: none. */
    public final int recommend;
    public final String snapshotDir;
    public final int snapshotEvery;
    public final int maxRestarts;
    public final String resume;
    /** True for a grid search (grid.json, ranked table), even of one model. */
    public final boolean grid;
    public final List<HyperParams> models;
    /** Offset of model m's segment in every row's and column's parameters; offsets[M] = total width. */
    public final int[] offsets;
    /** Parameter servers in shard order; empty until an embedded cluster is started. */
    public final List<String> psServers;
    /** Identifies this run on the PS cluster; fresh for every submission. */
    public final long runId;

    private TrainConfig(Configuration c, List<HyperParams> models, boolean grid, List<String> psServers,
            long runId) {
        c = ImplicitDefaults.apply(c);
        this.input = Checks.required(c.get(FactorbirdOptions.INPUT), "input");
        this.output = Checks.required(c.get(FactorbirdOptions.OUTPUT), "output");
        this.test = c.get(FactorbirdOptions.TEST);
        this.overwrite = c.get(FactorbirdOptions.OVERWRITE);
        int fullEpochs = Checks.atLeast(c.get(FactorbirdOptions.EPOCHS), 1, "epochs");
        if (fullEpochs > MAX_EPOCHS) {
            // epochs live in 20 bits of the barriers' aggregate ids (Coordinator)
            throw new IllegalArgumentException("--epochs must be <= " + MAX_EPOCHS + " but was " + fullEpochs);
        }
        this.seed = c.get(FactorbirdOptions.SEED);
        this.parallelism = Checks.atLeast(c.get(FactorbirdOptions.PARALLELISM), 1, "parallelism");
        String backend = c.get(FactorbirdOptions.STATE_BACKEND);
        if (!backend.equals("heap") && !backend.equals("rocksdb")) {
            throw new IllegalArgumentException("--state-backend must be 'heap' or 'rocksdb' but was '" + backend + "'");
        }
        this.stateBackend = backend;
        MemorySize rm = c.get(FactorbirdOptions.ROCKSDB_MEMORY);
        if (rm != null && rm.getBytes() < (16L << 20)) {
            throw new IllegalArgumentException("--rocksdb-memory must be at least 16m but was " + rm);
        }
        this.rocksdbMemory = rm;
        this.strict = c.get(FactorbirdOptions.STRICT);
        boolean adagrad = models.stream().anyMatch(m -> m.schedule == HyperParams.Schedule.ADAGRAD);
        this.batchRows = c.getOptional(FactorbirdOptions.BATCH_ROWS)
                .map(b -> Checks.atLeast(b, 1, "batch-rows")).orElse(BatchSizes.defaultBatchRows(parallelism, adagrad));
        this.batchRatingsGiven = c.contains(FactorbirdOptions.BATCH_RATINGS);
        this.pushDamping = c.get(FactorbirdOptions.PUSH_DAMPING);
        this.columnChunks = c.get(FactorbirdOptions.COLUMN_CHUNKS);
        this.ps = new PsSettings(c);
        int wc = c.get(FactorbirdOptions.WEIGHT_COLUMN);
        if (wc != 0 && wc < 4) {
            throw new IllegalArgumentException("--weight-column must be 0 (none) or >= 4 (columns 1-3 are row, "
                    + "column, value) but was " + wc);
        }
        this.weightColumn = wc;
        this.stringIds = stringIds(c.get(FactorbirdOptions.IDS));
        this.holdout = fraction(c.get(FactorbirdOptions.HOLDOUT), "holdout");
        this.validation = fraction(c.contains(FactorbirdOptions.VALIDATION) || !grid || c.get(FactorbirdOptions.IMPLICIT)
                ? c.get(FactorbirdOptions.VALIDATION) : FactorbirdOptions.GRID_VALIDATION, "validation");
        this.lossSample = fraction(c.get(FactorbirdOptions.LOSS_SAMPLE), "loss-sample");
        this.clip = c.get(FactorbirdOptions.CLIP);
        this.earlyStop = Checks.atLeast(c.get(FactorbirdOptions.EARLY_STOP), 0, "early-stop");
        this.keepAll = c.get(FactorbirdOptions.KEEP_ALL);
        this.recommend = Checks.atLeast(c.get(FactorbirdOptions.RECOMMEND), 0, "recommend");
        if (recommend > 0 && stringIds) {
            // a subtask knows the texts of its own columns only, not of every column it may recommend
            throw new IllegalArgumentException("--recommend is not available with --ids string: run "
                    + "'factorbird recommend --model OUT' on the trained model instead");
        }
        this.implicit = c.get(FactorbirdOptions.IMPLICIT);
        String loss = c.get(FactorbirdOptions.LOSS);
        switch (loss) {
            case "squared" -> this.loss = SQUARED;
            case "logistic" -> this.loss = LOGISTIC;
            case "bpr" -> this.loss = BPR;
            default -> throw new IllegalArgumentException("--loss must be squared, logistic or bpr but was '" + loss
                    + "'");
        }
        if (!implicit && this.loss != SQUARED) {
            throw new IllegalArgumentException("--loss " + loss + " needs --implicit (explicit ratings use squared)");
        }
        this.negatives = Checks.atLeast(c.get(FactorbirdOptions.NEGATIVES), implicit && this.loss == BPR ? 1 : 0,
                "negatives");
        double alpha = c.get(FactorbirdOptions.CONFIDENCE_ALPHA);
        if (!(alpha >= 0) || Double.isInfinite(alpha)) {
            throw new IllegalArgumentException("--confidence-alpha must be a finite number >= 0 but was " + alpha);
        }
        this.confidenceAlpha = (float) alpha;
        if (implicit && models.stream().anyMatch(m -> m.schedule == HyperParams.Schedule.ADAGRAD)) {
            throw new IllegalArgumentException("--implicit trains with the constant or decay schedule, not adagrad");
        }
        this.rankingK = Checks.atLeast(c.get(FactorbirdOptions.RANKING_K), 0, "ranking-k");
        this.rankingEvery = Checks.atLeast(c.get(FactorbirdOptions.RANKING_EVERY), 1, "ranking-every");
        this.rankingRows = Checks.atLeast(c.get(FactorbirdOptions.RANKING_ROWS), 1, "ranking-rows");
        double threshold = implicit && !c.contains(FactorbirdOptions.RELEVANCE_THRESHOLD) ? -Float.MAX_VALUE
                : c.get(FactorbirdOptions.RELEVANCE_THRESHOLD);
        if (!Float.isFinite((float) threshold)) {
            throw new IllegalArgumentException("--relevance-threshold must be a finite number but was " + threshold);
        }
        this.relevanceThreshold = (float) threshold;
        String selectBy = c.get(FactorbirdOptions.SELECT_BY);
        if (!selectBy.equals("rmse") && !selectBy.equals("ndcg")) {
            throw new IllegalArgumentException("--select-by must be 'rmse' or 'ndcg' but was '" + selectBy + "'");
        }
        if (selectBy.equals("ndcg") && rankingK == 0) {
            throw new IllegalArgumentException("--select-by ndcg needs --ranking-k K");
        }
        this.selectByNdcg = selectBy.equals("ndcg");
        if (implicit && !selectByNdcg && (earlyStop > 0 || models.size() > 1)) {
            throw new IllegalArgumentException("--implicit " + (earlyStop > 0 ? "--early-stop" : "grid")
                    + " needs --ranking-k K: held-out RMSE cannot judge implicit feedback");
        }
        String prune = c.get(FactorbirdOptions.PRUNE);
        if (!prune.equals("none") && !prune.equals("halving")) {
            throw new IllegalArgumentException("--prune must be 'none' or 'halving' but was '" + prune + "'");
        }
        this.prune = prune.equals("halving");
        this.pruneEvery = Checks.atLeast(c.get(FactorbirdOptions.PRUNE_EVERY), 1, "prune-every");
        double keep = c.get(FactorbirdOptions.KEEP);
        if (!(keep > 0 && keep < 1)) {
            throw new IllegalArgumentException("--keep must be in (0, 1) but was " + keep);
        }
        this.keep = keep;
        this.pruneTie = fraction(c.get(FactorbirdOptions.PRUNE_TIE), "prune-tie");
        Rungs r = Rungs.of(models.size(), keep, c.get(FactorbirdOptions.FIRST_RUNG));
        this.rungs = this.prune ? r : Rungs.NONE;
        if (rungs.count() > 0 && c.get(FactorbirdOptions.RESUME) != null) {
            throw new IllegalArgumentException("--first-rung below 1 is for a fresh grid: leave it out with --resume");
        }
        this.epochs = fullEpochs + rungs.count();
        if (this.prune && !grid) {
            throw new IllegalArgumentException("--prune halving is for 'factorbird grid' (one model has nothing to "
                    + "prune)");
        }
        if (this.prune && (implicit || selectByNdcg)) {
            throw new IllegalArgumentException("--prune halving ranks models by validation RMSE, which cannot judge "
                    + (implicit ? "--implicit" : "--select-by ndcg") + " runs; leave --prune out");
        }
        if (this.prune && validation == 0) {
            throw new IllegalArgumentException("--prune halving ranks models on the validation split: --validation "
                    + "must be > 0 (it is " + GRID_VALIDATION_TEXT + " unless set)");
        }
        this.snapshotDir = c.get(FactorbirdOptions.SNAPSHOT_DIR);
        this.snapshotEvery = Checks.atLeast(c.get(FactorbirdOptions.SNAPSHOT_EVERY), 1, "snapshot-every");
        this.maxRestarts = Checks.atLeast(c.get(FactorbirdOptions.MAX_RESTARTS), 0, "max-restarts");
        this.resume = c.get(FactorbirdOptions.RESUME);
        if (models.size() > MAX_MODELS) {
            throw new IllegalArgumentException("a grid may hold at most " + MAX_MODELS + " models but this one has "
                    + models.size());
        }
        this.models = List.copyOf(models);
        this.grid = grid;
        this.offsets = new int[models.size() + 1];
        for (int m = 0; m < models.size(); m++) {
            offsets[m + 1] = offsets[m] + models.get(m).width();
        }
        this.batchRatings = BatchSizes.batchRatings(c, adagrad, offsets[models.size()]);
        for (String s : psServers) {
            PsClientConfig.parseAddress(s);
        }
        this.psServers = List.copyOf(psServers);
        this.runId = runId;
    }

    /** A single-model run from {@code c}; the PS servers come from {@code --ps} (empty if it is not set). */
    public static TrainConfig from(Configuration c, long runId) {
        c = ImplicitDefaults.apply(c);
        for (ConfigOption<?> o : GRID_OPTIONS) {
            String raw = c.toMap().get(o.key());
            if (raw != null && raw.contains(",")) {
                throw new IllegalArgumentException("--" + o.key() + " has a list of values ('" + raw
                        + "'); lists are for 'factorbird grid'");
            }
        }
        return new TrainConfig(c, List.of(modelOf(c)), false, Checks.psServers(c), runId);
    }

    /**
     * A grid search: every option of {@link #GRID_OPTIONS} may hold a comma-separated list; the models are the
     * Cartesian product, in the order the options are listed there (the last varies fastest).
     */
    public static TrainConfig grid(Configuration c, long runId) {
        c = ImplicitDefaults.apply(c);
        Map<String, String> base = c.toMap();
        List<Map<String, String>> points = new ArrayList<>();
        points.add(new HashMap<>(base));
        for (ConfigOption<?> o : GRID_OPTIONS) {
            String raw = base.get(o.key());
            if (raw == null) {
                continue;
            }
            List<String> values = new ArrayList<>();
            Arrays.stream(raw.split(",")).map(String::trim).filter(v -> !v.isEmpty()).forEach(values::add);
            if (values.isEmpty()) {
                throw new IllegalArgumentException("--" + o.key() + " has no value");
            }
            List<Map<String, String>> next = new ArrayList<>();
            for (Map<String, String> p : points) {
                for (String v : values) {
                    Map<String, String> q = new HashMap<>(p);
                    q.put(o.key(), v);
                    next.add(q);
                }
            }
            points = next;
            if (points.size() > MAX_MODELS) {
                throw new IllegalArgumentException("a grid may hold at most " + MAX_MODELS + " models");
            }
        }
        List<HyperParams> models = new ArrayList<>();
        for (Map<String, String> p : points) {
            models.add(modelOf(Configuration.fromMap(p)));
        }
        return new TrainConfig(c, models, true, Checks.psServers(c), runId);
    }

    private static HyperParams modelOf(Configuration c) {
        return new HyperParams(c.get(FactorbirdOptions.RANK), c.get(FactorbirdOptions.LEARNING_RATE).floatValue(),
                c.get(FactorbirdOptions.LAMBDA).floatValue(), c.get(FactorbirdOptions.LAMBDA_BIAS).floatValue(),
                c.get(FactorbirdOptions.INIT_STD).floatValue(),
                HyperParams.Schedule.parse(c.get(FactorbirdOptions.SCHEDULE)),
                c.get(FactorbirdOptions.DECAY).floatValue());
    }

    /** The same configuration with these parameter servers. */
    public TrainConfig withPsServers(List<String> servers, Configuration c) {
        return new TrainConfig(c, models, grid, servers, runId);
    }

    /** Floats per row and per column, all models together. */
    public int width() {
        return offsets[models.size()];
    }

    public List<TableSpec.Segment> segments() {
        List<TableSpec.Segment> out = new ArrayList<>();
        models.forEach(m -> out.add(m.segment()));
        return out;
    }

    /** What the PS stores per column: every model's segment, back to back. */
    public TableSpec columnModel() {
        return new TableSpec(runId, seed, segments());
    }

    public PsClientConfig psClientConfig() {
        return psClientConfig(0);
    }

    /**
     * The client configuration of restart attempt {@code attempt}: every attempt is a new run on the PS (a fresh
     * table), so a restarted job never trains on columns half-updated by the failed attempt; it restores them
     * from a snapshot instead.
     */
    public PsClientConfig psClientConfig(int attempt) {
        long run = attempt == 0 ? runId : (org.factorbird.ps.Hashing.mix64(runId + attempt) | 1);
        return ps.clientConfig(psServers, new TableSpec(run, seed, segments()));
    }

    /**
     * The training operator's maximum parallelism (its number of key groups): fixed by the job, because the
     * chunkers before it compute the key groups it owns (see the pipeline's ChunkOperator).
     */
    public int maxParallelism() {
        return KeyGroupRangeAssignment.computeDefaultMaxParallelism(parallelism);
    }

    /** Run settings for model.json. */
    public ModelFile.Settings settings() {
        return new ModelFile.Settings(epochs, seed, batchRows, batchRatings, weightColumn, holdout, lossSample, clip,
                earlyStop, rankingK, relevanceThreshold, implicit, LOSS_NAMES[loss], negatives, confidenceAlpha,
                validation, stringIds ? "string" : "numeric", pushDamping);
    }

    /** The share of the rows epoch {@code epoch} trains on (below 1 for a rung pass of --first-rung). */
    public float share(int epoch) {
        return rungs.share(epoch);
    }

    /** Parses --ids. */
    public static boolean stringIds(String ids) {
        return switch (ids) {
            case "numeric" -> false;
            case "string" -> true;
            default -> throw new IllegalArgumentException("--ids must be numeric or string but was '" + ids + "'");
        };
    }

    private static float fraction(double v, String name) {
        if (!(v >= 0 && v < 1)) {
            throw new IllegalArgumentException("--" + name + " must be in [0, 1) but was " + v);
        }
        return (float) v;
    }
}
