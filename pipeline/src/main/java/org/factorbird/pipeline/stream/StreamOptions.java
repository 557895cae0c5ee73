package org.factorbird.pipeline.stream;

import java.util.List;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.factorbird.pipeline.FactorbirdOptions;

/**
 * The options of {@code factorbird stream} beyond the shared ones of {@link org.factorbird.pipeline.FactorbirdOptions}
 * (--ps and --ps-*, --parallelism, --seed, --strict): each typed, with its default and what it does.
 */
public final class StreamOptions {

    private StreamOptions() {}

    public static final ConfigOption<String> MODEL = ConfigOptions.key("model").stringType().noDefaultValue()
            .withDescription("The trained model to start from (a train output directory): its rows, columns and "
                    + "global mean.");

    public static final ConfigOption<String> INPUT = ConfigOptions.key("input").stringType().noDefaultValue()
            .withDescription("Directory watched for new rating files (any Flink file system URI); lines as for "
                    + "train.");

    public static final ConfigOption<String> OUTPUT = ConfigOptions.key("output").stringType().noDefaultValue()
            .withDescription("Where the exports go: OUTPUT/<time>/ model directories, OUTPUT/LATEST naming the "
                    + "newest complete one, OUTPUT/.checkpoints/ the columns of each checkpoint.");

    public static final ConfigOption<Integer> BATCH_RATINGS = ConfigOptions.key("batch-ratings").intType()
            .defaultValue(2000).withDescription("A subtask trains its gathered ratings when it holds this many...");

    public static final ConfigOption<Long> BATCH_MS = ConfigOptions.key("batch-ms").longType().defaultValue(100L)
            .withDescription("...or when this many milliseconds have passed, whichever comes first.");

    public static final ConfigOption<Double> LEARNING_RATE = ConfigOptions.key("learning-rate").doubleType()
            .noDefaultValue().withDescription("Constant SGD step; default: the model's last step ('decay' and "
                    + "'constant' schedules), 0.01 after AdaGrad.");

    public static final ConfigOption<Double> LAMBDA = ConfigOptions.key("lambda").doubleType().noDefaultValue()
            .withDescription("L2 on factors; default: the model's.");

    public static final ConfigOption<Double> LAMBDA_BIAS = ConfigOptions.key("lambda-bias").doubleType()
            .noDefaultValue().withDescription("L2 on biases; default: the model's.");

    public static final ConfigOption<Integer> WINDOW = ConfigOptions.key("window").intType().defaultValue(100_000)
            .withDescription("Ratings per subtask in the sliding window of the prequential RMSE and MAE (each rating "
                    + "predicted before it is trained on).");

    public static final ConfigOption<Double> REPORT_SECONDS = ConfigOptions.key("report-seconds").doubleType()
            .defaultValue(10.0).withDescription("Seconds between two progress lines (at least 0.1).");

    public static final ConfigOption<Integer> CHECKPOINT_SECONDS = ConfigOptions.key("checkpoint-seconds").intType()
            .defaultValue(30).withDescription("Seconds between Flink checkpoints (rows, source position, and the "
                    + "columns written beside them); a restart resumes from the last one.");

    public static final ConfigOption<Integer> EXPORT_EVERY = ConfigOptions.key("export-every").intType()
            .defaultValue(300).withDescription("Seconds between two exports; an export is written with the first "
                    + "checkpoint after that, and is complete (LATEST) once the checkpoint is.");

    public static final ConfigOption<Long> MONITOR_MS = ConfigOptions.key("monitor-ms").longType().defaultValue(1000L)
            .withDescription("Milliseconds between two listings of the input directory.");

    public static final ConfigOption<Integer> RUN_SECONDS = ConfigOptions.key("run-seconds").intType().defaultValue(0)
            .withDescription("Local runs: stop after this many seconds (0: run until interrupted).");

    /** Every option declared here, in declaration order. */
    public static List<ConfigOption<?>> all() {
        return FactorbirdOptions.declaredIn(StreamOptions.class);
    }
}
