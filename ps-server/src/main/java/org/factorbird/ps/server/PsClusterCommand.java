package org.factorbird.ps.server;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import org.factorbird.ps.cli.Cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.ScopeType;

/** {@code ps-cluster start|stop|status}: runs the local shards of the cluster in {@code --config}. */
@Command(name = "ps-cluster", showDefaultValues = true,
        description = "Starts, stops or checks the parameter-server cluster described by a cluster file.",
        subcommands = {PsClusterCommand.Start.class, PsClusterCommand.Stop.class, PsClusterCommand.Status.class})
final class PsClusterCommand implements Callable<Integer> {

    @Mixin
    Cli.Help help;

    @Option(names = "--config", paramLabel = "FILE", defaultValue = "conf/ps-cluster.yaml",
            scope = ScopeType.INHERIT, description = "The cluster file.")
    Path config;

    @Override
    public Integer call() {
        throw new Cli.Failure("missing command: start, stop or status (see --help)", Cli.USAGE);
    }

    PsCluster cluster() {
        try {
            return new PsCluster(config);
        } catch (IOException | IllegalArgumentException e) {
            throw new Cli.Failure(e instanceof IOException ? "cannot read " + config + ": " + e : e.getMessage(),
                    Cli.FAILED);
        }
    }

    @Command(name = "start", showDefaultValues = true,
            description = "Starts every server of this machine that is not running and waits until all answer.")
    static final class Start implements Callable<Integer> {
        @Mixin
        Cli.Help help;


        @ParentCommand
        PsClusterCommand parent;

        @Option(names = "--wait-ms", paramLabel = "MS", defaultValue = "30000",
                description = "How long to wait for every server to answer.")
        long waitMs;

        @Option(names = "--owner-pid", paramLabel = "PID", description = "The servers exit when this process has "
                + "gone (test suites).")
        long ownerPid;

        @Override
        public Integer call() throws IOException, InterruptedException {
            PsCluster cluster = parent.cluster();
            cluster.ownerPid = ownerPid;
            try {
                cluster.start(System.getProperty("java.class.path"), waitMs);
            } catch (IllegalStateException e) {
                throw new Cli.Failure(e.getMessage(), Cli.FAILED);
            }
            return 0;
        }
    }

    @Command(name = "stop",
            description = "Stops every server of this machine that has a pid file (TERM, then KILL after 10 s).")
    static final class Stop implements Callable<Integer> {
        @Mixin
        Cli.Help help;


        @ParentCommand
        PsClusterCommand parent;

        @Override
        public Integer call() throws IOException, InterruptedException {
            parent.cluster().stop();
            return 0;
        }
    }

    @Command(name = "status",
            description = "Prints every server's status; exit code 3 when any is down.")
    static final class Status implements Callable<Integer> {
        @Mixin
        Cli.Help help;


        @ParentCommand
        PsClusterCommand parent;

        @Override
        public Integer call() {
            return parent.cluster().status() == 0 ? 0 : 3;
        }
    }
}
