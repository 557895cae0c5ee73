package org.factorbird.pipeline;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.MemorySize;
import org.factorbird.ps.PsClientConfig;

/**
 * Every knob of a training run, as typed Flink options. The command line flag of an option is {@code --} plus
 * its key ({@code --learning-rate 0.01}). The options of {@code factorbird train} and {@code grid} (and the
 * defaults of the matching {@code estimate} options) are generated from this class, so each default is stated in
 * one place; the README's option table is written by hand and checked against it by {@code FactorbirdCliTest}.
 */
public final class FactorbirdOptions {

    private FactorbirdOptions() {}

    public static final ConfigOption<String> INPUT = ConfigOptions.key("input").stringType().noDefaultValue()
            .withDescription("Training ratings: a file or directory of text files, lines 'row col value' "
                    + "(comma, tab, space or semicolon separated). Any Flink file system URI: file://, hdfs://, s3://. Required.");

    public static final ConfigOption<String> OUTPUT = ConfigOptions.key("output").stringType().noDefaultValue()
            .withDescription("Output directory: rows/, columns/ (lines 'id<TAB>bias<TAB>f1..fk') and model.json. "
                    + "Required.");

    public static final ConfigOption<Boolean> OVERWRITE = ConfigOptions.key("overwrite").booleanType()
            .defaultValue(false).withDescription("Delete --output first when it holds files (e.g. of a failed run); "
                    + "without it such an --output is refused.");

    public static final ConfigOption<String> TEST = ConfigOptions.key("test").stringType().noDefaultValue()
            .withDescription("Held-out ratings in the same format; never trained on. Held-out RMSE and MAE are "
                    + "reported after every epoch.");

    public static final ConfigOption<Integer> RANK = ConfigOptions.key("rank").intType().defaultValue(10)
            .withDescription("Number of latent factors k.");

    public static final ConfigOption<Integer> EPOCHS = ConfigOptions.key("epochs").intType().defaultValue(20)
            .withDescription("Passes of SGD over the training ratings.");

    public static final ConfigOption<Double> LEARNING_RATE = ConfigOptions.key("learning-rate").doubleType()
            .defaultValue(0.12).withDescription("SGD step size eta (of the first epoch with the 'decay' schedule). "
                    + "The defaults (decay 0.12 / (1 + 0.5 t), lambda 0.03, init-std 0.001) were measured on four data "
                    + "shapes: README 'Defaults'.");

    public static final ConfigOption<Double> LAMBDA = ConfigOptions.key("lambda").doubleType().defaultValue(0.03)
            .withDescription("L2 regularisation of the factors u_i, v_j.");

    public static final ConfigOption<Double> LAMBDA_BIAS = ConfigOptions.key("lambda-bias").doubleType()
            .defaultValue(0.01).withDescription("L2 regularisation of the biases b_i, b_j.");

    public static final ConfigOption<Double> INIT_STD = ConfigOptions.key("init-std").doubleType()
            .defaultValue(0.001).withDescription("Standard deviation of the initial factors (biases start at 0); "
                    + "every value is drawn deterministically from (seed, id).");

    public static final ConfigOption<String> SCHEDULE = ConfigOptions.key("schedule").stringType()
            .defaultValue("decay").withDescription("Learning-rate schedule: 'constant'; 'decay' (eta_t = eta_0 / "
                    + "(1 + decay t), t = epochs done); 'adagrad' (per-coordinate eta_0 / sqrt(sum of squared "
                    + "gradients); column accumulators live on the PS next to v_j, row ones next to u_i).");

    public static final ConfigOption<Double> DECAY = ConfigOptions.key("decay").doubleType().defaultValue(0.5)
            .withDescription("The d of the 'decay' schedule.");

    public static final ConfigOption<Integer> WEIGHT_COLUMN = ConfigOptions.key("weight-column").intType()
            .defaultValue(0).withDescription("1-based input column holding each rating's weight w_ij in the loss "
                    + "sum w_ij (prediction - r_ij)^2; 0: every weight is 1 (the 4th column of common rating files "
                    + "is a timestamp).");

    public static final ConfigOption<String> IDS = ConfigOptions.key("ids").stringType().defaultValue("numeric")
            .withDescription("Row and column ids of the input: 'numeric' (non-negative 64-bit integers) or 'string' "
                    + "(any text without separators, e.g. u123 or a hash; keyed by a 63-bit XXH64, a collision stops "
                    + "the run naming both ids; the output, recommend and predict use the strings).");

    public static final ConfigOption<Double> HOLDOUT = ConfigOptions.key("holdout").doubleType().defaultValue(0.0)
            .withDescription("Hold out this fraction of the input (a hash of (row, col, seed): the same split "
                    + "anywhere, at any parallelism) for evaluation, instead of or besides --test.");

    /** --validation of an explicit-feedback grid search (and tune) that does not set it. */
    public static final double GRID_VALIDATION = 0.05;

    public static final ConfigOption<Double> VALIDATION = ConfigOptions.key("validation").doubleType()
            .defaultValue(0.0).withDescription("Set this fraction of the training input aside for validation (a hash "
                    + "of (row, col, seed), independent of --holdout): never trained on, and what picks a grid's best "
                    + "model, what --prune ranks and what --early-stop watches; the test data (--test, --holdout) is "
                    + "then only reported. Default for explicit-feedback 'grid' and 'tune': " + GRID_VALIDATION
                    + "; 0 turns it off.");

    public static final ConfigOption<String> PRUNE = ConfigOptions.key("prune").stringType().defaultValue("none")
            .withDescription("Grid search: 'halving' (successive halving inside the one pass: every --prune-every "
                    + "epochs the models still training are ranked by validation RMSE and all but the best --keep "
                    + "share stop; a stopped model costs no arithmetic and no PS bytes afterwards and keeps its last "
                    + "parameters) or 'none'.");

    public static final ConfigOption<Integer> PRUNE_EVERY = ConfigOptions.key("prune-every").intType()
            .defaultValue(2).withDescription("With --prune halving: rank and stop models after every this many "
                    + "epochs.");

    public static final ConfigOption<Double> FIRST_RUNG = ConfigOptions.key("first-rung").doubleType()
            .defaultValue(1.0).withDescription("With --prune halving: below 1, the first halvings come after partial "
                    + "passes before the full epochs, on growing shares of the rows (this share, then divided by "
                    + "--keep each time, while below 1), so that the widest rungs cost the least; the --epochs full "
                    + "epochs follow, and the halving goes on every --prune-every of them. 1: no partial passes.");

    public static final ConfigOption<Double> KEEP = ConfigOptions.key("keep").doubleType().defaultValue(0.5)
            .withDescription("With --prune halving: the share of the models still training that goes on at each "
                    + "pruning (rounded up; at least one).");

    public static final ConfigOption<Double> PRUNE_TIE = ConfigOptions.key("prune-tie").doubleType()
            .defaultValue(0.001).withDescription("With --prune halving: models whose validation RMSE is within this "
                    + "fraction of the last one kept go on too. Two runs of one search differ by Hogwild's timing (up "
                    + "to 2e-4 of a model's validation RMSE on MovieLens), so a cut between closer models would pick "
                    + "by chance; 0: exactly the --keep share.");

    public static final ConfigOption<Double> LOSS_SAMPLE = ConfigOptions.key("loss-sample").doubleType()
            .defaultValue(0.01).withDescription("Fraction of training ratings (a fixed hash sample) on which the "
                    + "training loss is measured after every epoch; 0 reports the loss seen during the epoch.");

    public static final ConfigOption<Boolean> CLIP = ConfigOptions.key("clip").booleanType().defaultValue(true)
            .withDescription("Clip held-out predictions to the range of the training ratings (--no-clip turns it "
                    + "off).");

    public static final ConfigOption<Boolean> IMPLICIT = ConfigOptions.key("implicit").booleanType()
            .defaultValue(false).withDescription("Implicit feedback: every input line is a positive interaction "
                    + "(its value only weighs it, see --confidence-alpha); the model learns to rank them above "
                    + "sampled negatives (--loss, --negatives) and has no global mean. Changes the defaults of "
                    + "--loss (bpr), --rank (64), --learning-rate (0.01), --lambda (0.02), --epochs (60), "
                    + "--batch-rows (64) and --relevance-threshold (every held-out line is relevant).");

    public static final ConfigOption<String> LOSS = ConfigOptions.key("loss").stringType().defaultValue("squared")
            .withDescription("'squared' (explicit ratings; with --implicit: positives 1, negatives 0), 'logistic' "
                    + "or 'bpr' (pairwise: a positive over a sampled negative); the last two need --implicit.");

    public static final ConfigOption<Integer> NEGATIVES = ConfigOptions.key("negatives").intType().defaultValue(8)
            .withDescription("With --implicit: negatives per positive, drawn uniformly from the columns this "
                    + "subtask has seen, through a pool of columns pulled once per batch with the batch's own.");

    public static final ConfigOption<Double> CONFIDENCE_ALPHA = ConfigOptions.key("confidence-alpha").doubleType()
            .defaultValue(0.0).withDescription("With --implicit: a positive's weight is 1 + alpha x its value; 0: "
                    + "every positive weighs 1.");

    public static final ConfigOption<Integer> RANKING_K = ConfigOptions.key("ranking-k").intType().defaultValue(0)
            .withDescription("Ranking metrics at K after every --ranking-every epochs and after the last: "
                    + "precision@K, recall@K, NDCG@K and MAP@K of the top K over every column with training data "
                    + "(the row's training ratings excluded) against its relevant held-out ratings, on a fixed "
                    + "hash sample of --ranking-rows rows; 0: off.");

    public static final ConfigOption<Integer> RANKING_EVERY = ConfigOptions.key("ranking-every").intType()
            .defaultValue(1).withDescription("Compute the ranking metrics (--ranking-k) every this many epochs.");

    public static final ConfigOption<Integer> RANKING_ROWS = ConfigOptions.key("ranking-rows").intType()
            .defaultValue(10_000).withDescription("Rows in the fixed hash sample the ranking metrics are measured "
                    + "on (all rows when there are fewer).");

    public static final ConfigOption<Double> RELEVANCE_THRESHOLD = ConfigOptions.key("relevance-threshold")
            .doubleType().defaultValue(4.0).withDescription("A held-out rating is relevant to the ranking "
                    + "metrics when its value is at least this.");

    public static final ConfigOption<String> SELECT_BY = ConfigOptions.key("select-by").stringType()
            .defaultValue("rmse").withDescription("What picks the best model of a grid (and the metrics' leader): "
                    + "'rmse' (final held-out RMSE, else the training loss) or 'ndcg' (final NDCG@K; needs "
                    + "--ranking-k).");

    public static final ConfigOption<Integer> EARLY_STOP = ConfigOptions.key("early-stop").intType()
            .defaultValue(0).withDescription("Stop when the best held-out RMSE has not improved for this many "
                    + "epochs; 0: never.");

    public static final ConfigOption<Integer> RECOMMEND = ConfigOptions.key("recommend").intType()
            .defaultValue(0).withDescription("Also write the top-K columns of every row to OUT/recommendations/ "
                    + "(lines row<TAB>rank<TAB>column<TAB>score, the row's training ratings excluded, ties to the "
                    + "smaller column id), from the trained model (the best one of a grid); 0: none.");

    public static final ConfigOption<Boolean> KEEP_ALL = ConfigOptions.key("keep-all").booleanType()
            .defaultValue(false).withDescription("Grid search: also write every model to OUT/models/<index>/ "
                    + "(the best always goes to OUT/rows, OUT/columns, OUT/model.json).");

    public static final ConfigOption<String> SNAPSHOT_DIR = ConfigOptions.key("snapshot-dir").stringType()
            .noDefaultValue().withDescription("Directory (any Flink file system URI) for epoch-consistent snapshots "
                    + "of rows, columns and optimiser state. With it, a failed run is restarted by Flink (see "
                    + "--max-restarts) and resumes from the newest complete snapshot instead of epoch 0.");

    public static final ConfigOption<Integer> SNAPSHOT_EVERY = ConfigOptions.key("snapshot-every").intType()
            .defaultValue(5).withDescription("Snapshot every this many epochs (and after the last one).");

    public static final ConfigOption<Integer> MAX_RESTARTS = ConfigOptions.key("max-restarts").intType()
            .defaultValue(10).withDescription("Restarts after failures (only with --snapshot-dir; 2 s apart).");

    public static final ConfigOption<String> RESUME = ConfigOptions.key("resume").stringType().noDefaultValue()
            .withDescription("Start from the newest complete snapshot in this directory (a --snapshot-dir of an "
                    + "earlier run, finished or not): a warm start. The models must have the same layout (checked "
                    + "before any data is read). --epochs counts every epoch, the snapshot's included; or give "
                    + "--more-epochs.");

    public static final ConfigOption<Integer> MORE_EPOCHS = ConfigOptions.key("more-epochs").intType()
            .defaultValue(0).withDescription("With --resume: train this many epochs beyond the snapshot's (instead "
                    + "of --epochs, which counts all of them); 0: use --epochs.");

    public static final ConfigOption<Long> SEED = ConfigOptions.key("seed").longType().defaultValue(42L)
            .withDescription("Seed of initial values and shuffling.");

    public static final ConfigOption<Integer> PARALLELISM = ConfigOptions.key("parallelism").intType()
            .defaultValue(2).withDescription("Parallel training subtasks (each holds the rows hashed to it).");

    public static final ConfigOption<String> PS = ConfigOptions.key("ps").stringType().noDefaultValue()
            .withDescription("Parameter servers host:port,... in shard order. Without it, a local run starts an "
                    + "embedded cluster of --ps-shards shards.");

    public static final ConfigOption<String> PS_CLUSTER_ID = ConfigOptions.key("ps-cluster-id").stringType()
            .defaultValue("").withDescription("Name of the parameter-server cluster the job expects (cluster-id in "
                    + "conf/ps-cluster.yaml); servers of another cluster refuse the job at connect time. Empty: any.");

    public static final ConfigOption<String> PS_AUTH_SECRET_FILE = ConfigOptions.key("ps-auth-secret-file")
            .stringType().noDefaultValue().withDescription("File holding the PS cluster's shared secret "
                    + "(auth-secret-file in conf/ps-cluster.yaml); read where each subtask runs, never sent.");

    public static final ConfigOption<String> PS_TLS_TRUSTSTORE = ConfigOptions.key("ps-tls-truststore")
            .stringType().noDefaultValue().withDescription("PKCS12 trust store with the certificates of PS servers "
                    + "that serve TLS (tls-keystore in conf/ps-cluster.yaml); read where each subtask runs.");

    public static final ConfigOption<String> PS_TLS_PASSWORD_FILE = ConfigOptions.key("ps-tls-password-file")
            .stringType().noDefaultValue().withDescription("File holding the password of --ps-tls-truststore.");

    public static final ConfigOption<Integer> PS_SHARDS = ConfigOptions.key("ps-shards").intType().defaultValue(2)
            .withDescription("Shards of the embedded parameter server (only without --ps).");

    public static final ConfigOption<String> STATE_BACKEND = ConfigOptions.key("state-backend").stringType()
            .defaultValue("heap").withDescription("Where rows live: 'heap' (fast) or 'rocksdb' (rows larger "
                    + "than memory).");

    public static final ConfigOption<MemorySize> ROCKSDB_MEMORY = ConfigOptions.key("rocksdb-memory").memoryType()
            .noDefaultValue().withDescription("Memory of RocksDB (block cache, index and write buffers) per "
                    + "training subtask with --state-backend rocksdb, outside the JVM heap (Flink's "
                    + "state.backend.rocksdb.memory.fixed-per-slot). Default: the size of --input per subtask, "
                    + "between 64 MB and 1 GB, so that the packed rows (smaller than their text) stay cached.");

    public static final ConfigOption<Boolean> STRICT = ConfigOptions.key("strict").booleanType()
            .defaultValue(false).withDescription("Fail on the first malformed input line instead of skipping and "
                    + "counting it.");

    public static final ConfigOption<Integer> BATCH_ROWS = ConfigOptions.key("batch-rows").intType()
            .noDefaultValue().withDescription("Rows per batch: each batch pulls every distinct column it needs "
                    + "once, trains, and pushes one summed delta per column. Bounds the staleness of columns. "
                    + "Default: " + BatchSizes.BATCH_ROWS_TOGETHER + " / --parallelism, at least "
                    + BatchSizes.MIN_DEFAULT_BATCH_ROWS + " (16,384 at parallelism 2): larger batches cut the PS "
                    + "traffic, but every subtask pushes the summed deltas of a batch against one pulled copy, so a "
                    + "popular column moves by their sum and overshoots as the batches grow together unless "
                    + "--push-damping scales them (100M ratings, skew 0.8, 2 subtasks: 65,536 rows diverged without "
                    + "it and trained with it; 16,384 rows trained to the RMSE of 4,096). With several subtasks and "
                    + "pushes not damped (--no-push-damping, AdaGrad, implicit feedback) a batch holds at most an 8th "
                    + "of a subtask's rows. With AdaGrad models: " + BatchSizes.UNDAMPED_BATCH_ROWS_TOGETHER
                    + " / --parallelism.");

    public static final ConfigOption<Integer> BATCH_RATINGS = ConfigOptions.key("batch-ratings").intType()
            .defaultValue(1 << 20).withDescription("Ratings per batch at most (a batch closes at whichever of "
                    + "batch-rows and batch-ratings comes first; 20 bytes a rating, twice per subtask); lowered for "
                    + "wide grids so that a batch's copy of its columns stays within 64M floats (e.g. 95,325 for 64 "
                    + "models of rank 10). 262,144 until push damping: at 45 ratings a row that closed batches at "
                    + "~5,800 rows; at 12,500 the 10M bench set trains ~20% faster at the same RMSE (+0.001). With AdaGrad "
                    + "models (not damped): " + BatchSizes.UNDAMPED_BATCH_RATINGS + ". Unless given, a training "
                    + "batch also closes at " + BatchSizes.BATCH_STEPS_PER_COLUMN + " ratings per training column "
                    + "of its subtask: each column takes a batch's steps from one pulled copy (a sparse 100,000 x "
                    + "20,000 set: held-out RMSE 0.428 at ~30 per column, 0.395 at 5). Blocks of rows follow the same cap: on "
                    + "dense data (2,000 x 1,000, 270 ratings a row) ~69 per column let two subtasks grow a factor "
                    + "with opposite signs and end at 0.47 instead of 0.315. With parallelism > 1, a given value "
                    + "that makes more than " + BatchSizes.WARN_STEPS_PER_COLUMN + " per column is warned about.");

    public static final ConfigOption<Boolean> PUSH_DAMPING = ConfigOptions.key("push-damping").booleanType()
            .defaultValue(true).withDescription("Scale the summed delta each subtask pushes for a column by "
                    + "(1 - q^p) / (p (1 - q)), q = (1 - eta)^n for the column's n ratings in the batch and p "
                    + "subtasks: what sequential SGD over all subtasks' steps would move it, where the plain sum "
                    + "overshoots a popular column by up to p - 1 times (AdaGrad models are not scaled; nothing "
                    + "changes at parallelism 1). --no-push-damping sums the deltas as they are.");

    public static final ConfigOption<Boolean> COLUMN_CHUNKS = ConfigOptions.key("column-chunks").booleanType()
            .defaultValue(true).withDescription("Train a batch chunk by chunk of its columns (512 KB of them each, "
                    + "LIBMF's blocking within a batch) when a subtask's columns exceed one chunk: a chunk's columns "
                    + "and the rows stay in the cache (10M ratings, rank 10: half the SGD time of a batch). "
                    + "--no-column-chunks trains each row's ratings together, in a shuffled order.");

    public static final ConfigOption<Integer> PS_MAX_IN_FLIGHT = ConfigOptions.key("ps-max-in-flight").intType()
            .defaultValue(PsClientConfig.DEFAULT_MAX_IN_FLIGHT)
            .withDescription("Requests in flight per parameter server before a subtask waits.");

    public static final ConfigOption<Long> PS_TIMEOUT_MS = ConfigOptions.key("ps-timeout-ms").longType()
            .defaultValue(PsClientConfig.DEFAULT_REQUEST_TIMEOUT_MS)
            .withDescription("How long a pull or push may wait for its reply (ms).");

    /** The plain text of an option's description. */
    public static String text(ConfigOption<?> option) {
        StringBuilder sb = new StringBuilder();
        for (org.apache.flink.configuration.description.BlockElement b : option.description().getBlocks()) {
            if (b instanceof org.apache.flink.configuration.description.TextElement) {
                sb.append(((org.apache.flink.configuration.description.TextElement) b).getFormat());
            }
        }
        return sb.toString();
    }

    /** All options in declaration order (for --help and the README). */
    public static List<ConfigOption<?>> all() {
        return declaredIn(FactorbirdOptions.class);
    }

    /** The static {@link ConfigOption} fields of {@code holder}, in declaration order. */
    public static List<ConfigOption<?>> declaredIn(Class<?> holder) {
        List<ConfigOption<?>> out = new ArrayList<>();
        for (Field f : holder.getDeclaredFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getType() == ConfigOption.class) {
                try {
                    out.add((ConfigOption<?>) f.get(null));
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return out;
    }
}
