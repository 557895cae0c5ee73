package org.factorbird.ps.server;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.factorbird.ps.PsException;
import org.factorbird.ps.cli.Cli;
import org.factorbird.ps.PsStatus;

/**
 * The local side of a PS cluster described by {@code conf/ps-cluster.yaml} ({@link ClusterFile}): starts its
 * shards on this machine as separate processes, with a log and a pid file each, waits until each answers STATUS,
 * stops them, and reports their status. Servers listed on other hosts are not started here; their command line is
 * printed instead. The command line is {@link PsClusterCommand}.
 */
public final class PsCluster {

    final ClusterFile config;
    final Path file;
    final List<ClusterFile.Server> servers;
    /** When > 0, the servers exit once this process has gone (a test suite killed with -9 leaves nothing). */
    long ownerPid;

    PsCluster(Path file) throws IOException {
        this.config = new ClusterFile(file);
        this.file = file;
        this.servers = config.servers;
    }

    String setting(String key, String def) {
        return config.setting(key, def);
    }

    /** host:port of every shard in shard order: the value of a job's --ps. */
    String addresses() {
        StringBuilder sb = new StringBuilder();
        for (ClusterFile.Server s : servers) {
            sb.append(sb.length() == 0 ? "" : ",").append(s.address());
        }
        return sb.toString();
    }

    private Path dir(String key, String def) {
        Path p = Paths.get(setting(key, def));
        return p.isAbsolute() ? p : file.toAbsolutePath().getParent().getParent().resolve(p);
    }

    private Path pidFile(ClusterFile.Server s) {
        return dir("pid-dir", "run/ps").resolve("ps-" + s.shard + ".pid");
    }

    private static boolean isLocal(String host) {
        try {
            InetAddress a = InetAddress.getByName(host);
            return a.isLoopbackAddress() || a.isAnyLocalAddress() || java.net.NetworkInterface.getByInetAddress(a) != null;
        } catch (IOException e) {
            return false;
        }
    }

    private List<String> command(ClusterFile.Server s, String classpath) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx" + setting("heap", "1g"));
        String log4j = setting("log4j", "");
        if (!log4j.isEmpty()) {
            cmd.add("-Dlog4j.configurationFile=" + dir("log4j", log4j));
        }
        cmd.add("-Dfactorbird.ps.shard=" + s.shard);
        cmd.add("-cp");
        cmd.add(classpath);
        cmd.add(PsServer.class.getName());
        cmd.addAll(List.of("--shard", String.valueOf(s.shard), "--shards", String.valueOf(servers.size()),
                "--port", String.valueOf(s.port), "--bind", setting("bind", s.host),
                "--cluster-id", setting("cluster-id", ""), "--stats-interval", setting("stats-interval", "10"),
                "--max-runs", setting("max-runs", String.valueOf(PsServer.DEFAULT_MAX_RUNS)),
                "--run-linger", setting("run-linger", String.valueOf(PsServer.DEFAULT_RUN_LINGER_MS / 1000))));
        String secretFile = setting("auth-secret-file", "");
        if (!secretFile.isEmpty()) {
            cmd.addAll(List.of("--auth-secret-file", dir("auth-secret-file", secretFile).toString()));
        }
        String keyStore = setting("tls-keystore", "");
        if (!keyStore.isEmpty()) {
            cmd.addAll(List.of("--tls-keystore", dir("tls-keystore", keyStore).toString()));
            String pw = setting("tls-password-file", "");
            if (!pw.isEmpty()) {
                cmd.addAll(List.of("--tls-password-file", dir("tls-password-file", pw).toString()));
            }
        }
        if (ownerPid > 0) {
            cmd.addAll(List.of("--parent-pid", String.valueOf(ownerPid)));
        }
        String rank = setting("rank", "");
        if (!rank.isEmpty()) {
            cmd.addAll(List.of("--rank", rank));
        }
        String metrics = setting("metrics-port", "");
        if (!metrics.isEmpty()) {
            // shard s serves its metrics on the base port + s, so servers sharing a host do not collide
            int base;
            try {
                base = Integer.parseInt(metrics);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("metrics-port must be a port number but was '" + metrics + "'");
            }
            cmd.addAll(List.of("--metrics-port", String.valueOf(base + s.shard)));
        }
        return cmd;
    }

    private static Optional<ProcessHandle> running(Path pidFile) throws IOException {
        if (!Files.exists(pidFile)) {
            return Optional.empty();
        }
        long pid = Long.parseLong(Files.readString(pidFile).strip());
        return ProcessHandle.of(pid).filter(ProcessHandle::isAlive);
    }

    /** Starts every local server that is not running and waits until all answer. */
    void start(String classpath, long waitMs) throws IOException, InterruptedException {
        Path logs = dir("log-dir", "logs/ps");
        Files.createDirectories(logs);
        Files.createDirectories(pidFile(servers.get(0)).getParent());
        for (ClusterFile.Server s : servers) {
            if (!isLocal(s.host)) {
                System.out.println("shard " + s.shard + " runs on " + s.host + "; start it there with: "
                        + String.join(" ", command(s, "<classpath>")));
                continue;
            }
            if (running(pidFile(s)).isPresent()) {
                System.out.println("shard " + s.shard + " is already running");
                continue;
            }
            Path log = logs.resolve("ps-" + s.shard + ".log");
            Process p = new ProcessBuilder(command(s, classpath)).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            Files.writeString(pidFile(s), p.pid() + "\n");
            recordPid(p.pid());
            System.out.println("started shard " + s.shard + " on " + s.host + ":" + s.port + " (pid " + p.pid()
                    + ", log " + log + ")");
        }
        long deadline = System.currentTimeMillis() + waitMs;
        for (ClusterFile.Server s : servers) {
            String address = s.host + ":" + s.port;
            while (true) {
                try {
                    PsStatus st = PsStatus.query(address, 1000, statusTls());
                    if (st.shardIndex != s.shard || st.shardCount != servers.size()) {
                        throw new IllegalStateException(address + " answers as shard " + st.shardIndex + " of "
                                + st.shardCount + ", expected " + s.shard + " of " + servers.size());
                    }
                    System.out.println(st);
                    break;
                } catch (PsException e) {
                    Optional<ProcessHandle> proc = isLocal(s.host) ? running(pidFile(s)) : Optional.empty();
                    if (isLocal(s.host) && proc.isEmpty()) {
                        java.nio.file.Path log = logs.resolve("ps-" + s.shard + ".log");
                        throw new IllegalStateException("shard " + s.shard + " exited (" + lastLine(log) + "); see "
                                + log);
                    }
                    if (System.currentTimeMillis() > deadline) {
                        throw new IllegalStateException("shard " + s.shard + " at " + address
                                + " did not answer within " + waitMs + " ms: " + e.getMessage());
                    }
                    Thread.sleep(200);
                }
            }
        }
        System.out.println("parameter-server cluster '" + setting("cluster-id", "") + "' is up: --ps " + addresses());
    }

    /** Appends {@code pid} to $FACTORBIRD_PID_LOG when set: CI ends what a test suite left behind by pid. */
    private static void recordPid(long pid) throws IOException {
        String log = System.getenv("FACTORBIRD_PID_LOG");
        if (log != null && !log.isEmpty()) {
            Files.writeString(Paths.get(log), pid + "\n", java.nio.file.StandardOpenOption.CREATE,
                    java.nio.file.StandardOpenOption.APPEND);
        }
    }

    /** Stops every local server with a pid file: TERM, then KILL after 10 s. */
    void stop() throws IOException, InterruptedException {
        for (ClusterFile.Server s : servers) {
            Path pid = pidFile(s);
            Optional<ProcessHandle> p = running(pid);
            if (p.isPresent()) {
                p.get().destroy();
                try {
                    p.get().onExit().get(10, TimeUnit.SECONDS);
                } catch (Exception e) {
                    p.get().destroyForcibly();
                }
                System.out.println("stopped shard " + s.shard + " (pid " + p.get().pid() + ")");
            } else if (isLocal(s.host)) {
                System.out.println("shard " + s.shard + " is not running");
            }
            Files.deleteIfExists(pid);
        }
    }

    /** TLS for the health checks when the servers serve TLS: their own key store pins their certificate. */
    private javax.net.ssl.SSLContext statusTls() {
        String keyStore = setting("tls-keystore", "");
        if (keyStore.isEmpty()) {
            return null;
        }
        String pw = setting("tls-password-file", "");
        return org.factorbird.ps.protocol.Tls.jdkClient(dir("tls-keystore", keyStore),
                pw.isEmpty() ? new char[0] : org.factorbird.ps.protocol.Tls.readPassword(dir("tls-password-file", pw)));
    }

    /** Prints every server's status; returns the number that did not answer. */
    int status() {
        int down = 0;
        for (ClusterFile.Server s : servers) {
            try {
                System.out.println(PsStatus.query(s.host + ":" + s.port, 2000, statusTls()));
            } catch (PsException e) {
                System.out.println("shard " + s.shard + "/" + servers.size() + " at " + s.host + ":" + s.port
                        + ": down (" + e.getMessage() + ")");
                down++;
            }
        }
        return down;
    }

    /** {@code ps-cluster start|stop|status [--config FILE]}: see {@link PsClusterCommand}. */
    public static void main(String[] args) {
        Cli.exit(new PsClusterCommand(), args);
    }

    /** The last non-blank line of {@code log} (what a server that exited last said), or why there is none. */
    static String lastLine(java.nio.file.Path log) {
        try {
            java.util.List<String> lines = java.nio.file.Files.readAllLines(log);
            for (int i = lines.size() - 1; i >= 0; i--) {
                if (!lines.get(i).isBlank()) {
                    String l = lines.get(i).strip();
                    return l.length() > 200 ? l.substring(0, 200) + "..." : l;
                }
            }
            return "its log is empty";
        } catch (java.io.IOException e) {
            return "no log: " + e.getMessage();
        }
    }
}
