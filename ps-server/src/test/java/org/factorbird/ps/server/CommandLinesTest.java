package org.factorbird.ps.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.factorbird.ps.cli.Cli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The servers' command lines: --help, one-line usage errors with exit code 2, suggestions, defaults. */
class CommandLinesTest {

    @TempDir
    Path tmp;

    /** Exit code, stdout and stderr of one invocation. */
    private record Run(int code, String out, String err) {}

    private static Run run(Object command, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Cli.create(command, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)).execute(args);
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void psServerAnswersHelpWithEachDefaultOnceAndRefusesUnknownOptions() {
        Run help = run(new PsServerCommand(), "--help");
        assertEquals(0, help.code());
        assertTrue(help.out().contains("--stats-interval=S"), help.out());
        assertTrue(help.out().replaceAll("\\s+", " ").contains("Log request, key and byte rates every S seconds; "
                + "0: off. Default: 10"), help.out());
        Run bad = run(new PsServerCommand(), "--shard", "0", "--shards", "1", "--prot", "7");
        assertEquals(2, bad.code());
        assertEquals("ps-server: error: Unknown options: '--prot', '7'; did you mean --port? (see --help)\n",
                bad.err());
        Run missing = run(new PsServerCommand(), "--shard", "0");
        assertEquals(2, missing.code());
        assertEquals("ps-server: error: Missing required option: '--shards=N' (see --help)\n", missing.err());
        Run rank = run(new PsServerCommand(), "--shard", "0", "--shards", "1", "--rank", "0", "--port", "0");
        assertEquals(2, rank.code());
        assertEquals("ps-server: error: --rank must be >= 1 but was 0\n", rank.err());
    }

    @Test
    void psClusterAnswersHelpOnEveryCommandAndNamesTheFileLineAndKey() throws Exception {
        for (String[] args : new String[][] {{"--help"}, {"start", "--help"}, {"stop", "--help"},
                {"status", "--help"}}) {
            Run help = run(new PsClusterCommand(), args);
            assertEquals(0, help.code(), String.join(" ", args));
            assertTrue(help.out().startsWith("Usage: ps-cluster"), help.out());
        }
        Run bad = run(new PsClusterCommand(), "start", "--wait-sm", "5");
        assertEquals(2, bad.code());
        assertEquals("ps-cluster: error: Unknown options: '--wait-sm', '5'; did you mean --wait-ms? (see --help)\n",
                bad.err());
        Path file = tmp.resolve("c.yaml");
        Files.writeString(file, "cluster-id: x\nstats-intreval: 5\nservers:\n  - host: a\n    port: 1\n    shard: 0\n");
        Run typo = run(new PsClusterCommand(), "status", "--config", file.toString());
        assertEquals(1, typo.code());
        assertEquals("ps-cluster: error: " + file + ":2: unknown setting 'stats-intreval' (servers, auth-secret-file, "
                + "bind, cluster-id, heap, log-dir, log4j, max-runs, metrics-port, pid-dir, rank, run-linger, "
                + "stats-interval, tls-keystore, tls-password-file)\n", typo.err());
    }

    @Test
    void clusterFileKeepsHashesInsideQuotedValuesAndReportsYamlErrorsWithTheirLine() throws Exception {
        Path file = tmp.resolve("q.yaml");
        Files.writeString(file, "cluster-id: \"blue#1\"   # a comment\nheap: '2g'\nservers:\n  - host: h\n"
                + "    port: 7070\n    shard: 0\n");
        ClusterFile f = new ClusterFile(file);
        assertEquals("blue#1", f.setting("cluster-id", ""));
        assertEquals("2g", f.setting("heap", ""));
        assertEquals("h:7070", f.servers.get(0).address());
        Files.writeString(file, "cluster-id: x\nservers:\n  - host: h\n   port: [1\n");
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new ClusterFile(file));
        assertTrue(e.getMessage().startsWith(file + ":4: not valid YAML: "), e.getMessage());
    }
}
