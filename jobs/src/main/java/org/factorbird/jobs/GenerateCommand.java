package org.factorbird.jobs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

import org.factorbird.pipeline.data.PlantedData;
import org.factorbird.ps.cli.Cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code factorbird generate}: a planted data set with a known noise floor. */
@Command(name = "generate", sortOptions = false, showDefaultValues = true,
        description = "Writes a planted low-rank data set: DIR/train/, DIR/test/ and DIR/planted.json.")
final class GenerateCommand implements Callable<Integer> {

    @Mixin
    Cli.Help help;

    @Spec
    CommandSpec spec;

    @Option(names = "--output", required = true, paramLabel = "DIR", description = "Where to write the set.")
    Path output;

    @Option(names = "--rows", paramLabel = "R", defaultValue = "2000", description = "Rows (users).")
    int rows;

    @Option(names = "--cols", paramLabel = "C", defaultValue = "1000", description = "Columns (items).")
    int cols;

    @Option(names = "--ratings", paramLabel = "N", defaultValue = "600000",
            description = "Ratings in all, training plus held-out.")
    long ratings;

    @Option(names = "--rank", paramLabel = "K", defaultValue = "8", description = "Rank of the planted factors.")
    int rank;

    @Option(names = "--noise", paramLabel = "SIGMA", defaultValue = "0.3",
            description = "Std of the Gaussian noise: the best reachable RMSE.")
    double noise;

    @Option(names = "--skew", paramLabel = "S", defaultValue = "0",
            description = "Zipf exponent of row activity and column popularity; 0: uniform.")
    double skew;

    @Option(names = "--test-fraction", paramLabel = "F", defaultValue = "0.1", description = "Share of ratings "
            + "held out.")
    double testFraction;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "7", description = "Seed.")
    long seed;

    @Option(names = "--files", paramLabel = "N", defaultValue = "1", description = "Part files per set, read in "
            + "parallel.")
    int files;

    @Override
    public Integer call() {
        PlantedData data;
        try {
            data = new PlantedData(rows, cols, ratings, rank, noise, skew, testFraction, seed, files);
        } catch (IllegalArgumentException e) {
            throw new Cli.Failure(e.getMessage(), Cli.USAGE);
        }
        if (Files.exists(output.resolve("planted.json"))) {
            throw new Cli.Failure("--output " + output + " already holds a data set", Cli.FAILED);
        }
        try {
            long t0 = System.nanoTime();
            data.write(output);
            spec.commandLine().getOut().printf(Locale.ROOT, "wrote %,d training and %,d held-out ratings to %s in %.1f s; "
                    + "noise sigma %.4f (held-out RMSE of the true model %.4f)%n", data.trainWritten,
                    data.testWritten, output, (System.nanoTime() - t0) / 1e9, data.sigma, data.oracleTestRmse);
        } catch (IOException e) {
            throw new Cli.Failure("cannot write " + output + ": " + e.getMessage(), Cli.FAILED);
        }
        return 0;
    }
}
