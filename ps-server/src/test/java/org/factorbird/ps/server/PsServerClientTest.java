package org.factorbird.ps.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import org.factorbird.ps.Hashing;
import org.factorbird.ps.Ranges;
import org.factorbird.ps.TableSpec;
import org.factorbird.ps.PsClient;
import org.factorbird.ps.PsClientConfig;
import org.factorbird.ps.PsException;
import org.factorbird.ps.protocol.Protocol;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Real servers on loopback, real clients: pull, push, aggregate, scan, and refusals. */
class PsServerClientTest {

    private static final TableSpec SPEC = TableSpec.single(3, 1, 0xABCL, 5L, 0.1f);

    private final List<PsServer> servers = new ArrayList<>();
    private final List<PsClient> clients = new ArrayList<>();

    @BeforeEach
    void startServers() {
        servers.add(PsServer.startLocal(0, 2));
        servers.add(PsServer.startLocal(1, 2));
    }

    @AfterEach
    void stopAll() {
        clients.forEach(PsClient::close);
        servers.forEach(PsServer::close);
    }

    private List<String> addresses() {
        List<String> out = new ArrayList<>();
        servers.forEach(s -> out.add(s.address()));
        return out;
    }

    private PsClient client(PsClientConfig config) {
        PsClient c = PsClient.connect(config);
        clients.add(c);
        return c;
    }

    private PsClient client() {
        return client(new PsClientConfig(addresses(), SPEC));
    }

    @Test
    void pullCreatesDeterministicValuesAndPushAddsDeltas() {
        PsClient c = client();
        long[] keys = {1, 2, 3, 1000, 77777};
        float[] values = new float[keys.length * 3];
        c.await(c.pull(keys, keys.length, values, false));
        float[] expect = new float[3];
        for (int i = 0; i < keys.length; i++) {
            SPEC.init(keys[i], expect, 0);
            assertArrayEquals(expect, Arrays.copyOfRange(values, 3 * i, 3 * i + 3), "key " + keys[i]);
        }
        assertEquals(keys.length, servers.get(0).storedKeys() + servers.get(1).storedKeys());

        float[] deltas = new float[keys.length * 3];
        for (int i = 0; i < deltas.length; i++) {
            deltas[i] = 0.25f * (i + 1);
        }
        c.await(c.push(keys, keys.length, deltas));
        float[] after = new float[keys.length * 3];
        c.await(c.pull(keys, keys.length, after, false));
        for (int i = 0; i < after.length; i++) {
            assertEquals(values[i] + deltas[i], after[i], 0f, "slot " + i);
        }
        for (int i = 0; i < keys.length; i++) {
            PsServer owner = servers.get(Hashing.shardOf(keys[i], 2));
            assertArrayEquals(Arrays.copyOfRange(after, 3 * i, 3 * i + 3), owner.valuesOf(keys[i]));
            assertNull(servers.get(1 - Hashing.shardOf(keys[i], 2)).valuesOf(keys[i]));
        }
    }

    @Test
    void rangesPullAndPushOnlyTheirFloatsAndCostOnlyTheirBytes() {
        PsClient c = client();
        long[] keys = {1, 2, 3, 4, 5, 6};
        float[] full = new float[keys.length * 3];
        c.await(c.pull(keys, keys.length, full, false));
        Ranges ends = Ranges.of(new int[] {0, 2}, new int[] {1, 1}); // floats 0 and 2 of 3
        float[] part = new float[keys.length * 2];
        long before = received(c);
        c.await(c.pull(keys, keys.length, part, false, ends));
        long partBytes = received(c) - before;
        for (int i = 0; i < keys.length; i++) {
            assertEquals(full[3 * i], part[2 * i], 0f);
            assertEquals(full[3 * i + 2], part[2 * i + 1], 0f);
        }
        float[] deltas = new float[keys.length * 2];
        Arrays.fill(deltas, 1f);
        c.await(c.push(keys, keys.length, deltas, ends));
        float[] after = new float[keys.length * 3];
        before = received(c);
        c.await(c.pull(keys, keys.length, after, false));
        long fullBytes = received(c) - before;
        for (int i = 0; i < keys.length; i++) {
            assertEquals(full[3 * i] + 1f, after[3 * i], 0f);
            assertEquals(full[3 * i + 1], after[3 * i + 1], 0f, "the float outside the ranges is untouched");
            assertEquals(full[3 * i + 2] + 1f, after[3 * i + 2], 0f);
        }
        // each reply frame: 4 length + 12 header + 8 counts + 4 B per float; 6 keys over 2 shards
        int frames = 2;
        assertEquals(frames * 24 + 4 * 6 * 3, fullBytes);
        assertEquals(frames * 24 + 4 * 6 * 2, partBytes);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> c.push(keys, 1, deltas,
                Ranges.of(new int[] {2}, new int[] {2})));
        assertTrue(e.getMessage().contains("ranges [2,4) must lie within the 3 floats per key"), e.getMessage());
    }

    private static long received(PsClient c) {
        long sum = 0;
        for (long[] t : c.traffic()) {
            sum += t[2];
        }
        return sum;
    }

    @Test
    void setOverwritesExistingAndCreatesMissingKeys() {
        PsClient c = client();
        c.await(c.push(new long[] {1}, 1, new float[] {5f, 5f, 5f}));
        c.await(c.set(new long[] {1, 2}, 2, new float[] {0.5f, -1f, 2f, 3f, 4f, 5f}));
        float[] v = new float[6];
        c.await(c.pull(new long[] {1, 2}, 2, v, true));
        assertArrayEquals(new float[] {0.5f, -1f, 2f, 3f, 4f, 5f}, v);
    }

    @Test
    void readOnlyPullOfUnknownKeysReadsZerosAndCreatesNothing() {
        PsClient c = client();
        float[] v = new float[6];
        Arrays.fill(v, 9f);
        c.await(c.pull(new long[] {11, 12}, 2, v, true));
        assertArrayEquals(new float[6], v);
        assertEquals(0, servers.get(0).storedKeys() + servers.get(1).storedKeys());
    }

    @Test
    void requestsLargerThanAFrameAreSplitAndBackpressureBlocksWithoutDeadlock() {
        for (PsServer s : servers) {
            s.close();
        }
        servers.clear();
        servers.add(PsServer.start("127.0.0.1", 0, 0, 2, 0, 1024));
        servers.add(PsServer.start("127.0.0.1", 0, 1, 2, 0, 1024));
        PsClient c = client(new PsClientConfig(addresses(), SPEC).maxFrameBytes(1024).maxInFlight(1));
        int n = 5000; // about 50 frames per shard at 1 KiB
        long[] keys = new long[n];
        float[] deltas = new float[n * 3];
        for (int i = 0; i < n; i++) {
            keys[i] = i * 31L;
            deltas[3 * i] = i;
        }
        CompletableFuture<Void> push = c.push(keys, n, deltas);
        float[] values = new float[n * 3];
        c.await(c.pull(keys, n, values, false));
        c.await(push);
        for (int i = 0; i < n; i++) {
            assertEquals(i, values[3 * i], 0f); // bias started at 0; the push went first on each connection
        }
    }

    @Test
    void aggregateCombinesEveryPartyAndActsAsBarrier() throws Exception {
        PsClient a = client();
        PsClient b = client();
        PsClient c = client();
        byte[] ops = {Protocol.AGG_SUM, Protocol.AGG_MIN, Protocol.AGG_MAX};
        CompletableFuture<double[]> ra = a.aggregate(1, 3, ops, new double[] {1, 5, 5});
        CompletableFuture<double[]> rb = b.aggregate(1, 3, ops, new double[] {2, -1, 7});
        Thread.sleep(100);
        assertTrue(!ra.isDone() && !rb.isDone(), "two of three parties must not pass the barrier");
        double[] rc = c.await(c.aggregate(1, 3, ops, new double[] {4, 3, 6}));
        assertArrayEquals(new double[] {7, -1, 7}, rc);
        assertArrayEquals(rc, a.await(ra));
        assertArrayEquals(rc, b.await(rb));
    }

    @Test
    void scanListsEveryKeyOnceAcrossSlices() {
        PsClient c = client();
        int n = 3000;
        long[] keys = new long[n];
        for (int i = 0; i < n; i++) {
            keys[i] = i * 1_000_003L;
        }
        c.await(c.push(keys, n, new float[n * 3]));
        Set<Long> seen = new HashSet<>();
        int slices = 3;
        for (int slice = 0; slice < slices; slice++) {
            for (int shard = 0; shard < 2; shard++) {
                long cursor = 0;
                while (cursor >= 0) {
                    PsClient.ScanPage page = c.await(c.scan(shard, slice, slices, cursor, 100));
                    for (int i = 0; i < page.count; i++) {
                        assertEquals(slice, Hashing.sliceOf(page.keys[i], slices));
                        assertTrue(seen.add(page.keys[i]), "key listed twice: " + page.keys[i]);
                        float[] expect = new float[3];
                        SPEC.init(page.keys[i], expect, 0);
                        assertArrayEquals(expect, Arrays.copyOfRange(page.values, 3 * i, 3 * i + 3));
                    }
                    cursor = page.nextCursor;
                }
            }
        }
        assertEquals(n, seen.size());
    }

    @Test
    void serversInTheWrongOrderAreRefusedAtConnect() {
        List<String> swapped = List.of(servers.get(1).address(), servers.get(0).address());
        PsException e = assertThrows(PsException.class, () -> client(new PsClientConfig(swapped, SPEC)));
        assertTrue(e.getMessage().contains("this server is shard 1 of 2, the client expects shard 0 of 2"),
                e.getMessage());
    }

    @Test
    void unreachableServerGivesOneClearError() throws Exception {
        int freePort;
        try (ServerSocket s = new ServerSocket(0)) {
            freePort = s.getLocalPort();
        }
        PsException e = assertThrows(PsException.class,
                () -> client(new PsClientConfig(List.of("127.0.0.1:" + freePort), SPEC)));
        assertTrue(e.getMessage().startsWith("cannot reach parameter server shard 0 at 127.0.0.1:" + freePort),
                e.getMessage());
    }

    @Test
    void requiredRankIsEnforced() {
        servers.forEach(PsServer::close);
        servers.clear();
        servers.add(PsServer.start("127.0.0.1", 0, 0, 1, 11, Protocol.DEFAULT_MAX_FRAME_BYTES));
        PsException e = assertThrows(PsException.class, () -> client());
        assertTrue(e.getMessage().contains("stores 11 floats per key (rank 10), the client asked for 3"),
                e.getMessage());
    }

    @Test
    void garbageClosesOnlyItsOwnConnectionAndChangesNothing() throws Exception {
        PsClient c = client();
        long[] keys = {4, 5, 6};
        float[] before = new float[9];
        c.await(c.pull(keys, 3, before, false));
        try (Socket raw = new Socket("127.0.0.1", servers.get(0).port())) {
            DataOutputStream out = new DataOutputStream(raw.getOutputStream());
            out.writeInt(12);
            out.writeShort(0xBEEF);
            out.writeByte(1);
            out.writeByte(Protocol.PUSH);
            out.writeLong(1);
            out.flush();
            DataInputStream in = new DataInputStream(raw.getInputStream());
            int len = in.readInt();
            byte[] body = new byte[len];
            in.readFully(body);
            assertEquals(Protocol.ERROR, body[3]);
            assertEquals(-1, in.read(), "the server must close the corrupted connection");
        }
        float[] after = new float[9];
        c.await(c.pull(keys, 3, after, false));
        assertArrayEquals(before, after);
    }

    @Test
    void pushWithWrongDimensionIsRefusedWithTheServersAddress() throws Exception {
        PsClient c = client();
        c.await(c.pull(new long[] {1}, 1, new float[3], false));
        try (Socket raw = new Socket("127.0.0.1", servers.get(0).port())) {
            DataOutputStream out = new DataOutputStream(raw.getOutputStream());
            DataInputStream in = new DataInputStream(raw.getInputStream());
            byte[] hello = io.netty.buffer.ByteBufUtil.getBytes(Protocol.hello(
                    io.netty.buffer.UnpooledByteBufAllocator.DEFAULT, 1, 0, 2, SPEC));
            out.write(hello);
            byte[] push = io.netty.buffer.ByteBufUtil.getBytes(Protocol.push(
                    io.netty.buffer.UnpooledByteBufAllocator.DEFAULT, 2, 2, new long[] {1}, new float[2], null, 0, 1));
            out.write(push);
            out.flush();
            in.readFully(new byte[in.readInt()]); // HELLO reply
            byte[] body = new byte[in.readInt()];
            in.readFully(body);
            assertEquals(Protocol.ERROR, body[3]);
            String text = new String(body, 16, body.length - 16, java.nio.charset.StandardCharsets.UTF_8);
            assertEquals("PUSH with dim 2 to a store of dim 3", text);
        }
    }

    @Test
    void aServerThatStopsFailsEveryRequestInFlightPromptly() throws Exception {
        PsClient c = client(new PsClientConfig(addresses(), SPEC).requestTimeoutMs(60_000));
        long[] keys = new long[2000];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = i;
        }
        float[] values = new float[keys.length * 3];
        int port = servers.get(1).port();
        // requests keep flowing from another thread while shard 1 stops and a new one starts on its port
        java.util.concurrent.atomic.AtomicReference<Throwable> seen = new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);
        Thread load = new Thread(() -> {
            try {
                while (true) {
                    c.await(c.pull(keys, keys.length, values, false));
                    c.await(c.push(keys, keys.length, values));
                    started.countDown();
                }
            } catch (Throwable t) {
                seen.set(t);
            }
        });
        load.start();
        started.await();
        long t0 = System.nanoTime();
        servers.get(1).close();
        servers.set(1, PsServer.builder().port(port).shard(1, 2).start());
        load.join(10_000);
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertTrue(seen.get() instanceof PsException, "the client failed with " + seen.get());
        // (the request timeout is 60 s: before the server closed its connections, the client waited all of it)
        assertTrue(seconds < 5, "the client noticed the stopped server after " + seconds + " s");
        assertTrue(seen.get().getMessage().contains("shard 1 at 127.0.0.1:" + port), seen.get().getMessage());
    }
}
