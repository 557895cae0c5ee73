package org.factorbird.pipeline;

import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExecutionOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.connector.file.src.FileSource;
import org.apache.flink.core.fs.Path;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.factorbird.pipeline.io.OutLine;
import org.factorbird.pipeline.io.OutLineSink;
import org.factorbird.pipeline.io.Rating;
import org.factorbird.pipeline.io.RatingFormat;
import org.factorbird.pipeline.train.TrainOperator;

/**
 * The Factorbird training job graph:
 *
 * <pre>
 *   FileSource(train) --+
 *                       +--> keyBy(row) --> TrainOperator --> FileSink(OUT/rows, OUT/columns, OUT/models/i/...)
 *   FileSource(test) ---+
 * </pre>
 *
 * Runs in STREAMING mode: the epochs loop inside {@code endInput()} over keyed state, which BATCH mode's sorted
 * single-key state backend cannot iterate. {@code model.json} is written by the operator's subtask 0.
 */
public final class FactorbirdJob {

    private FactorbirdJob() {}

    /** Flink settings the job needs; merge them into the environment's configuration. */
    public static Configuration flinkConfig(TrainConfig cfg) {
        Configuration c = new Configuration();
        c.set(ExecutionOptions.RUNTIME_MODE, RuntimeExecutionMode.STREAMING);
        c.set(StateBackendOptions.STATE_BACKEND, cfg.stateBackend.equals("rocksdb") ? "rocksdb" : "hashmap");
        // Training state lives in endInput(): without snapshots a restart would begin again from epoch 0, so a
        // failure ends the run with its reason.
        c.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
        if (cfg.snapshotDir != null) {
            // with snapshots a restart resumes from the newest complete one: let Flink restart the job
            c.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
            c.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, cfg.maxRestarts);
            c.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, java.time.Duration.ofSeconds(2));
        }
        return c;
    }

    /** Adds the job to {@code env}. */
    public static void build(StreamExecutionEnvironment env, TrainConfig cfg) {
        env.setParallelism(cfg.parallelism);
        DataStream<Rating> ratings = read(env, cfg, cfg.input, Rating.TRAIN, cfg.strict, "training ratings");
        if (cfg.test != null) {
            ratings = ratings.union(read(env, cfg, cfg.test, Rating.TEST, cfg.strict, "held-out ratings"));
        }
        SingleOutputStreamOperator<OutLine> factors = ratings
                .keyBy(r -> r.row, Types.LONG)
                .transform("factorbird-sgd", TypeInformation.of(OutLine.class), new TrainOperator(cfg))
                .uid("factorbird-sgd");
        factors.sinkTo(OutLineSink.create(cfg.output)).name("factor-files").uid("factor-files");
    }

    private static DataStream<Rating> read(StreamExecutionEnvironment env, TrainConfig cfg, String path, byte kind,
            boolean strict, String name) {
        // held-out files need no weight column: held-out errors are unweighted
        boolean train = kind == Rating.TRAIN;
        FileSource<Rating> source = FileSource.forBulkFileFormat(new RatingFormat(kind, strict,
                train ? cfg.weightColumn : 0, train ? cfg.holdout : 0f, cfg.seed), new Path(path)).build();
        return env.fromSource(source, WatermarkStrategy.noWatermarks(), name);
    }
}
