package org.factorbird.jobs;

import java.io.IOException;
import java.io.PrintStream;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.fs.FileStatus;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;
import org.apache.flink.streaming.api.environment.LocalStreamEnvironment;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.factorbird.pipeline.FactorbirdJob;
import org.factorbird.pipeline.FactorbirdOptions;
import org.factorbird.pipeline.TrainConfig;
import org.factorbird.pipeline.model.EpochRecord;
import org.factorbird.pipeline.model.Json;
import org.factorbird.pipeline.model.ModelFile;
import org.factorbird.pipeline.data.PlantedData;
import org.factorbird.ps.PsClient;
import org.factorbird.ps.server.PsServer;

/**
 * Command line entry point: {@code factorbird train|generate [options]}. The same class is the job jar's main
 * class, so {@code flink run factorbird-jobs.jar train ...} submits the training job to a cluster.
 *
 * <p>Errors end in one line on stderr ("factorbird: error: ...") and exit code 1; usage errors exit with 2.
 */
public final class Factorbird {

    private Factorbird() {}

    /** A user-facing failure: its message is the whole story. */
    static final class CliException extends RuntimeException {
        final int exitCode;

        CliException(String message, int exitCode) {
            super(message);
            this.exitCode = exitCode;
        }
    }

    /**
     * Set by {@code scripts/factorbird}: this JVM is ours, so errors may end it with an exit code. Under
     * {@code flink run} or a REST submission, main runs inside Flink's client or JobManager and must not exit.
     */
    static final String STANDALONE_PROPERTY = "factorbird.standalone";

    public static void main(String[] args) {
        boolean standalone = Boolean.getBoolean(STANDALONE_PROPERTY);
        try {
            run(args, System.out);
        } catch (CliException e) {
            if (!standalone) {
                throw new IllegalArgumentException("factorbird: " + e.getMessage());
            }
            System.err.println("factorbird: error: " + e.getMessage());
            System.exit(e.exitCode);
        }
        if (standalone) {
            System.exit(0); // do not wait for lingering non-daemon threads of the embedded cluster
        }
    }

    /** Runs a command; throws {@link CliException} with a one-line message on failure. */
    public static void run(String[] args, PrintStream out) {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
            out.println(usage());
            return;
        }
        String command = args[0];
        String[] rest = java.util.Arrays.copyOfRange(args, 1, args.length);
        switch (command) {
            case "train":
                if (wantsHelp(rest)) {
                    out.println(trainHelp());
                    return;
                }
                train(rest, out, false);
                break;
            case "grid":
                if (wantsHelp(rest)) {
                    out.println(gridHelp());
                    return;
                }
                train(rest, out, true);
                break;
            case "estimate":
                if (wantsHelp(rest)) {
                    out.println(EstimateCommand.HELP);
                    return;
                }
                EstimateCommand.run(parseFlags(rest, EstimateCommand.FLAGS), out);
                break;
            case "generate":
                if (wantsHelp(rest)) {
                    out.println(Generate.HELP);
                    return;
                }
                Generate.run(parseFlags(rest, Generate.FLAGS), out);
                break;
            default:
                throw new CliException("unknown command '" + command + "'\n" + usage(), 2);
        }
    }

    private static boolean wantsHelp(String[] args) {
        for (String a : args) {
            if (a.equals("--help") || a.equals("-h")) {
                return true;
            }
        }
        return false;
    }

    static String usage() {
        return String.join("\n",
                "usage: factorbird <command> [options]",
                "  train     train a model (factorbird train --help lists every option)",
                "  grid      train many hyper-parameter settings in one pass (factorbird grid --help)",
                "  generate  write a planted low-rank data set (factorbird generate --help)",
                "  estimate  memory, bytes and requests of a run before running it (factorbird estimate --help)");
    }

    static String gridHelp() {
        StringBuilder sb = new StringBuilder("usage: factorbird grid --input PATH --output DIR [options]\n"
                + "Takes every option of 'train'; these accept a comma-separated list, and the grid is their "
                + "Cartesian product, trained in one pass:\n ");
        for (ConfigOption<?> o : TrainConfig.GRID_OPTIONS) {
            sb.append(" --").append(o.key());
        }
        sb.append("\nExample: factorbird grid --input r.csv --test t.csv --output out --lambda 0.02,0.05 "
                + "--learning-rate 0.005,0.01 --rank 10,40\n\n");
        return sb.append(trainHelp()).toString();
    }

    static String trainHelp() {
        StringBuilder sb = new StringBuilder("usage: factorbird train --input PATH --output DIR [options]\n");
        for (ConfigOption<?> o : FactorbirdOptions.all()) {
            String def = o.hasDefaultValue() ? String.valueOf(o.defaultValue()) : "(none)";
            sb.append(String.format(Locale.ROOT, "  --%-18s %s [default: %s]%n", o.key(),
                    FactorbirdOptions.text(o), def));
        }
        return sb.toString();
    }

    /**
     * Parses {@code --key value} pairs; a flag in {@code booleans} may stand alone (true). Unknown flags fail.
     */
    static Map<String, String> parseFlags(String[] args, List<String> known) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) {
                throw new CliException("unexpected argument '" + a + "' (options look like --name value)", 2);
            }
            String key = a.substring(2);
            String value = null;
            int eq = key.indexOf('=');
            if (eq > 0) {
                value = key.substring(eq + 1);
                key = key.substring(0, eq);
            }
            if (value == null && key.startsWith("no-") && BOOLEAN_FLAGS.contains(key.substring(3))
                    && known.contains(key.substring(3))) {
                key = key.substring(3);
                value = "false";
            }
            if (!known.contains(key) && !isFileSystemKey(key)) {
                throw new CliException("unknown option --" + key + " (see --help)", 2);
            }
            if (value == null) {
                boolean nextIsValue = i + 1 < args.length && !args[i + 1].startsWith("--");
                if (BOOLEAN_FLAGS.contains(key) && !nextIsValue) {
                    value = "true";
                } else if (!nextIsValue) {
                    throw new CliException("option --" + key + " needs a value", 2);
                } else {
                    value = args[++i];
                }
            }
            m.put(key, value);
        }
        return m;
    }

    /**
     * File system settings passed through to Flink ({@code --s3.endpoint URL}, {@code --s3.access-key K},
     * {@code --fs.hdfs.hadoopconf DIR}, ...): the same keys as in Flink's config.yaml, for local runs. On a
     * cluster, put them into the cluster's config.yaml instead (the TaskManagers read them there).
     */
    static boolean isFileSystemKey(String key) {
        return key.startsWith("s3.") || key.startsWith("fs.");
    }

    private static final List<String> BOOLEAN_FLAGS = List.of("strict", "clip", "keep-all");

    // ------------------------------------------------------------------------------------------------
    //  train
    // ------------------------------------------------------------------------------------------------

    private static void train(String[] args, PrintStream out, boolean grid) {
        List<String> keys = new ArrayList<>();
        FactorbirdOptions.all().forEach(o -> keys.add(o.key()));
        Map<String, String> flags = parseFlags(args, keys);
        Configuration conf = Configuration.fromMap(flags);
        Configuration fsConf = new Configuration();
        flags.forEach((k, v) -> {
            if (isFileSystemKey(k)) {
                fsConf.setString(k, v);
            }
        });
        if (!fsConf.keySet().isEmpty()) {
            // Local environments do not read config.yaml: configure the file systems of this JVM ourselves.
            FileSystem.initialize(fsConf, null);
        }
        TrainConfig cfg;
        try {
            cfg = grid ? TrainConfig.grid(conf, newRunId()) : TrainConfig.from(conf, newRunId());
        } catch (IllegalArgumentException e) {
            throw new CliException(cleanOptionError(e), 2);
        }
        checkInput(cfg.input, "--input");
        if (cfg.test != null) {
            checkInput(cfg.test, "--test");
        }
        checkOutput(cfg.output);

        Configuration flink = FactorbirdJob.flinkConfig(cfg);
        flink.addAll(fsConf);
        if (cfg.stateBackend.equals("rocksdb")) {
            out.println("RocksDB memory per subtask: " + FactorbirdJob.rocksdbMemory(cfg).toHumanReadableString()
                    + " (--rocksdb-memory)");
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(flink);
        boolean local = env instanceof LocalStreamEnvironment;
        List<PsServer> embedded = new ArrayList<>();
        try {
            if (cfg.psServers.isEmpty() && !local) {
                throw new CliException("--ps is required on a cluster: start the servers with "
                        + "scripts/ps-cluster.sh and pass their host:port list", 2);
            }
            if (cfg.psServers.isEmpty()) {
                int shards = conf.get(FactorbirdOptions.PS_SHARDS);
                if (shards < 1) {
                    throw new CliException("--ps-shards must be >= 1 but was " + shards, 2);
                }
                List<String> addresses = new ArrayList<>();
                for (int i = 0; i < shards; i++) {
                    PsServer s = PsServer.startLocal(i, shards);
                    embedded.add(s);
                    addresses.add(s.address());
                }
                cfg = cfg.withPsServers(addresses, conf);
                out.println("started an embedded parameter server: " + String.join(",", addresses));
            } else {
                // fail here, in one line, rather than in every subtask
                try (PsClient probe = PsClient.connect(cfg.psClientConfig())) {
                    out.println("parameter servers answer: " + String.join(",", cfg.psServers));
                } catch (RuntimeException e) {
                    throw new CliException(e.getMessage(), 1);
                }
            }
            if (grid) {
                out.println("grid search: " + cfg.models.size() + " models in one pass");
            }
            FactorbirdJob.build(env, cfg);
            long t0 = System.nanoTime();
            try {
                env.execute("factorbird train " + cfg.input);
            } catch (Exception e) {
                throw new CliException(rootMessage(e), 1);
            }
            if (local) {
                summarize(cfg, out, (System.nanoTime() - t0) / 1e9);
            }
        } finally {
            embedded.forEach(PsServer::close);
        }
    }

    private static long newRunId() {
        long id = 0;
        SecureRandom r = new SecureRandom();
        while (id == 0) {
            id = r.nextLong();
        }
        return id;
    }

    private static String cleanOptionError(IllegalArgumentException e) {
        String m = e.getMessage();
        Matcher x = Pattern.compile("Could not parse value '(.*)' for key '(.*)'").matcher(m == null ? "" : m);
        if (x.find()) {
            return "--" + x.group(2) + " has an invalid value '" + x.group(1) + "'";
        }
        return m;
    }

    static void checkInput(String path, String flag) {
        try {
            Path p = new Path(path);
            FileSystem fs = p.getFileSystem();
            if (!fs.exists(p)) {
                throw new CliException(flag + " " + path + " does not exist", 1);
            }
            FileStatus st = fs.getFileStatus(p);
            if (!st.isDir() && st.getLen() == 0) {
                throw new CliException(flag + " " + path + " is empty", 1);
            }
        } catch (IOException e) {
            throw new CliException("cannot read " + flag + " " + path + ": " + e.getMessage(), 1);
        }
    }

    static void checkOutput(String path) {
        try {
            Path p = new Path(path);
            FileSystem fs = p.getFileSystem();
            if (fs.exists(p)) {
                FileStatus[] content = fs.listStatus(p);
                if (content != null && content.length > 0) {
                    throw new CliException("--output " + path + " already exists and is not empty; remove it or "
                            + "choose another directory", 1);
                }
            }
        } catch (IOException e) {
            throw new CliException("cannot check --output " + path + ": " + e.getMessage(), 1);
        }
    }

    /** The most specific message in a Flink failure chain (our exceptions carry user-facing messages). */
    static String rootMessage(Throwable e) {
        Throwable best = e;
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null) {
                best = t;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        String m = best.getMessage();
        String cls = best.getClass().getName();
        boolean ours = cls.startsWith("org.factorbird") || best instanceof IllegalStateException
                || best instanceof IllegalArgumentException || best instanceof IOException;
        return ours ? m : best.getClass().getSimpleName() + ": " + m + " (see the log for details)";
    }

    private static void summarize(TrainConfig cfg, PrintStream out, double seconds) {
        ModelFile model;
        try {
            model = Json.read(new Path(cfg.output, "model.json"), ModelFile.class);
        } catch (IOException e) {
            out.printf(Locale.ROOT, "finished in %.1f s; output in %s%n", seconds, cfg.output);
            return;
        }
        EpochRecord last = model.lastEpoch();
        String test = model.finalTestRmse() == null ? ""
                : String.format(Locale.ROOT, "held-out RMSE %.6f, ", model.finalTestRmse());
        out.printf(Locale.ROOT, "finished in %.1f s: %s%s epochs, rank %d; %s in %s%n", seconds, test,
                last == null ? "0" : String.valueOf(last.epoch()), model.rank(), cfg.grid ? "best model" : "model",
                cfg.output);
    }
}
