package org.factorbird.ps.server;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

/**
 * {@code conf/ps-cluster.yaml}: the settings of a PS cluster and its servers, read with SnakeYAML. Every error
 * names the file, the line and the key: {@code conf/ps-cluster.yaml:12: port must be an integer but was 'x'}.
 *
 * <pre>
 * cluster-id: local-demo        # settings: see {@link #SETTINGS} and the comments in conf/ps-cluster.yaml
 * servers:                      # one item per shard, in any order
 *   - host: 127.0.0.1
 *     port: 7070
 *     shard: 0
 * </pre>
 */
final class ClusterFile {

    /** The top-level settings a cluster file may hold (besides {@code servers}). */
    static final Set<String> SETTINGS = Set.of("cluster-id", "bind", "rank", "heap", "stats-interval", "log-dir",
            "pid-dir", "auth-secret-file", "tls-keystore", "tls-password-file", "log4j", "metrics-port", "max-runs",
            "run-linger");

    /** One server of the file. */
    static final class Server {
        final String host;
        final int port;
        final int shard;
        final int line;

        Server(String host, int port, int shard, int line) {
            this.host = host;
            this.port = port;
            this.shard = shard;
            this.line = line;
        }

        String address() {
            return host + ":" + port;
        }
    }

    final Path file;
    final Map<String, String> settings = new LinkedHashMap<>();
    /** In shard order. */
    final List<Server> servers = new ArrayList<>();

    ClusterFile(Path file) throws IOException {
        this.file = file;
        Node root;
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            root = new Yaml(new LoaderOptions()).compose(in);
        } catch (MarkedYAMLException e) {
            int line = e.getProblemMark() == null ? 0 : e.getProblemMark().getLine() + 1;
            throw new IllegalArgumentException(file + ":" + line + ": not valid YAML: " + e.getProblem());
        } catch (YAMLException e) {
            throw new IllegalArgumentException(file + ": not valid YAML: " + e.getMessage());
        }
        if (!(root instanceof MappingNode)) {
            throw error(root, "expected 'key: value' settings and a 'servers:' list");
        }
        for (NodeTuple t : ((MappingNode) root).getValue()) {
            String key = scalar(t.getKeyNode(), "a key");
            if (key.equals("servers")) {
                readServers(t.getValueNode());
            } else if (SETTINGS.contains(key)) {
                settings.put(key, scalar(t.getValueNode(), key));
            } else {
                throw error(t.getKeyNode(), "unknown setting '" + key + "' (servers, " + String.join(", ",
                        new TreeSet<>(SETTINGS)) + ")");
            }
        }
        validate();
    }

    private void readServers(Node node) {
        if (!(node instanceof SequenceNode)) {
            throw error(node, "'servers' must be a list of '- host: H / port: P / shard: I' items");
        }
        for (Node item : ((SequenceNode) node).getValue()) {
            if (!(item instanceof MappingNode)) {
                throw error(item, "a server item needs host, port and shard");
            }
            String host = null;
            int port = -1;
            int shard = -1;
            for (NodeTuple t : ((MappingNode) item).getValue()) {
                String key = scalar(t.getKeyNode(), "a key");
                switch (key) {
                    case "host": host = scalar(t.getValueNode(), key); break;
                    case "port": port = integer(t.getValueNode(), key); break;
                    case "shard": shard = integer(t.getValueNode(), key); break;
                    default: throw error(t.getKeyNode(), "unknown server key '" + key + "' (host, port, shard)");
                }
            }
            servers.add(new Server(host, port, shard, line(item)));
        }
    }

    private void validate() {
        if (servers.isEmpty()) {
            throw new IllegalArgumentException(file + ": no servers listed");
        }
        boolean[] seen = new boolean[servers.size()];
        for (Server s : servers) {
            if (s.host == null || s.port < 1 || s.port > 65535 || s.shard < 0) {
                throw lineError(s.line, "a server needs host, port (1-65535) and shard (>= 0)");
            }
            if (s.shard >= servers.size()) {
                throw lineError(s.line, "shard " + s.shard + " but the cluster has " + servers.size() + " servers");
            }
            if (seen[s.shard]) {
                throw lineError(s.line, "shard " + s.shard + " is listed twice");
            }
            seen[s.shard] = true;
        }
        servers.sort((a, b) -> Integer.compare(a.shard, b.shard));
    }

    String setting(String key, String def) {
        return settings.getOrDefault(key, def);
    }

    private String scalar(Node node, String key) {
        if (!(node instanceof ScalarNode)) {
            throw error(node, key + " must be a single value");
        }
        return ((ScalarNode) node).getValue().strip();
    }

    private int integer(Node node, String key) {
        String v = scalar(node, key);
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw error(node, key + " must be an integer but was '" + v + "'");
        }
    }

    private static int line(Node node) {
        return node.getStartMark() == null ? 0 : node.getStartMark().getLine() + 1;
    }

    private IllegalArgumentException error(Node node, String message) {
        return lineError(node == null ? 0 : line(node), message);
    }

    private IllegalArgumentException lineError(int line, String message) {
        return new IllegalArgumentException(file + ":" + line + ": " + message);
    }
}
