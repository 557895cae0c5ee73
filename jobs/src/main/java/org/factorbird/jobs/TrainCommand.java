package org.factorbird.jobs;

import java.io.IOException;
import java.io.PrintStream;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.LocalStreamEnvironment;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.factorbird.pipeline.FactorbirdJob;
import org.factorbird.pipeline.FactorbirdOptions;
import org.factorbird.pipeline.TrainConfig;
import org.factorbird.pipeline.train.Snapshots;
import org.factorbird.pipeline.tune.SearchSpace;
import org.factorbird.ps.PsClient;
import org.factorbird.ps.cli.Cli;
import org.factorbird.ps.server.PsServer;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * {@code factorbird train} and {@code factorbird grid}. Their options are generated from
 * {@link FactorbirdOptions}, the one place where each option's default and description are stated. Locally
 * (no cluster) the job runs on an embedded Flink MiniCluster and, without --ps, an embedded PS cluster; under
 * {@code flink run} it is submitted to the cluster.
 */
final class TrainCommand implements Callable<Integer> {

    /** What the command does: train one model, a grid in one pass, or tune (derive a grid, search, refit). */
    enum Mode { TRAIN, GRID, TUNE }

    private final Mode mode;
    private final boolean grid;
    private final PrintStream out;
    /** Flink file system settings from the command line ({@code --s3.endpoint URL}, ...). */
    private final Map<String, String> fileSystemKeys;
    private CommandSpec spec;

    private TrainCommand(Mode mode, PrintStream out, Map<String, String> fileSystemKeys) {
        this.mode = mode;
        this.grid = mode != Mode.TRAIN;
        this.out = out;
        this.fileSystemKeys = fileSystemKeys;
    }

    /** The command line of {@code train}, {@code grid} or {@code tune}: one option per {@link FactorbirdOptions} entry. */
    static CommandSpec spec(Mode mode, PrintStream out, Map<String, String> fileSystemKeys) {
        TrainCommand command = new TrainCommand(mode, out, fileSystemKeys);
        boolean grid = mode == Mode.GRID;
        CommandSpec spec = CommandSpec.wrapWithoutInspection(command).name(mode.name().toLowerCase(Locale.ROOT))
                .addMixin("help", CommandSpec.forAnnotatedObject(new Cli.Help()));
        command.spec = spec;
        StringBuilder gridOptions = new StringBuilder();
        TrainConfig.GRID_OPTIONS.forEach(o -> gridOptions.append(gridOptions.length() == 0 ? "" : " ")
                .append("--").append(o.key()));
        spec.usageMessage().sortOptions(false).customSynopsis("factorbird " + spec.name() + " --input PATH --output DIR [options]")
                .description(mode == Mode.TUNE
                        ? new String[] {"Tunes the hyper-parameters by itself: derives a search space from the data "
                                + "(rank, lambda, learning rate; see README 'Tuning'), searches it in ONE pruned pass "
                                + "(grid --prune halving) choosing on a validation split only, then refits the winner "
                                + "on all training data. Hyper-parameters given are kept fixed. Writes a model "
                                + "directory plus grid.json (the search) and search/ (its best model).",
                                "Example: factorbird tune --input r.csv --test t.csv --output out"}
                        : grid
                        ? new String[] {"Trains many hyper-parameter settings in ONE pass over the data. These "
                                + "options accept a comma-separated list, and the grid is their Cartesian product: "
                                + gridOptions, "Example: factorbird grid --input r.csv --test t.csv --output out "
                                + "--lambda 0.02,0.05 --learning-rate 0.005,0.01 --rank 10,40"}
                        : new String[] {"Trains one model. Flink file system settings may follow as "
                                + "--s3.endpoint URL, --fs.hdfs.hadoopconf DIR, ... (local runs)."});
        for (ConfigOption<?> o : FactorbirdOptions.all()) {
            spec.addOption(option(o));
        }
        if (mode == Mode.TUNE) {
            spec.addOption(OptionSpec.builder(BUDGET).type(String.class).paramLabel("M").description(
                    "Models the search may start with (it prunes them as it goes) [default: "
                            + SearchSpace.DEFAULT_BUDGET + "]").build());
        }
        return spec;
    }

    static final String BUDGET = "--budget-models";

    static OptionSpec option(ConfigOption<?> o) {
        String def = o.hasDefaultValue() ? String.valueOf(o.defaultValue()) : "(none)";
        String description = (FactorbirdOptions.text(o) + " [default: " + def + "]").replace("%", "%%");
        OptionSpec.Builder b = OptionSpec.builder("--" + o.key()).description(description);
        if (isBoolean(o)) {
            return b.type(Boolean.class).arity("0..1").negatable(true).build();
        }
        return b.type(String.class).paramLabel(o.key().toUpperCase(Locale.ROOT).replace('-', '_')).build();
    }

    private static boolean isBoolean(ConfigOption<?> o) {
        return o.hasDefaultValue() && o.defaultValue() instanceof Boolean;
    }

    /** The options given, as Flink configuration entries. */
    private Map<String, String> given() {
        Map<String, String> m = new LinkedHashMap<>();
        for (OptionSpec o : spec.options()) {
            Object v = o.getValue();
            if (v != null && o.longestName().startsWith("--") && !o.usageHelp() && !o.versionHelp()
                    && !o.longestName().equals(BUDGET)) {
                m.put(o.longestName().substring(2), String.valueOf(v));
            }
        }
        return m;
    }

    @Override
    public Integer call() {
        if (mode == Mode.TUNE) {
            return new Tuning(out, fileSystemKeys, (m, options) -> new TrainCommand(m, out, fileSystemKeys)
                    .run(options, false)).run(given(), spec.findOption(BUDGET).getValue());
        }
        return run(given(), true);
    }


    /** Trains (one model or a grid) with the options {@code given}; {@code checkOutput}: refuse a used OUT. */
    private int run(Map<String, String> given, boolean checkOutput) {
        Configuration conf = Configuration.fromMap(given);
        TrainConfig cfg;
        try {
            cfg = grid ? TrainConfig.grid(conf, newRunId()) : TrainConfig.from(conf, newRunId());
        } catch (IllegalArgumentException e) {
            throw new Cli.Failure(cleanOptionError(e), Cli.USAGE);
        }
        // the file systems first: the checks below may read s3:// or hdfs://
        // the reporter matters to local runs only: a cluster's reporters are the cluster's (factorbird follow)
        StreamExecutionEnvironment env = JobRunner.environment(LoadProgress.addTo(FactorbirdJob.flinkConfig(cfg)),
                fileSystemKeys);
        JobRunner.checkInput(cfg.input, "--input");
        if (cfg.test != null) {
            JobRunner.checkInput(cfg.test, "--test");
        }
        cfg = checkResume(cfg, conf);
        if (checkOutput) {
            JobRunner.checkOutput(cfg.output, cfg.overwrite);
        }
        if (cfg.stateBackend.equals("rocksdb")) {
            out.println("RocksDB memory per subtask: " + FactorbirdJob.rocksdbMemory(cfg).toHumanReadableString()
                    + " (--rocksdb-memory)");
        }
        boolean local = env instanceof LocalStreamEnvironment;
        List<PsServer> embedded = new ArrayList<>();
        try {
            cfg = connect(cfg, conf, local, embedded);
            if (grid) {
                out.println("grid search: " + cfg.models.size() + " models in one pass");
            }
            FactorbirdJob.build(env, cfg);
            long t0 = System.nanoTime();
            if (local) {
                try (LoadProgress.Watch watch = new LoadProgress.Watch(out)) {
                    JobRunner.execute(env, "factorbird train " + cfg.input);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            } else {
                JobRunner.execute(env, "factorbird train " + cfg.input);
            }
            if (local) {
                RunSummary.print(out, cfg.output, (System.nanoTime() - t0) / 1e9, cfg.rankingK);
            }
        } finally {
            embedded.forEach(PsServer::close);
        }
        return 0;
    }

    /** Starts an embedded PS cluster (local runs without --ps), or checks that the given servers answer. */
    private TrainConfig connect(TrainConfig cfg, Configuration conf, boolean local, List<PsServer> embedded) {
        final TrainConfig given = cfg;
        List<String> servers = JobRunner.psServers(cfg.psServers, local, conf.get(FactorbirdOptions.PS_SHARDS),
                given::psClientConfig, embedded, out);
        return servers == cfg.psServers ? cfg : cfg.withPsServers(servers, conf);
    }

    static long newRunId() {
        long id = 0;
        SecureRandom r = new SecureRandom();
        while (id == 0) {
            id = r.nextLong();
        }
        return id;
    }

    static String cleanOptionError(IllegalArgumentException e) {
        String m = e.getMessage();
        Matcher x = Pattern.compile("Could not parse value '(.*)' for key '(.*)'").matcher(m == null ? "" : m);
        if (x.find()) {
            return "--" + x.group(2) + " has an invalid value '" + x.group(1) + "'";
        }
        return m;
    }


    /**
     * --resume: the snapshot's layout is checked here, before any data is read, and --epochs is settled: with
     * --more-epochs N the run trains N epochs beyond the snapshot's; --epochs counts all of them, so a run whose
     * --epochs the snapshot has already reached is refused rather than doing nothing.
     */
    private TrainConfig checkResume(TrainConfig cfg, Configuration conf) {
        int more = conf.get(FactorbirdOptions.MORE_EPOCHS);
        if (more < 0) {
            throw new Cli.Failure("--more-epochs must be >= 0 but was " + more, Cli.USAGE);
        }
        if (cfg.resume == null) {
            if (more > 0) {
                throw new Cli.Failure("--more-epochs needs --resume DIR (the snapshot to go on from)", Cli.USAGE);
            }
            return cfg;
        }
        Snapshots.Manifest snap;
        try {
            snap = Snapshots.latest(cfg.resume);
        } catch (IOException e) {
            throw new Cli.Failure("cannot read the snapshots in --resume " + cfg.resume + ": " + e.getMessage(),
                    Cli.FAILED);
        }
        if (snap == null) {
            throw new Cli.Failure("--resume " + cfg.resume + " holds no complete snapshot", Cli.USAGE);
        }
        if (snap.width != cfg.width()) {
            throw new Cli.Failure("the snapshot in " + snap.dir + " holds " + snap.width + " floats per id, this "
                    + "run's models need " + cfg.width() + " (same ranks, schedules and grid as the run that wrote "
                    + "it?)", Cli.USAGE);
        }
        if (more > 0) {
            conf.set(FactorbirdOptions.EPOCHS, snap.epoch + more);
            out.printf(Locale.ROOT, "resuming after epoch %d of %s: %d more epochs, to epoch %d%n", snap.epoch,
                    cfg.resume, more, snap.epoch + more);
            TrainConfig moved = grid ? TrainConfig.grid(conf, cfg.runId) : TrainConfig.from(conf, cfg.runId);
            return moved.psServers.equals(cfg.psServers) ? moved : moved.withPsServers(cfg.psServers, conf);
        }
        if (cfg.epochs <= snap.epoch) {
            throw new Cli.Failure("--epochs " + cfg.epochs + " counts every epoch, and the snapshot in " + snap.dir
                    + " is already after epoch " + snap.epoch + ": give --epochs above " + snap.epoch
                    + ", or --more-epochs N", Cli.USAGE);
        }
        out.printf(Locale.ROOT, "resuming after epoch %d of %s, to epoch %d%n", snap.epoch, cfg.resume, cfg.epochs);
        return cfg;
    }
}
