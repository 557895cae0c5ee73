package org.factorbird.jobs;

import java.io.IOException;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;
import org.factorbird.pipeline.FactorbirdOptions;
import org.factorbird.pipeline.TrainConfig;
import org.factorbird.pipeline.model.Json;
import org.factorbird.pipeline.model.ModelFile;
import org.factorbird.pipeline.model.ModelFile.HyperParameters;
import org.factorbird.pipeline.tune.DataProfile;
import org.factorbird.pipeline.tune.SearchSpace;
import org.factorbird.ps.cli.Cli;

/**
 * {@code factorbird tune}: profiles the head of the input ({@link DataProfile}), searches the derived grid
 * ({@link SearchSpace}) in one pass with halving on a validation split into OUT/search, then trains the winner on
 * all training data into OUT and copies the search's grid.json there.
 */
final class Tuning {

    /** Runs one training job (a grid or one model) with these options, its output already checked. */
    @FunctionalInterface
    interface Jobs {
        void run(TrainCommand.Mode mode, Map<String, String> options);
    }

    /** Lines of the input that tune reads to profile the data. */
    static final int PROFILE_LINES = 1_000_000;

    private final PrintStream out;
    private final Map<String, String> fileSystemKeys;
    private final Jobs jobs;

    Tuning(PrintStream out, Map<String, String> fileSystemKeys, Jobs jobs) {
        this.out = out;
        this.fileSystemKeys = fileSystemKeys;
        this.jobs = jobs;
    }

    /** Runs {@code tune} with the options given: see the class comment. */
    int run(Map<String, String> given, String budgetText) {
        String input = given.get(FactorbirdOptions.INPUT.key());
        String output = given.get(FactorbirdOptions.OUTPUT.key());
        if (input == null || output == null) {
            throw new Cli.Failure("tune needs --input and --output", Cli.USAGE);
        }
        if (given.containsKey(FactorbirdOptions.IMPLICIT.key())) {
            throw new Cli.Failure("tune searches explicit ratings by validation RMSE; for --implicit use grid with "
                    + "--ranking-k", Cli.USAGE);
        }
        int budget;
        try {
            budget = budgetText == null ? SearchSpace.DEFAULT_BUDGET : Integer.parseInt(budgetText);
        } catch (NumberFormatException e) {
            throw new Cli.Failure(TrainCommand.BUDGET + " has an invalid value '" + budgetText + "'", Cli.USAGE);
        }
        // the file systems first: the profile may read s3:// or hdfs://
        JobRunner.environment(new Configuration(), fileSystemKeys);
        JobRunner.checkInput(input, "--input");
        JobRunner.checkOutput(output, Boolean.parseBoolean(given.getOrDefault(FactorbirdOptions.OVERWRITE.key(),
                "false")));
        DataProfile profile;
        try {
            profile = DataProfile.of(input, PROFILE_LINES, TrainConfig.stringIds(given.getOrDefault(
                    FactorbirdOptions.IDS.key(), FactorbirdOptions.IDS.defaultValue())));
        } catch (IOException e) {
            throw new Cli.Failure("cannot profile --input " + input + ": " + e.getMessage(), Cli.FAILED);
        } catch (IllegalArgumentException e) {
            throw new Cli.Failure(e.getMessage(), Cli.USAGE);
        }
        SearchSpace space;
        try {
            space = SearchSpace.derive(profile, budget, given);
        } catch (IllegalArgumentException e) {
            throw new Cli.Failure(e.getMessage(), Cli.USAGE);
        }
        out.println("tune: " + profile);
        out.println("tune: searching " + space + " on a validation split, then refitting the winner on all "
                + "training data");
        Map<String, String> refit = new LinkedHashMap<>(given);
        refit.putAll(space.options);
        refit.remove(FactorbirdOptions.PRUNE.key());
        refit.remove(FactorbirdOptions.PRUNE_EVERY.key());
        refit.remove(FactorbirdOptions.KEEP.key());
        refit.remove(FactorbirdOptions.PRUNE_TIE.key());
        refit.remove(FactorbirdOptions.FIRST_RUNG.key());
        String searchDir = new Path(output, "search").toString();
        if (space.models > 1) {
            Map<String, String> search = new LinkedHashMap<>(given);
            search.putAll(space.options);
            search.put(FactorbirdOptions.OUTPUT.key(), searchDir);
            search.put(FactorbirdOptions.OVERWRITE.key(), "true"); // OUT was checked above
            jobs.run(TrainCommand.Mode.GRID, search);
            HyperParameters best;
            try {
                best = Json.read(new Path(searchDir, "model.json"), ModelFile.class).hyperParameters();
            } catch (IOException e) {
                throw new Cli.Failure("the search wrote no model.json in " + searchDir + ": " + e.getMessage(),
                        Cli.FAILED);
            }
            refit.put(FactorbirdOptions.RANK.key(), String.valueOf(best.rank()));
            refit.put(FactorbirdOptions.LEARNING_RATE.key(), String.valueOf(best.learningRate()));
            refit.put(FactorbirdOptions.LAMBDA.key(), String.valueOf(best.lambda()));
            refit.put(FactorbirdOptions.LAMBDA_BIAS.key(), String.valueOf(best.lambdaBias()));
            refit.put(FactorbirdOptions.SCHEDULE.key(), best.schedule());
            refit.put(FactorbirdOptions.DECAY.key(), String.valueOf(best.decay()));
            refit.put(FactorbirdOptions.INIT_STD.key(), String.valueOf(best.initStd()));
        }
        refit.put(FactorbirdOptions.VALIDATION.key(), "0"); // the choice is made: train on everything
        out.printf(Locale.ROOT, "tune: chose rank %s, learning rate %s, lambda %s; refitting on all training data%n",
                refit.get(FactorbirdOptions.RANK.key()), refit.get(FactorbirdOptions.LEARNING_RATE.key()),
                refit.get(FactorbirdOptions.LAMBDA.key()));
        jobs.run(TrainCommand.Mode.TRAIN, refit);
        try {
            FileSystem fs = new Path(output).getFileSystem();
            Path grid = new Path(searchDir, "grid.json");
            if (fs.exists(grid)) {
                try (java.io.InputStream in = fs.open(grid);
                        java.io.OutputStream o = fs.create(new Path(output, "grid.json"), FileSystem.WriteMode.OVERWRITE)) {
                    in.transferTo(o);
                }
            }
        } catch (IOException e) {
            throw new Cli.Failure("cannot copy grid.json into " + output + ": " + e.getMessage(), Cli.FAILED);
        }
        return 0;
    }
}
