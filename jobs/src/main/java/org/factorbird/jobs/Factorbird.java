package org.factorbird.jobs;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.factorbird.ps.cli.Cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * Command line entry point: {@code factorbird train|grid|tune|recommend|predict|generate|estimate|field|report|follow [options]}. The same class is the
 * job jar's main class, so {@code flink run factorbird-jobs.jar train ...} submits the training job to a cluster.
 *
 * <p>Errors end in one line on stderr ("factorbird: error: ...") and exit code 1; usage errors (an unknown
 * option, with a suggestion, or a malformed value) exit with 2 ({@link Cli}).
 */
@Command(name = "factorbird",
        description = "Distributed matrix factorization on Flink with a parameter server (Factorbird).")
public final class Factorbird implements Runnable {

    @Mixin
    Cli.Help help;

    @Spec
    CommandSpec spec;

    /**
     * Set by {@code scripts/factorbird}: this JVM is ours, so errors may end it with an exit code. Under
     * {@code flink run} or a REST submission, main runs inside Flink's client or JobManager and must not exit.
     */
    static final String STANDALONE_PROPERTY = "factorbird.standalone";

    private final PrintStream out;

    private Factorbird(PrintStream out) {
        this.out = out;
    }

    @Override
    public void run() {
        spec.commandLine().usage(out);
    }

    public static void main(String[] args) {
        if (!Boolean.getBoolean(STANDALONE_PROPERTY)) {
            try {
                run(args, System.out);
            } catch (Cli.Failure e) {
                throw new IllegalArgumentException("factorbird: " + e.getMessage());
            }
            return;
        }
        int code = commandLine(args, System.out, System.err, null).execute(withoutFileSystemKeys(args));
        System.exit(code); // do not wait for lingering non-daemon threads of the embedded cluster
    }

    /** Runs a command; throws {@link Cli.Failure} with its one-line message and exit code on failure. */
    public static void run(String[] args, PrintStream out) {
        List<Cli.Failure> failures = new ArrayList<>();
        CommandLine cl = commandLine(args, out, System.err, failures::add);
        int code = cl.execute(withoutFileSystemKeys(args));
        if (!failures.isEmpty()) {
            throw failures.get(0);
        }
        if (code != 0) {
            throw new Cli.Failure("exit code " + code, code);
        }
    }

    /** The command line; {@code failures} null: failures are printed as one line on {@code err}. */
    static CommandLine commandLine(String[] args, PrintStream out, PrintStream err,
            java.util.function.Consumer<Cli.Failure> failures) {
        Map<String, String> fs = fileSystemKeys(args);
        CommandLine cl = new CommandLine(new Factorbird(out));
        cl.addSubcommand("train", new CommandLine(TrainCommand.spec(TrainCommand.Mode.TRAIN, out, fs)));
        cl.addSubcommand("grid", new CommandLine(TrainCommand.spec(TrainCommand.Mode.GRID, out, fs)));
        cl.addSubcommand("tune", new CommandLine(TrainCommand.spec(TrainCommand.Mode.TUNE, out, fs)));
        cl.addSubcommand("stream", new CommandLine(StreamCommand.spec(out, fs)));
        cl.addSubcommand(new RecommendCommand(out, fs));
        cl.addSubcommand(new PredictCommand(out, fs));
        cl.addSubcommand(new GenerateCommand());
        cl.addSubcommand(new EstimateCommand());
        cl.addSubcommand(new FieldCommand());
        cl.addSubcommand(new ReportCommand(fs));
        cl.addSubcommand(new FollowCommand(out, fs));
        cl.addSubcommand("help", new CommandLine.HelpCommand());
        return failures == null ? Cli.configure(cl, out, err) : Cli.configure(cl, out, err, failures);
    }

    /**
     * File system settings passed through to Flink ({@code --s3.endpoint URL}, {@code --s3.access-key K},
     * {@code --fs.hdfs.hadoopconf DIR}, ...): the same keys as in Flink's config.yaml, for local runs. On a
     * cluster, put them into the cluster's config.yaml instead (the TaskManagers read them there).
     */
    static boolean isFileSystemKey(String arg) {
        return arg.startsWith("--s3.") || arg.startsWith("--fs.");
    }

    private static Map<String, String> fileSystemKeys(String[] args) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (isFileSystemKey(args[i])) {
                String a = args[i].substring(2);
                int eq = a.indexOf('=');
                if (eq > 0) {
                    m.put(a.substring(0, eq), a.substring(eq + 1));
                } else if (i + 1 < args.length) {
                    m.put(a, args[++i]);
                }
            }
        }
        return m;
    }

    private static String[] withoutFileSystemKeys(String[] args) {
        List<String> rest = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (isFileSystemKey(args[i])) {
                if (args[i].indexOf('=') < 0) {
                    i++; // its value
                }
            } else {
                rest.add(args[i]);
            }
        }
        return rest.toArray(new String[0]);
    }
}
