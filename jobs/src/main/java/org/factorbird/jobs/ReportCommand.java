package org.factorbird.jobs;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.Callable;

import org.apache.flink.configuration.Configuration;
import org.factorbird.pipeline.report.Report;
import org.factorbird.ps.cli.Cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code factorbird report OUT}: rebuilds OUT/report.html and OUT/metrics.csv from the model.json (and grid.json)
 * of an earlier run, on any Flink file system.
 */
@Command(name = "report",
        description = "Rebuilds OUT/report.html (charts of the run) and OUT/metrics.csv from OUT/model.json and "
                + "OUT/grid.json of an earlier run.")
final class ReportCommand implements Callable<Integer> {

    @Mixin
    Cli.Help help;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "OUT", description = "The output directory of a train, grid or tune run.")
    String dir;

    private final Map<String, String> fileSystemKeys;

    ReportCommand(Map<String, String> fileSystemKeys) {
        this.fileSystemKeys = fileSystemKeys;
    }

    @Override
    public Integer call() {
        JobRunner.environment(new Configuration(), fileSystemKeys); // the file systems: OUT may be on s3:// or hdfs://
        try {
            Report.rebuild(dir);
        } catch (IOException e) {
            throw new Cli.Failure("cannot build the report of " + dir + ": " + e.getMessage(), Cli.FAILED);
        }
        spec.commandLine().getOut().println("wrote " + dir + "/" + Report.HTML + " and " + dir + "/" + Report.CSV);
        return 0;
    }
}
