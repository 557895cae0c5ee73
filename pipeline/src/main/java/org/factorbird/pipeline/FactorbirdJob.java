package org.factorbird.pipeline;

import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExecutionOptions;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.connector.file.src.FileSource;
import org.apache.flink.core.fs.FileStatus;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.factorbird.pipeline.io.ChunkOperator;
import org.factorbird.pipeline.io.OutLine;
import org.factorbird.pipeline.io.OutLineSink;
import org.factorbird.pipeline.io.RangeEnumerator;
import org.factorbird.pipeline.io.Rating;
import org.factorbird.pipeline.io.RatingChunk;
import org.factorbird.pipeline.io.RatingFormat;
import org.factorbird.pipeline.train.TrainOperator;

/**
 * The Factorbird training job graph:
 *
 * <pre>
 *   FileSource(train) -> chunks --+
 *                                 +--> keyBy(a row) --> TrainOperator --> FileSink(OUT/rows, OUT/columns, ...)
 *   FileSource(test) --> chunks --+
 * </pre>
 *
 * Records cross to the training subtasks in chunks per subtask ({@link ChunkOperator}, chained to each source):
 * the shuffle's cost per record is paid per chunk of up to 1024 lines.
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
        if (cfg.stateBackend.equals("rocksdb")) {
            // A fixed size per slot, from the job's own options: Flink's default (a share of the cluster's managed
            // memory) left epochs at a quarter of heap speed in measurements; this does not depend on the cluster.
            c.setString(ROCKSDB_FIXED_PER_SLOT, rocksdbMemory(cfg).toString());
            // The blocks are written once and read every epoch: Snappy (Flink's default) cost the flush thread
            // ~5.8 s of CPU while packing 100M ratings (perf), and ratings' floats barely compress.
            c.setString(ROCKSDB_COMPRESSION, "NO_COMPRESSION");
        }
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

    /** Flink's key for RocksDB memory per slot (flink-statebackend-rocksdb's RocksDBOptions). */
    static final String ROCKSDB_FIXED_PER_SLOT = "state.backend.rocksdb.memory.fixed-per-slot";

    /** Flink's key for RocksDB's compression per LSM level (RocksDBConfigurableOptions). */
    static final String ROCKSDB_COMPRESSION = "state.backend.rocksdb.compression.per.level";
    static final long ROCKSDB_MIN_AUTO = 64L << 20;
    static final long ROCKSDB_MAX_AUTO = 1L << 30;

    /**
     * RocksDB memory per subtask: {@code --rocksdb-memory}, else the input's size (training plus held-out files)
     * per subtask within [64 MB, 1 GB]. Rows packed in state take less room than their text (~12 bytes per rating
     * against ~20), so this caches all of them when it can.
     */
    public static MemorySize rocksdbMemory(TrainConfig cfg) {
        if (cfg.rocksdbMemory != null) {
            return cfg.rocksdbMemory;
        }
        long bytes = inputBytes(cfg.input) + (cfg.test == null ? 0 : inputBytes(cfg.test));
        return new MemorySize(autoRocksdbMemory(bytes, cfg.parallelism));
    }

    /** The default RocksDB memory per subtask for {@code inputBytes} of text over {@code parallelism} subtasks. */
    public static long autoRocksdbMemory(long inputBytes, int parallelism) {
        return Math.max(ROCKSDB_MIN_AUTO, Math.min(ROCKSDB_MAX_AUTO, inputBytes / parallelism));
    }

    /** Total size of the files under {@code path}; 0 when it cannot be listed (the job reports that itself). */
    static long inputBytes(String path) {
        try {
            Path p = new Path(path);
            return sizeOf(p.getFileSystem(), p.getFileSystem().getFileStatus(p));
        } catch (java.io.IOException | RuntimeException e) {
            return 0;
        }
    }

    private static long sizeOf(FileSystem fs, FileStatus status) throws java.io.IOException {
        if (!status.isDir()) {
            return status.getLen();
        }
        long sum = 0;
        FileStatus[] children = fs.listStatus(status.getPath());
        for (FileStatus child : children == null ? new FileStatus[0] : children) {
            sum += sizeOf(fs, child);
        }
        return sum;
    }

    /** Adds the job to {@code env}. */
    public static void build(StreamExecutionEnvironment env, TrainConfig cfg) {
        env.setParallelism(cfg.parallelism);
        // records go from a source to its chunker by reference; no operator of the job keeps one it was handed
        env.getConfig().enableObjectReuse();
        // fixed here, so that the chunkers compute the key groups the training operator has
        int maxParallelism = cfg.maxParallelism();
        DataStream<RatingChunk> chunks = read(env, cfg, cfg.input, Rating.TRAIN, cfg.strict, "training ratings",
                maxParallelism);
        if (cfg.test != null) {
            chunks = chunks.union(read(env, cfg, cfg.test, Rating.TEST, cfg.strict, "held-out ratings",
                    maxParallelism));
        }
        SingleOutputStreamOperator<OutLine> factors = chunks
                .keyBy(c -> c.key, Types.LONG)
                .transform("factorbird-sgd", TypeInformation.of(OutLine.class), new TrainOperator(cfg))
                .setParallelism(cfg.parallelism)
                .setMaxParallelism(maxParallelism)
                .uid("factorbird-sgd");
        factors.sinkTo(OutLineSink.create(cfg.output)).name("factor-files").uid("factor-files");
    }

    /** The records of {@code path}, in chunks per training subtask ({@link ChunkOperator}, chained to the source). */
    private static DataStream<RatingChunk> read(StreamExecutionEnvironment env, TrainConfig cfg, String path,
            byte kind, boolean strict, String name, int maxParallelism) {
        // held-out files need no weight column: held-out errors are unweighted
        boolean train = kind == Rating.TRAIN;
        FileSource<Rating> source = FileSource.forBulkFileFormat(new RatingFormat(kind, strict,
                train ? cfg.weightColumn : 0, train ? cfg.holdout : 0f, train ? cfg.validation : 0f, cfg.seed,
                cfg.stringIds),
                new Path(path)).setFileEnumerator(RangeEnumerator::new).build(); // big files read by every subtask
        return env.fromSource(source, WatermarkStrategy.noWatermarks(), name)
                .transform(name + " in chunks", TypeInformation.of(RatingChunk.class),
                        new ChunkOperator(cfg.parallelism, maxParallelism));
    }
}
