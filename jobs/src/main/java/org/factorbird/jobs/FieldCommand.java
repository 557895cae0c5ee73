package org.factorbird.jobs;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.factorbird.ps.cli.Cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code factorbird field FILE PATH}: prints one field of a JSON file the project writes (model.json, grid.json,
 * planted.json), so that scripts read them through a JSON parser: {@code field OUT/model.json finalTestRmse},
 * {@code field OUT/model.json counts.trainRatings}, {@code field OUT/grid.json models.0.hyperParameters}.
 */
@Command(name = "field",
        description = "Prints one field of a JSON file (model.json, grid.json, planted.json).")
final class FieldCommand implements Callable<Integer> {

    @Mixin
    Cli.Help help;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE", description = "The JSON file; - reads standard input.")
    Path file;

    @Parameters(index = "1", paramLabel = "PATH", description = "Dot-separated field names and list indexes, "
            + "e.g. counts.trainRatings or epochs.0.testRmse.")
    String path;

    @Override
    public Integer call() {
        JsonNode node;
        try {
            // "-": standard input (scripts pipe REST answers in)
            node = file.toString().equals("-") ? new ObjectMapper().readTree(System.in)
                    : new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new Cli.Failure("cannot read " + file + ": " + e.getMessage(), Cli.FAILED);
        }
        for (String name : path.split("\\.")) {
            JsonNode next = node.isArray() && name.matches("[0-9]+") ? node.get(Integer.parseInt(name)) : node.get(name);
            if (next == null || next.isNull()) {
                throw new Cli.Failure(file + " has no field " + path, Cli.FAILED);
            }
            node = next;
        }
        spec.commandLine().getOut().println(node.isValueNode() ? node.asText() : node.toString());
        return 0;
    }
}
