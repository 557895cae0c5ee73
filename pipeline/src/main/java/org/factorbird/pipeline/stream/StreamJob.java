package org.factorbird.pipeline.stream;

import java.time.Duration;

import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExecutionOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.connector.file.src.FileSource;
import org.apache.flink.core.fs.Path;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.factorbird.pipeline.io.Rating;
import org.factorbird.pipeline.io.RatingFormat;

/**
 * The streaming job graph of {@code factorbird stream}:
 *
 * <pre>
 *   FileSource(--input, watched every --monitor-ms) --keyBy(row)--> OnlineOperator --> (exports, written by it)
 * </pre>
 *
 * Checkpoints every --checkpoint-seconds hold the rows and the source's position (which files, how far); the
 * operator writes the columns beside them ({@link OnlineOperator}).
 */
public final class StreamJob {

    private StreamJob() {}

    /** Flink settings the job needs; merge them into the environment's configuration. */
    public static Configuration flinkConfig(StreamConfig cfg) {
        Configuration c = new Configuration();
        c.set(ExecutionOptions.RUNTIME_MODE, RuntimeExecutionMode.STREAMING);
        c.set(StateBackendOptions.STATE_BACKEND, "hashmap");
        c.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofSeconds(cfg.checkpointSeconds));
        c.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        c.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, cfg.maxRestarts);
        c.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofSeconds(2));
        return c;
    }

    /** Adds the job to {@code env}. */
    public static void build(StreamExecutionEnvironment env, StreamConfig cfg) {
        env.setParallelism(cfg.parallelism);
        // a bad file in a stream is one skipped, counted record (unless --strict), never a failed job
        FileSource<Rating> source = FileSource.forBulkFileFormat(new RatingFormat(Rating.TRAIN, cfg.strict, 0, 0f, 0f,
                cfg.seed).skippingBadFiles(), new Path(cfg.input)).monitorContinuously(Duration.ofMillis(cfg.monitorMs)).build();
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "ratings stream").uid("ratings-stream")
                .keyBy(r -> r.row, Types.LONG)
                .transform("factorbird-online", Types.VOID, new OnlineOperator(cfg)).uid("factorbird-online")
                .sinkTo(new DiscardingSink<>()).name("discard").uid("discard");
    }
}
