package org.factorbird.jobs;

import java.util.concurrent.Callable;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.MemorySize;
import org.factorbird.pipeline.BatchSizes;
import org.factorbird.pipeline.Estimate;
import org.factorbird.pipeline.FactorbirdJob;
import org.factorbird.pipeline.FactorbirdOptions;
import org.factorbird.pipeline.HyperParams;
import org.factorbird.pipeline.TimeEstimate;
import org.factorbird.ps.cli.Cli;

import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code factorbird estimate}: the cost of a run from the shape of its data, before running it. Options that
 * {@code train} has too take their defaults from {@link FactorbirdOptions}, so both commands agree.
 */
@Command(name = "estimate", sortOptions = false, showDefaultValues = true,
        defaultValueProvider = EstimateCommand.TrainDefaults.class,
        description = "Memory, bytes and requests of a training run, from the shape of its data.")
final class EstimateCommand implements Callable<Integer> {

    @Mixin
    Cli.Help help;

    /** Bytes of a "row,col,rating" text line, for sizing RocksDB as train does from the input's size. */
    static final long TEXT_BYTES_PER_RATING = 20;

    /** The defaults of options that {@code train} has too: {@link FactorbirdOptions}'. */
    static final class TrainDefaults implements IDefaultValueProvider {
        @Override
        public String defaultValue(ArgSpec arg) {
            if (!(arg instanceof OptionSpec)) {
                return null;
            }
            String key = ((OptionSpec) arg).longestName().substring(2);
            for (ConfigOption<?> o : FactorbirdOptions.all()) {
                if (o.key().equals(key) && o.hasDefaultValue()) {
                    return String.valueOf(o.defaultValue());
                }
            }
            return null;
        }
    }

    @Spec
    CommandSpec spec;

    @Option(names = "--rows", required = true, showDefaultValue = CommandLine.Help.Visibility.NEVER, paramLabel = "R", description = "Rows with ratings.")
    long rows;

    @Option(names = "--cols", required = true, showDefaultValue = CommandLine.Help.Visibility.NEVER, paramLabel = "C", description = "Columns with ratings.")
    long cols;

    @Option(names = "--ratings", required = true, showDefaultValue = CommandLine.Help.Visibility.NEVER, paramLabel = "N", description = "Ratings, held-out ones included.")
    long ratings;

    @Option(names = "--rank", paramLabel = "K", description = "Rank of every model.")
    int rank;

    @Option(names = "--models", paramLabel = "M", defaultValue = "1", description = "Models trained together "
            + "(grid size).")
    int models;

    @Option(names = "--schedule", paramLabel = "S", description = "The models' schedule; 'adagrad' doubles the "
            + "floats per id.")
    String schedule;

    @Option(names = "--ps-shards", paramLabel = "S", description = "Parameter-server shards.")
    int shards;

    @Option(names = "--parallelism", paramLabel = "P", description = "Training subtasks.")
    int parallelism;

    @Option(names = "--slots", paramLabel = "S", defaultValue = "1", description = "Training subtasks per "
            + "TaskManager.")
    int slots;

    @Option(names = "--epochs", paramLabel = "E", description = "Epochs, for the time estimate.")
    int epochs;

    @Option(names = "--batch-rows", paramLabel = "B", description = "Rows per batch (default: as train's, "
            + BatchSizes.BATCH_ROWS_TOGETHER + " / --parallelism, at least " + BatchSizes.MIN_DEFAULT_BATCH_ROWS
            + "; " + BatchSizes.UNDAMPED_BATCH_ROWS_TOGETHER + " / --parallelism with --schedule adagrad).")
    Integer batchRows;

    @Option(names = "--holdout", paramLabel = "F", description = "Held-out fraction of the ratings.")
    double holdout;

    @Option(names = "--loss-sample", paramLabel = "F", description = "Training-loss sample.")
    double lossSample;

    @Option(names = "--skew", paramLabel = "S", defaultValue = "0", description = "Zipf exponent of column "
            + "popularity; 0: uniform.")
    double skew;

    @Option(names = "--state-backend", paramLabel = "X", description = "heap or rocksdb.")
    String backend;

    @Option(names = "--rocksdb-memory", paramLabel = "M", description = "RocksDB memory per subtask, e.g. 256m "
            + "(default: as train derives it, the input's text size per subtask, ~20 bytes per rating, within "
            + "64m..1g).")
    String rocksdbMemory;

    @Override
    public Integer call() {
        try {
            if (!backend.equals("heap") && !backend.equals("rocksdb")) {
                throw new IllegalArgumentException("--state-backend must be 'heap' or 'rocksdb' but was '" + backend
                        + "'");
            }
            if (slots < 1) {
                throw new IllegalArgumentException("--slots must be >= 1 but was " + slots);
            }
            boolean adagrad = HyperParams.Schedule.parse(schedule) == HyperParams.Schedule.ADAGRAD;
            Estimate e = new Estimate(rows, cols, ratings, models * (rank + 1) * (adagrad ? 2 : 1), shards,
                    parallelism, batchRows != null ? batchRows : BatchSizes.defaultBatchRows(parallelism, adagrad),
                    holdout,
                    lossSample, skew);
            long rocksdb = rocksdbMemory != null ? MemorySize.parse(rocksdbMemory).getBytes()
                    : FactorbirdJob.autoRocksdbMemory(e.ratings * TEXT_BYTES_PER_RATING, e.parallelism);
            spec.commandLine().getOut().println(e.report(slots, backend, rocksdb));
            spec.commandLine().getOut().println("wall time:           " + new TimeEstimate(ratings, holdout, rank,
                    models, adagrad, backend.equals("rocksdb"), parallelism, epochs));
        } catch (IllegalArgumentException e) {
            throw new Cli.Failure(e.getMessage(), Cli.USAGE);
        }
        return 0;
    }
}
