package org.factorbird.ps.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import org.slf4j.LoggerFactory;

import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * The command-line conventions of every Factorbird entry point ({@code factorbird}, {@code ps-server},
 * {@code ps-cluster}, {@code ps-load}), on picocli: {@code --help} on every command; a usage error is one line on
 * stderr, with a suggestion for a mistyped option, and exit code {@value #USAGE}; a failure is one line and exit
 * code {@value #FAILED}. It lives in ps-client because every entry point's module depends on it.
 */
public final class Cli {

    /** Exit code of a usage error (an unknown option, a missing or malformed value). */
    public static final int USAGE = 2;
    /** Exit code of a run that failed (input missing, server unreachable, ...). */
    public static final int FAILED = 1;

    /** A user-facing failure: its message is the whole story, printed as one line. */
    public static final class Failure extends RuntimeException {
        private static final long serialVersionUID = 1L;
        public final int exitCode;

        public Failure(String message, int exitCode) {
            super(message);
            this.exitCode = exitCode;
        }
    }

    private Cli() {}

    /** {@code -h, --help} of every command (picocli's standard mixin would add a --version we do not keep). */
    public static final class Help {
        @picocli.CommandLine.Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
        boolean help;
    }

    /**
     * A picocli command line for {@code command} that prints help to {@code out}, and errors as
     * {@code <name>: error: <one line>} to {@code err}.
     */
    public static CommandLine create(Object command, PrintStream out, PrintStream err) {
        CommandLine cl = new CommandLine(command);
        configure(cl, out, err);
        return cl;
    }

    /** Applies the conventions to {@code cl} (and its subcommands); failures are printed as one line. */
    public static CommandLine configure(CommandLine cl, PrintStream out, PrintStream err) {
        return configure(cl, out, err, f -> err.println(cl.getCommandSpec().root().name() + ": error: "
                + f.getMessage()));
    }

    /**
     * Applies the conventions to {@code cl} (and its subcommands); every usage error and failure goes to
     * {@code failures} as one {@link Failure} (its exit code is the command's).
     */
    public static CommandLine configure(CommandLine cl, PrintStream out, PrintStream err,
            Consumer<Failure> failures) {
        cl.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
        cl.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        // as the hand-written parsers did: the last of a repeated option wins; '@' starts no argument file
        cl.setOverwrittenOptionsAllowed(true);
        cl.setExpandAtFiles(false);
        cl.setUsageHelpAutoWidth(true);
        cl.setParameterExceptionHandler((ex, args) -> {
            failures.accept(new Failure(message(ex), USAGE));
            return USAGE;
        });
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            Failure f = failure(ex);
            failures.accept(f);
            return f.exitCode;
        });
        return cl;
    }

    /**
     * A failure of a command as one line: a {@link Failure} as it is; anything else (an I/O error, a job's failure
     * chain, a bug) as the most specific message in its cause chain (ours carry user-facing messages), with the
     * exception's type when it is not self-explanatory.
     */
    public static Failure failure(Throwable ex) {
        if (ex instanceof Failure) {
            return (Failure) ex;
        }
        Throwable best = ex;
        for (Throwable t = ex; t != null; t = t.getCause()) {
            if (t.getMessage() != null) {
                best = t;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        boolean plain = best instanceof java.io.IOException || best instanceof IllegalArgumentException
                || best instanceof IllegalStateException || best.getClass().getName().startsWith("org.factorbird");
        if (!plain) {
            // not a message for users: keep the whole story in the log the line points to
            LoggerFactory.getLogger(Cli.class).error("command failed", ex);
        }
        String m = best.getMessage() == null ? best.getClass().getSimpleName()
                : plain ? best.getMessage()
                : best.getClass().getSimpleName() + ": " + best.getMessage() + " (see the log for details)";
        return new Failure(m.replace('\n', ' '), FAILED);
    }

    /** One line for a usage error, with a suggestion for a mistyped option. */
    public static String message(ParameterException ex) {
        List<String> unmatched = ex.getCommandLine().getUnmatchedArguments();
        if (!(ex instanceof UnmatchedArgumentException) && !unmatched.isEmpty() && unmatched.get(0).startsWith("-")) {
            // a mistyped required option also leaves the required one missing: the typo is what to report
            ex = new UnmatchedArgumentException(ex.getCommandLine(), unmatched);
        }
        String m = ex.getMessage().strip();
        if (ex instanceof UnmatchedArgumentException) {
            List<String> s = suggestions((UnmatchedArgumentException) ex);
            if (!s.isEmpty()) {
                m += "; did you mean " + String.join(" or ", s) + "?";
            }
        }
        return m.replace('\n', ' ') + " (see --help)";
    }

    /**
     * The options closest to the first unknown one (at most 2 edits, e.g. a swapped or missing letter), else
     * picocli's (same first letters).
     */
    static List<String> suggestions(UnmatchedArgumentException ex) {
        List<String> unmatched = ex.getUnmatched();
        if (unmatched.isEmpty() || !unmatched.get(0).startsWith("-")) {
            return ex.getSuggestions();
        }
        String typed = unmatched.get(0).split("=", 2)[0];
        List<String> close = new ArrayList<>();
        int best = 3;
        for (OptionSpec o : ex.getCommandLine().getCommandSpec().options()) {
            List<String> names = new ArrayList<>(List.of(o.names()));
            if (o.negatable()) {
                names.add("--no-" + o.longestName().substring(2)); // picocli lists only the positive form
            }
            for (String name : names) {
                int d = distance(typed, name);
                if (d < best) {
                    best = d;
                    close.clear();
                }
                if (d == best && !close.contains(name)) {
                    close.add(name);
                }
            }
        }
        return close.isEmpty() ? ex.getSuggestions() : close;
    }

    /** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
    static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }

    /** Runs {@code command} with {@code args} and exits the JVM with its exit code: for {@code main} methods. */
    public static void exit(Object command, String[] args) {
        System.exit(create(command, System.out, System.err).execute(args));
    }
}
