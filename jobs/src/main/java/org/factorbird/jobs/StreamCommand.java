package org.factorbird.jobs;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.LocalStreamEnvironment;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.factorbird.pipeline.FactorbirdOptions;
import org.factorbird.pipeline.stream.Exports;
import org.factorbird.pipeline.stream.StreamConfig;
import org.factorbird.pipeline.stream.StreamJob;
import org.factorbird.pipeline.stream.StreamOptions;
import org.factorbird.ps.cli.Cli;
import org.factorbird.ps.server.PsServer;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * {@code factorbird stream}: keeps a trained model learning from rating files as they arrive in a directory
 * ({@link StreamJob}). Its options come from {@link StreamOptions} and the shared PS, parallelism, seed and strict
 * options of {@link FactorbirdOptions}. Locally it runs on an embedded MiniCluster (and, without --ps, an embedded
 * PS cluster), printing the prequential error every --report-seconds, until --run-seconds or Ctrl-C; under
 * {@code flink run} it is submitted and left running.
 */
final class StreamCommand implements Callable<Integer> {

    /** The shared options that apply to streaming. */
    static final List<ConfigOption<?>> SHARED = List.of(FactorbirdOptions.PS, FactorbirdOptions.PS_SHARDS,
            FactorbirdOptions.PARALLELISM, FactorbirdOptions.SEED, FactorbirdOptions.STRICT,
            FactorbirdOptions.MAX_RESTARTS, FactorbirdOptions.PS_MAX_IN_FLIGHT, FactorbirdOptions.PS_TIMEOUT_MS,
            FactorbirdOptions.PS_CLUSTER_ID, FactorbirdOptions.PS_AUTH_SECRET_FILE,
            FactorbirdOptions.PS_TLS_TRUSTSTORE, FactorbirdOptions.PS_TLS_PASSWORD_FILE);

    private final PrintStream out;
    private final Map<String, String> fileSystemKeys;
    private CommandSpec spec;

    private StreamCommand(PrintStream out, Map<String, String> fileSystemKeys) {
        this.out = out;
        this.fileSystemKeys = fileSystemKeys;
    }

    static CommandSpec spec(PrintStream out, Map<String, String> fileSystemKeys) {
        StreamCommand command = new StreamCommand(out, fileSystemKeys);
        CommandSpec spec = CommandSpec.wrapWithoutInspection(command).name("stream")
                .addMixin("help", CommandSpec.forAnnotatedObject(new Cli.Help()));
        command.spec = spec;
        spec.usageMessage().sortOptions(false)
                .customSynopsis("factorbird stream --model OUT --input DIR --output LIVE [options]")
                .description("Keeps a trained model learning from a stream: rating files dropped into --input "
                        + "(watched continuously) are trained on in small batches by online SGD, each rating "
                        + "predicted first (the prequential error is printed); checkpoints make restarts exact, and "
                        + "exports under --output are model directories for recommend and predict (LATEST names "
                        + "the newest complete one).");
        for (ConfigOption<?> o : StreamOptions.all()) {
            spec.addOption(TrainCommand.option(o));
        }
        for (ConfigOption<?> o : SHARED) {
            spec.addOption(TrainCommand.option(o));
        }
        return spec;
    }

    private Map<String, String> given() {
        Map<String, String> m = new LinkedHashMap<>();
        for (OptionSpec o : spec.options()) {
            Object v = o.getValue();
            if (v != null && o.longestName().startsWith("--") && !o.usageHelp() && !o.versionHelp()) {
                m.put(o.longestName().substring(2), String.valueOf(v));
            }
        }
        return m;
    }

    @Override
    public Integer call() throws Exception {
        Configuration conf = Configuration.fromMap(given());
        StreamConfig cfg;
        try {
            cfg = StreamConfig.from(conf, TrainCommand.newRunId());
        } catch (IllegalArgumentException e) {
            throw new Cli.Failure(TrainCommand.cleanOptionError(e), Cli.USAGE);
        } catch (IOException e) {
            throw new Cli.Failure(e.getMessage(), Cli.FAILED);
        }
        StreamExecutionEnvironment env = JobRunner.environment(LoadProgress.addTo(StreamJob.flinkConfig(cfg)),
                fileSystemKeys);
        JobRunner.checkInput(cfg.input, "--input");
        boolean local = env instanceof LocalStreamEnvironment;
        List<PsServer> embedded = new ArrayList<>();
        try {
            cfg = connect(cfg, conf, local, embedded);
            StreamJob.build(env, cfg);
            JobClient job;
            try {
                job = env.executeAsync("factorbird stream " + cfg.input);
            } catch (Exception e) {
                throw Cli.failure(e);
            }
            out.println("streaming from " + cfg.input + " into " + cfg.output + " (job " + job.getJobID() + ")");
            if (local) {
                follow(job, cfg);
            }
        } finally {
            embedded.forEach(PsServer::close);
        }
        return 0;
    }

    /** Prints the summed progress every --report-seconds until --run-seconds pass, the job ends, or Ctrl-C. */
    private void follow(JobClient job, StreamConfig cfg) throws Exception {
        Thread hook = new Thread(() -> job.cancel());
        Runtime.getRuntime().addShutdownHook(hook);
        long start = System.nanoTime();
        long end = cfg.runSeconds == 0 ? Long.MAX_VALUE : start + TimeUnit.SECONDS.toNanos(cfg.runSeconds);
        long report = (long) (cfg.reportSeconds * 1e9);
        long nextReport = start + report;
        double lastRatings = 0;
        long lastAt = start;
        // asked for now: a local job's MiniCluster is gone once the job ends, and with it the result
        java.util.concurrent.CompletableFuture<?> result = job.getJobExecutionResult();
        boolean stopped = false;
        while (!result.isDone()) {
            long now = System.nanoTime();
            if (now >= end) {
                stopped = true;
                job.cancel().get();
                break;
            }
            if (now >= nextReport) {
                nextReport += report;
                double ratings = LoadProgress.sum("streamRatings")[0];
                out.println(progressLine(ratings, (ratings - lastRatings) / ((now - lastAt) / 1e9)));
                lastRatings = ratings;
                lastAt = now;
            }
            Thread.sleep(Math.min(100, Math.max(10, report / 4_000_000)));
        }
        Runtime.getRuntime().removeShutdownHook(hook);
        if (!stopped && result.isCompletedExceptionally()) {
            try {
                result.get();
            } catch (Exception e) {
                throw Cli.failure(e); // the failure's most specific message, in one line
            }
        }
        String latest;
        try {
            latest = Exports.latest(cfg.output);
        } catch (IOException e) {
            latest = null;
        }
        out.printf(Locale.ROOT, "stopped after %.1f s; %s%n", (System.nanoTime() - start) / 1e9,
                latest == null ? "no export completed yet" : "newest complete export: " + latest);
    }

    /** "stream: 1,234 ratings (567/s), prequential RMSE 0.8512 MAE 0.6611 over the last 100,000, 0 skipped". */
    static String progressLine(double ratings, double rate) {
        double n = LoadProgress.sum("windowCount")[0];
        double sq = LoadProgress.sum("windowSquares")[0];
        double abs = LoadProgress.sum("windowAbsolutes")[0];
        long skipped = (long) LoadProgress.sum("skippedLines")[0];
        String window = n > 0 ? String.format(Locale.ROOT, "prequential RMSE %.4f MAE %.4f over the last %,d",
                Math.sqrt(sq / n), abs / n, (long) n) : "no rating yet";
        return String.format(Locale.ROOT, "stream: %,d ratings (%,.0f/s), %s, %,d malformed lines skipped",
                (long) ratings, rate, window, skipped);
    }

    /** Starts an embedded PS cluster (local runs without --ps), or checks that the given servers answer. */
    private StreamConfig connect(StreamConfig cfg, Configuration conf, boolean local, List<PsServer> embedded) {
        final StreamConfig given = cfg;
        List<String> servers = JobRunner.psServers(cfg.psServers, local, conf.get(FactorbirdOptions.PS_SHARDS),
                () -> given.psClientConfig(0), embedded, out);
        return servers == cfg.psServers ? cfg : cfg.withPs(conf, servers);
    }
}
