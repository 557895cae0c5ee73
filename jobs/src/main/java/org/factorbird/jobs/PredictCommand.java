package org.factorbird.jobs;

import java.io.IOException;
import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.factorbird.pipeline.model.ModelDir;
import org.factorbird.pipeline.recommend.PredictOperator;
import org.factorbird.pipeline.recommend.Recommendations;
import org.factorbird.ps.cli.Cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code factorbird predict}: the model's prediction for every (row, column) line of a file, as a Flink job. */
@Command(name = "predict", sortOptions = false, showDefaultValues = true,
        description = "Writes row<TAB>column<TAB>prediction for every 'row column ...' line of --input (further "
                + "fields are ignored), prediction = mu + b_i + b_j + u_i.v_j; an unknown row or column contributes "
                + "nothing (as in held-out evaluation), and those pairs are counted.")
final class PredictCommand implements Callable<Integer> {

    @Mixin
    Cli.Help help;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "A training run's --output.")
    String model;

    @Option(names = "--input", required = true, paramLabel = "PATH", description = "The pairs: lines 'row column' "
            + "(comma, tab, space or semicolon separated; a header line is skipped).")
    String input;

    @Option(names = "--output", required = true, paramLabel = "DIR", description = "Where to write the "
            + "predictions; must not hold files.")
    String output;

    @Option(names = "--clip", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Clip predictions to the training ratings' range (--no-clip: do not).")
    boolean clip;

    @Mixin
    JobRunner.Options job;

    private final PrintStream out;
    private final Map<String, String> fileSystemKeys;

    PredictCommand(PrintStream out, Map<String, String> fileSystemKeys) {
        this.out = out;
        this.fileSystemKeys = fileSystemKeys;
    }

    @Override
    public Integer call() {
        StreamExecutionEnvironment env = job.environment(fileSystemKeys);
        try {
            ModelDir dir = ModelDir.open(model);
            JobRunner.checkInput(input, "--input");
            JobRunner.checkOutput(output, job.overwrite);
            Recommendations.predict(env, dir, input, output, clip);
        } catch (IOException e) {
            throw new Cli.Failure(e.getMessage(), Cli.FAILED);
        }
        long t0 = System.nanoTime();
        JobExecutionResult result = JobRunner.execute(env, "factorbird predict " + input);
        if (result.isJobExecutionResult()) {
            out.printf(Locale.ROOT, "finished in %.1f s: %,d predictions (%,d with an unknown row, %,d with an "
                    + "unknown column) in %s%n", (System.nanoTime() - t0) / 1e9,
                    count(result, PredictOperator.PREDICTED), count(result, PredictOperator.UNKNOWN_ROWS),
                    count(result, PredictOperator.UNKNOWN_COLUMNS), output);
        }
        return 0;
    }

    private static long count(JobExecutionResult r, String name) {
        Object v = r.getAccumulatorResult(name);
        return v == null ? 0 : (Long) v;
    }
}
