package org.factorbird.jobs;

import java.io.IOException;
import java.util.List;
import java.util.Map;

import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExecutionOptions;
import org.apache.flink.core.fs.FileStatus;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.factorbird.ps.PsClient;
import org.factorbird.ps.cli.Cli;
import org.factorbird.ps.server.PsServer;

/**
 * What the commands that run a Flink job share: the environment (an embedded MiniCluster locally, the cluster
 * under {@code flink run}), the file system settings given on the command line, and failures as one line.
 */
final class JobRunner {

    private JobRunner() {}

    /** The options of every command that runs a job over a model: --overwrite and --parallelism. */
    static final class Options {
        @picocli.CommandLine.Option(names = "--overwrite", description = "Delete --output first when it holds files.")
        boolean overwrite;

        @picocli.CommandLine.Option(names = "--parallelism", paramLabel = "P", defaultValue = "2",
                description = "Subtasks.")
        int parallelism;

        /** The job's environment at --parallelism, with the command line's file system settings. */
        StreamExecutionEnvironment environment(Map<String, String> fileSystemKeys) {
            check(parallelism >= 1, "--parallelism must be >= 1 but was " + parallelism);
            StreamExecutionEnvironment env = JobRunner.environment(new Configuration(), fileSystemKeys);
            env.setParallelism(parallelism);
            return env;
        }
    }

    /**
     * An environment in STREAMING mode with {@code flink} settings and, for local runs, the file systems
     * configured from {@code fileSystemKeys} ({@code s3.endpoint}, ...): local environments do not read
     * config.yaml.
     */
    static StreamExecutionEnvironment environment(Configuration flink, Map<String, String> fileSystemKeys) {
        Configuration fs = new Configuration();
        fileSystemKeys.forEach(fs::setString);
        if (!fs.keySet().isEmpty()) {
            FileSystem.initialize(fs, null);
        }
        Configuration c = new Configuration(flink);
        c.set(ExecutionOptions.RUNTIME_MODE, RuntimeExecutionMode.STREAMING);
        c.addAll(fs);
        return StreamExecutionEnvironment.getExecutionEnvironment(c);
    }

    /** Runs the job; a failure becomes one line with the most specific message of its cause chain. */
    static JobExecutionResult execute(StreamExecutionEnvironment env, String name) {
        try {
            return env.execute(name);
        } catch (Exception e) {
            throw Cli.failure(e);
        }
    }

    /**
     * The PS servers of a run: {@code given} when there are any (checked to answer by {@code probe}, in one line
     * when they do not), else an embedded cluster of {@code shards} started here (local runs only).
     */
    static List<String> psServers(List<String> given, boolean local, int shards,
            java.util.function.Supplier<org.factorbird.ps.PsClientConfig> probe, List<PsServer> embedded,
            java.io.PrintStream out) {
        if (given.isEmpty() && !local) {
            throw new Cli.Failure("--ps is required on a cluster: start the servers with scripts/ps-cluster.sh "
                    + "and pass their host:port list", Cli.USAGE);
        }
        if (!given.isEmpty()) {
            // fail here, in one line, rather than in every subtask
            try (PsClient c = PsClient.connect(probe.get())) {
                out.println("parameter servers answer: " + String.join(",", given));
            } catch (RuntimeException e) {
                throw new Cli.Failure(e.getMessage(), Cli.FAILED);
            }
            return given;
        }
        if (shards < 1) {
            throw new Cli.Failure("--ps-shards must be >= 1 but was " + shards, Cli.USAGE);
        }
        List<String> addresses = new java.util.ArrayList<>();
        for (int i = 0; i < shards; i++) {
            PsServer s = PsServer.startLocal(i, shards);
            embedded.add(s);
            addresses.add(s.address());
        }
        out.println("started an embedded parameter server: " + String.join(",", addresses));
        return addresses;
    }

    static void check(boolean ok, String message) {
        if (!ok) {
            throw new Cli.Failure(message, Cli.USAGE);
        }
    }

    static void checkInput(String path, String flag) {
        try {
            Path p = new Path(path);
            FileSystem fs = p.getFileSystem();
            if (!fs.exists(p)) {
                throw new Cli.Failure(flag + " " + path + " does not exist", Cli.FAILED);
            }
            FileStatus st = fs.getFileStatus(p);
            if (!st.isDir() && st.getLen() == 0) {
                throw new Cli.Failure(flag + " " + path + " is empty", Cli.FAILED);
            }
        } catch (IOException e) {
            throw new Cli.Failure("cannot read " + flag + " " + path + ": " + e.getMessage(), Cli.FAILED);
        }
    }

    /**
     * Refuses an --output that holds files, or with {@code overwrite} deletes it first (a failed run's leftovers,
     * a rerun), on any Flink file system.
     */
    static void checkOutput(String path, boolean overwrite) {
        try {
            Path p = new Path(path);
            FileSystem fs = p.getFileSystem();
            if (fs.exists(p)) {
                FileStatus[] content = fs.listStatus(p);
                if (content != null && content.length > 0) {
                    if (!overwrite) {
                        throw new Cli.Failure("--output " + path + " already exists and is not empty; remove it, "
                                + "choose another directory, or pass --overwrite", Cli.FAILED);
                    }
                    if (!fs.delete(p, true)) {
                        throw new Cli.Failure("cannot delete --output " + path + " (--overwrite)", Cli.FAILED);
                    }
                }
            }
        } catch (IOException e) {
            throw new Cli.Failure("cannot check --output " + path + ": " + e.getMessage(), Cli.FAILED);
        }
    }
}
