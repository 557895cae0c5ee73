package org.factorbird.jobs;

import java.io.IOException;
import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.factorbird.pipeline.model.ModelDir;
import org.factorbird.pipeline.recommend.Recommendations;
import org.factorbird.ps.cli.Cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code factorbird recommend}: the top-k columns of every row of a trained model, as a Flink job. */
@Command(name = "recommend", sortOptions = false, showDefaultValues = true,
        description = {"Writes the top-K columns of every row of a model (or of the rows in --rows), never a pair "
                + "of --exclude: lines row<TAB>rank<TAB>column<TAB>score, rank 1..K, score the model's prediction; "
                + "ties go to the smaller column id.",
                "Rows are spread over the subtasks; every subtask streams the model's columns past its rows in "
                        + "pages, so no subtask holds all columns."})
final class RecommendCommand implements Callable<Integer> {

    @Mixin
    Cli.Help help;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "A training run's --output.")
    String model;

    @Option(names = "--k", required = true, showDefaultValue = CommandLine.Help.Visibility.NEVER, paramLabel = "K", description = "Columns per row.")
    int k;

    @Option(names = "--output", required = true, paramLabel = "DIR", description = "Where to write the "
            + "recommendations (any Flink file system URI); must not hold files.")
    String output;

    @Option(names = "--exclude", paramLabel = "PATH", description = "Ratings whose (row, column) pairs are never "
            + "recommended, in the training input format (usually the training ratings).")
    String exclude;

    @Option(names = "--rows", paramLabel = "PATH", description = "Recommend only for the row ids in this file "
            + "(the first field of each line).")
    String rows;

    @Mixin
    JobRunner.Options job;

    private final PrintStream out;
    private final Map<String, String> fileSystemKeys;

    RecommendCommand(PrintStream out, Map<String, String> fileSystemKeys) {
        this.out = out;
        this.fileSystemKeys = fileSystemKeys;
    }

    @Override
    public Integer call() {
        JobRunner.check(k >= 1, "--k must be >= 1 but was " + k);
        StreamExecutionEnvironment env = job.environment(fileSystemKeys);
        ModelDir dir;
        try {
            dir = ModelDir.open(model);
            if (exclude != null) {
                JobRunner.checkInput(exclude, "--exclude");
            }
            if (rows != null) {
                JobRunner.checkInput(rows, "--rows");
            }
            JobRunner.checkOutput(output, job.overwrite);
            Recommendations.recommend(env, dir, k, output, exclude, rows);
        } catch (IOException e) {
            throw new Cli.Failure(e.getMessage(), Cli.FAILED);
        }
        long t0 = System.nanoTime();
        JobExecutionResult result = JobRunner.execute(env, "factorbird recommend " + model);
        Object bad = result.isJobExecutionResult()
                ? result.getAccumulatorResult(Recommendations.MALFORMED_EXCLUDE_LINES) : null;
        out.printf(Locale.ROOT, "finished in %.1f s: top %d columns per row of %s (rank %d) in %s%s%n",
                (System.nanoTime() - t0) / 1e9, k, model, dir.model().rank(), output,
                bad != null && (Long) bad > 0 ? "; " + bad + " malformed lines of --exclude skipped" : "");
        return 0;
    }
}
