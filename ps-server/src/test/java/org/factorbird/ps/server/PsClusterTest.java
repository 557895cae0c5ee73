package org.factorbird.ps.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.factorbird.ps.TableSpec;
import org.factorbird.ps.PsClient;
import org.factorbird.ps.PsClientConfig;
import org.factorbird.ps.PsException;
import org.factorbird.ps.PsStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The cluster launcher with real server processes on loopback; they are stopped even when a check fails. */
class PsClusterTest {

    @TempDir
    Path tmp;

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void startsTwoProcessesThatAnswerAndRefuseMismatchedClientsThenStopsThem() throws Exception {
        int p0 = freePort();
        int p1 = freePort();
        Path conf = Files.createDirectories(tmp.resolve("conf"));
        Path file = conf.resolve("ps-cluster.yaml");
        Files.writeString(file, String.join("\n",
                "# test cluster",
                "cluster-id: blue",
                "heap: 128m",
                "log-dir: " + tmp.resolve("logs"),
                "pid-dir: " + tmp.resolve("run"),
                "servers:",
                "  - host: 127.0.0.1",
                "    port: " + p1,
                "    shard: 1",
                "  - host: 127.0.0.1   # listed out of order on purpose",
                "    port: " + p0,
                "    shard: 0",
                ""));
        PsCluster cluster = new PsCluster(file);
        assertEquals("127.0.0.1:" + p0 + ",127.0.0.1:" + p1, cluster.addresses());
        try {
            cluster.start(System.getProperty("java.class.path"), 30_000);
            List<Long> pids = List.of(Long.parseLong(Files.readString(tmp.resolve("run/ps-0.pid")).strip()),
                    Long.parseLong(Files.readString(tmp.resolve("run/ps-1.pid")).strip()));
            assertTrue(pids.stream().allMatch(pid -> ProcessHandle.of(pid).isPresent()));
            PsStatus s1 = PsStatus.query("127.0.0.1:" + p1, 2000);
            assertEquals(1, s1.shardIndex);
            assertEquals(2, s1.shardCount);
            assertEquals("blue", s1.clusterId);
            assertEquals(0, cluster.status());

            TableSpec spec = TableSpec.single(3, 1, 7L, 1L, 0.1f);
            List<String> servers = List.of("127.0.0.1:" + p0, "127.0.0.1:" + p1);
            PsException wrongCluster = assertThrows(PsException.class,
                    () -> PsClient.connect(new PsClientConfig(servers, spec).clusterId("green")));
            assertTrue(wrongCluster.getMessage().contains("this server belongs to cluster 'blue', the client "
                    + "expects cluster 'green'"), wrongCluster.getMessage());
            PsException wrongCount = assertThrows(PsException.class,
                    () -> PsClient.connect(new PsClientConfig(List.of(servers.get(0)), spec)));
            assertTrue(wrongCount.getMessage().contains("this server is shard 0 of 2, the client expects shard 0 "
                    + "of 1"), wrongCount.getMessage());
            try (PsClient ok = PsClient.connect(new PsClientConfig(servers, spec).clusterId("blue"))) {
                float[] v = new float[6];
                ok.await(ok.push(new long[] {1, 2}, 2, new float[] {1, 0, 0, 2, 0, 0}));
                ok.await(ok.pull(new long[] {1, 2}, 2, v, false));
                assertEquals(1f, v[0]);
                assertEquals(2f, v[3]);
            }
            assertEquals(1, PsStatus.query("127.0.0.1:" + p0, 2000).storedKeys
                    + PsStatus.query("127.0.0.1:" + p1, 2000).storedKeys - 1);

            cluster.stop();
            for (long pid : pids) {
                assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "pid " + pid);
            }
            assertEquals(2, cluster.status());
            assertFalse(Files.exists(tmp.resolve("run/ps-0.pid")));
        } finally {
            cluster.stop();
        }
    }

    @Test
    void badClusterFilesNameTheLine() throws IOException {
        Path file = tmp.resolve("bad.yaml");
        Files.writeString(file, "servers:\n  - host: a\n    port: x\n    shard: 0\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new PsCluster(file));
        assertEquals(file + ":3: port must be an integer but was 'x'", e.getMessage());
        Files.writeString(file, "servers:\n  - host: a\n    port: 1\n    shard: 0\n  - host: b\n    port: 2\n"
                + "    shard: 0\n");
        e = assertThrows(IllegalArgumentException.class, () -> new PsCluster(file));
        assertEquals(file + ":5: shard 0 is listed twice", e.getMessage());
    }
}
