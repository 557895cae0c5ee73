package org.factorbird.ps.server;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.factorbird.ps.PsException;
import org.factorbird.ps.PsStatus;

/**
 * {@code ps-cluster start|stop|status --config conf/ps-cluster.yaml}: runs the shards of a PS cluster on this
 * machine as separate processes, with a log and a pid file each, and waits until each answers STATUS.
 * Servers listed on other hosts are not started here; their command line is printed instead.
 *
 * <p>The file is a small YAML subset: top-level {@code key: value} lines and a {@code servers:} list of
 * {@code - host: H / port: P / shard: I} items (see conf/ps-cluster.yaml).
 */
public final class PsCluster {

    /** One server of the cluster file. */
    static final class Server {
        String host;
        int port = -1;
        int shard = -1;
        int line;
    }

    final Path file;
    final Map<String, String> settings = new LinkedHashMap<>();
    final List<Server> servers = new ArrayList<>();
    /** When > 0, the servers exit once this process has gone (a test suite killed with -9 leaves nothing). */
    long ownerPid;

    PsCluster(Path file) throws IOException {
        this.file = file;
        parse(Files.readAllLines(file, StandardCharsets.UTF_8));
        validate();
    }

    private IllegalArgumentException error(int line, String message) {
        return new IllegalArgumentException(file + ":" + line + ": " + message);
    }

    private void parse(List<String> lines) {
        Server current = null;
        boolean inServers = false;
        for (int i = 0; i < lines.size(); i++) {
            int n = i + 1;
            String raw = lines.get(i);
            int hash = raw.indexOf('#');
            String line = (hash >= 0 ? raw.substring(0, hash) : raw).stripTrailing();
            if (line.isBlank()) {
                continue;
            }
            boolean indented = Character.isWhitespace(line.charAt(0));
            String t = line.strip();
            if (!indented) {
                inServers = false;
                current = null;
            }
            if (t.startsWith("- ")) {
                if (!inServers) {
                    throw error(n, "a list item outside 'servers:'");
                }
                current = new Server();
                current.line = n;
                servers.add(current);
                t = t.substring(2).strip();
            }
            int colon = t.indexOf(':');
            if (colon <= 0) {
                throw error(n, "expected 'key: value' but found '" + t + "'");
            }
            String key = t.substring(0, colon).strip();
            String value = t.substring(colon + 1).strip();
            if (value.length() >= 2 && (value.startsWith("\"") && value.endsWith("\"")
                    || value.startsWith("'") && value.endsWith("'"))) {
                value = value.substring(1, value.length() - 1);
            }
            if (!indented) {
                if (key.equals("servers")) {
                    inServers = true;
                } else {
                    settings.put(key, value);
                }
                continue;
            }
            if (current == null) {
                throw error(n, "'" + key + "' outside a server item");
            }
            switch (key) {
                case "host": current.host = value; break;
                case "port": current.port = intValue(n, key, value); break;
                case "shard": current.shard = intValue(n, key, value); break;
                default: throw error(n, "unknown server key '" + key + "' (host, port, shard)");
            }
        }
    }

    private int intValue(int line, String key, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw error(line, key + " must be an integer but was '" + value + "'");
        }
    }

    private void validate() {
        if (servers.isEmpty()) {
            throw new IllegalArgumentException(file + ": no servers listed");
        }
        boolean[] seen = new boolean[servers.size()];
        for (Server s : servers) {
            if (s.host == null || s.port < 1 || s.port > 65535 || s.shard < 0) {
                throw error(s.line, "a server needs host, port (1-65535) and shard (>= 0)");
            }
            if (s.shard >= servers.size()) {
                throw error(s.line, "shard " + s.shard + " but the cluster has " + servers.size() + " servers");
            }
            if (seen[s.shard]) {
                throw error(s.line, "shard " + s.shard + " is listed twice");
            }
            seen[s.shard] = true;
        }
        servers.sort((a, b) -> Integer.compare(a.shard, b.shard));
    }

    String setting(String key, String def) {
        return settings.getOrDefault(key, def);
    }

    /** host:port of every shard in shard order: the value of a job's --ps. */
    String addresses() {
        StringBuilder sb = new StringBuilder();
        for (Server s : servers) {
            sb.append(sb.length() == 0 ? "" : ",").append(s.host).append(':').append(s.port);
        }
        return sb.toString();
    }

    private Path dir(String key, String def) {
        Path p = Paths.get(setting(key, def));
        return p.isAbsolute() ? p : file.toAbsolutePath().getParent().getParent().resolve(p);
    }

    private Path pidFile(Server s) {
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

    private List<String> command(Server s, String classpath) {
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
                "--cluster-id", setting("cluster-id", ""), "--stats-interval", setting("stats-interval", "10")));
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
        for (Server s : servers) {
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
            System.out.println("started shard " + s.shard + " on " + s.host + ":" + s.port + " (pid " + p.pid()
                    + ", log " + log + ")");
        }
        long deadline = System.currentTimeMillis() + waitMs;
        for (Server s : servers) {
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
                        throw new IllegalStateException("shard " + s.shard + " exited; see "
                                + logs.resolve("ps-" + s.shard + ".log"));
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

    /** Stops every local server with a pid file: TERM, then KILL after 10 s. */
    void stop() throws IOException, InterruptedException {
        for (Server s : servers) {
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
        for (Server s : servers) {
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

    public static void main(String[] args) {
        String usage = "usage: ps-cluster start|stop|status [--config conf/ps-cluster.yaml] [--wait-ms MS] "
                + "[--owner-pid PID]";
        if (args.length == 0 || args[0].equals("--help")) {
            System.out.println(usage);
            return;
        }
        String config = "conf/ps-cluster.yaml";
        long waitMs = 30_000;
        long owner = 0;
        for (int i = 1; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--config": config = args[i + 1]; break;
                case "--wait-ms": waitMs = Long.parseLong(args[i + 1]); break;
                case "--owner-pid": owner = Long.parseLong(args[i + 1]); break;
                default:
                    System.err.println("ps-cluster: unknown option " + args[i] + "\n" + usage);
                    System.exit(2);
            }
        }
        try {
            PsCluster cluster = new PsCluster(Paths.get(config));
            cluster.ownerPid = owner;
            switch (args[0]) {
                case "start":
                    cluster.start(System.getProperty("java.class.path"), waitMs);
                    break;
                case "stop":
                    cluster.stop();
                    break;
                case "status":
                    System.exit(cluster.status() == 0 ? 0 : 3);
                    break;
                default:
                    System.err.println("ps-cluster: unknown command " + args[0] + "\n" + usage);
                    System.exit(2);
            }
        } catch (IllegalArgumentException | IllegalStateException | IOException e) {
            System.err.println("ps-cluster: error: " + e.getMessage());
            System.exit(1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            System.exit(1);
        }
    }
}
