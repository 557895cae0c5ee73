package org.factorbird.ps.server;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import org.factorbird.ps.cli.Cli;
import org.factorbird.ps.protocol.Auth;
import org.factorbird.ps.protocol.Protocol;
import org.factorbird.ps.protocol.Tls;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code ps-server}: one parameter-server shard as its own process, serving until it is stopped (SIGTERM) or, with
 * {@code --parent-pid}, until that process has gone. {@code scripts/ps-cluster.sh} starts these from
 * {@code conf/ps-cluster.yaml}.
 */
@Command(name = "ps-server", sortOptions = false, showDefaultValues = true,
        description = "Runs one shard of a Factorbird parameter-server cluster.")
final class PsServerCommand implements Callable<Integer> {

    @Mixin
    Cli.Help help;

    @Option(names = "--shard", required = true, showDefaultValue = CommandLine.Help.Visibility.NEVER, paramLabel = "I", description = "This server's shard index, 0 <= I < N.")
    int shard;

    @Option(names = "--shards", required = true, showDefaultValue = CommandLine.Help.Visibility.NEVER, paramLabel = "N", description = "Number of shards in the cluster.")
    int shards;

    @Option(names = "--port", paramLabel = "P", defaultValue = "7070", description = "TCP port; 0 picks a free one.")
    int port;

    @Option(names = "--bind", paramLabel = "HOST", defaultValue = "127.0.0.1",
            description = "Address to listen on (the default is loopback only).")
    String bind;

    @Option(names = "--rank", paramLabel = "K", description = "Accept only single-model runs of rank K "
            + "(default: any; omit for grids).")
    Integer rank;

    @Option(names = "--cluster-id", paramLabel = "NAME", defaultValue = "",
            description = "Refuse clients that expect another cluster (empty: accept any).")
    String clusterId;

    @Option(names = "--stats-interval", paramLabel = "S", defaultValue = "10",
            description = "Log request, key and byte rates every S seconds; 0: off.")
    int statsInterval;

    @Option(names = "--parent-pid", paramLabel = "PID", description = "Exit when process PID has exited "
            + "(scripts/ps-cluster.sh sets it for test suites).")
    Long parentPid;

    @Option(names = "--auth-secret-file", paramLabel = "FILE",
            description = "Clients must prove this shared secret (HMAC challenge-response) first.")
    Path secretFile;

    @Option(names = "--tls-keystore", paramLabel = "P12",
            description = "Serve TLS with the key in this PKCS12 store (password: --tls-password-file).")
    Path keyStore;

    @Option(names = "--tls-password-file", paramLabel = "FILE", description = "File holding the key store's password.")
    Path passwordFile;

    @Option(names = "--max-frame-bytes", paramLabel = "B", defaultValue = "" + Protocol.DEFAULT_MAX_FRAME_BYTES,
            description = "Largest request or reply frame.")
    int maxFrameBytes;

    @Option(names = "--metrics-port", paramLabel = "P", defaultValue = "-1", description = "Serve the server's "
            + "counters (requests, keys, bytes, table size, connections, refusals) in Prometheus text format on "
            + "http://BIND:P/metrics; 0 picks a free port, -1 serves none.")
    int metricsPort;

    @Option(names = "--max-runs", paramLabel = "N", defaultValue = "" + PsServer.DEFAULT_MAX_RUNS,
            description = "Runs (concurrent jobs' tables) held at once at most, up to " + PsServer.MAX_RUNS_LIMIT
                    + "; one more job is refused with a line naming the runs held, until one ends (a run that "
                    + "lingers after its job, see --run-linger, gives way at once).")
    int maxRuns;

    @Option(names = "--run-linger", paramLabel = "S", defaultValue = "" + PsServer.DEFAULT_RUN_LINGER_MS / 1000,
            description = "Seconds a run is kept after its last client disconnected (its job ended or failed); "
                    + "then its table is freed.")
    double runLinger;

    @Override
    public Integer call() throws InterruptedException {
        PsServer server;
        try {
            if (rank != null && rank < 1) {
                throw new IllegalArgumentException("--rank must be >= 1 but was " + rank);
            }
            if (maxRuns < 1 || maxRuns > PsServer.MAX_RUNS_LIMIT) {
                throw new IllegalArgumentException("--max-runs must be in [1, " + PsServer.MAX_RUNS_LIMIT
                        + "] but was " + maxRuns);
            }
            if (!(runLinger >= 0)) {
                throw new IllegalArgumentException("--run-linger must be >= 0 seconds but was " + runLinger);
            }
            server = PsServer.builder().bind(bind).port(port).shard(shard, shards)
                    .requiredDim(rank == null ? 0 : rank + 1).maxFrameBytes(maxFrameBytes).clusterId(clusterId)
                    .statsIntervalSeconds(statsInterval).metricsPort(metricsPort).maxRuns(maxRuns)
                    .runLingerMillis(Math.round(runLinger * 1000))
                    .secret(secretFile == null ? null : Auth.readSecret(secretFile))
                    .tls(keyStore == null ? null : Tls.server(keyStore,
                            passwordFile == null ? new char[0] : Tls.readPassword(passwordFile)))
                    .start();
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new Cli.Failure(e.getMessage(), Cli.USAGE);
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }, "ps-server-shutdown"));
        System.out.println("ps-server shard " + shard + "/" + shards + " listening on " + server.address()
                + (server.metricsPort() < 0 ? "" : "; metrics on http://" + bind + ":" + server.metricsPort()
                        + "/metrics"));
        if (parentPid != null && parentPid > 0) {
            watchOwner(parentPid);
        }
        stopped.await();
        return 0;
    }

    /** Exits once process {@code owner} has gone: a test suite killed with -9 leaves no server behind. */
    private static void watchOwner(long owner) {
        Thread watch = new Thread(() -> {
            while (ProcessHandle.of(owner).map(ProcessHandle::isAlive).orElse(false)) {
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException e) {
                    return;
                }
            }
            System.out.println("ps-server: owner process " + owner + " has exited; stopping");
            System.exit(0);
        }, "ps-server-owner-watch");
        watch.setDaemon(true);
        watch.start();
    }
}
