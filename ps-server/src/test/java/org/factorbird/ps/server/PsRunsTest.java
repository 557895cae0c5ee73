package org.factorbird.ps.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import org.factorbird.ps.PsClient;
import org.factorbird.ps.PsClientConfig;
import org.factorbird.ps.PsException;
import org.factorbird.ps.PsStatus;
import org.factorbird.ps.TableSpec;
import org.factorbird.ps.protocol.Protocol;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Several jobs' runs on one real server: separate tables and barriers, freed after their last client, a limit. */
class PsRunsTest {

    /** Two runs of different widths: rank 2 (3 floats per key) and rank 4 (5). */
    private static final TableSpec RUN_A = TableSpec.single(3, 1, 0xAL, 5L, 0.1f);
    private static final TableSpec RUN_B = TableSpec.single(5, 1, 0xBL, 6L, 0.1f);
    private static final long LINGER_MS = 2_000;

    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private PsServer server(int maxRuns) {
        PsServer s = PsServer.builder().port(0).shard(0, 1).maxRuns(maxRuns).runLingerMillis(LINGER_MS).start();
        open.add(s);
        return s;
    }

    private PsClient client(PsServer s, TableSpec spec) {
        PsClient c = PsClient.connect(new PsClientConfig(List.of(s.address()), spec));
        open.add(c);
        return c;
    }

    private static PsStatus status(PsServer s) {
        return PsStatus.query(s.address(), 2000);
    }

    @Test
    void twoRunsShareAServerWithoutSeeingEachOthersColumnsOrBarriers() throws Exception {
        PsServer s = server(8);
        PsClient a = client(s, RUN_A);
        PsClient a2 = client(s, RUN_A);
        PsClient b = client(s, RUN_B);
        PsClient b2 = client(s, RUN_B);
        long[] keys = {1, 2, 3};
        a.await(a.push(keys, 3, new float[] {1, 1, 1, 2, 2, 2, 3, 3, 3}));
        float[] fromB = new float[3 * 5];
        b.await(b.pull(keys, 3, fromB, false));
        float[] init = new float[5];
        for (int i = 0; i < 3; i++) {
            RUN_B.init(keys[i], init, 0);
            assertArrayEquals(init, java.util.Arrays.copyOfRange(fromB, 5 * i, 5 * i + 5),
                    "run B's key " + keys[i] + " starts at its own initial values, whatever run A pushed");
        }
        float[] fromA = new float[3 * 3];
        a.await(a.pull(keys, 3, fromA, false));
        float[] initA = new float[3];
        RUN_A.init(2, initA, 0);
        assertEquals(initA[1] + 2f, fromA[4], 0f, "run A's key 2 holds its initial value plus A's push");

        // barrier 7 of two parties in each run: one party of each arrives; neither barrier may open
        byte[] sum = {Protocol.AGG_SUM};
        CompletableFuture<double[]> waitA = a.aggregate(7, 2, sum, new double[] {1});
        CompletableFuture<double[]> waitB = b.aggregate(7, 2, sum, new double[] {100});
        Thread.sleep(100);
        assertFalse(waitA.isDone() || waitB.isDone(), "one party of each run is not two parties of one");
        assertArrayEquals(new double[] {3}, a2.await(a2.aggregate(7, 2, sum, new double[] {2})));
        assertArrayEquals(new double[] {3}, a.await(waitA));
        assertArrayEquals(new double[] {300}, b2.await(b2.aggregate(7, 2, sum, new double[] {200})));
        assertArrayEquals(new double[] {300}, b.await(waitB));

        PsStatus st = status(s);
        assertEquals(2, st.runs.size(), st.toString());
        assertEquals(0xAL, st.runs.get(0).runId());
        assertEquals(3, st.runs.get(0).storedKeys());
        assertEquals(0xBL, st.runs.get(1).runId());
        assertEquals(3, st.runs.get(1).storedKeys());
        assertEquals(6, st.storedKeys);
        assertEquals(8, st.maxRuns);
        assertEquals(2, st.runs.get(0).connections(), "one connection per client: " + st);
        assertEquals(2, st.runs.get(1).connections(), "one connection per client: " + st);
        assertTrue(st.toString().contains("2 runs (limit 8)") && st.toString().contains("run a: 3 keys"),
                st.toString());
    }

    @Test
    void aRunIsFreedAfterItsLastClientLeftAndTheOthersGoOn() throws Exception {
        PsServer s = server(8);
        PsClient a = client(s, RUN_A);
        PsClient b = client(s, RUN_B);
        long[] keys = {10, 20};
        a.await(a.push(keys, 2, new float[6]));
        b.await(b.push(keys, 2, new float[] {1, 1, 1, 1, 1, 2, 2, 2, 2, 2}));
        float[] before = new float[10];
        b.await(b.pull(keys, 2, before, false));
        a.close(); // the job of run A ended or died
        PsStatus lingering = awaitStatus(s, st -> st.runs.size() == 2 && st.runs.get(0).connections() == 0);
        assertTrue(lingering.toString().contains("ended, lingering"), lingering.toString());
        // a client of run A that comes back within the linger finds its table, and keeps it past the linger
        PsClient back = client(s, RUN_A);
        float[] kept = new float[6];
        back.await(back.pull(keys, 2, kept, false));
        float[] init = new float[3];
        RUN_A.init(10, init, 0);
        assertArrayEquals(init, java.util.Arrays.copyOf(kept, 3), "run A's key 10 as A pushed it (zeros added)");
        Thread.sleep(LINGER_MS + 500);
        assertEquals(2, status(s).runs.size(), "a run with a client again is not freed");
        back.close();
        PsStatus after = awaitStatus(s, st -> st.runs.size() == 1);
        assertEquals(0xBL, after.runs.get(0).runId(), "run A's table is freed, run B's stays");
        assertEquals(2, after.storedKeys);
        float[] still = new float[10];
        b.await(b.pull(keys, 2, still, false));
        assertArrayEquals(before, still, "run B did not notice run A's end");
    }

    @Test
    void oneRunMoreThanTheLimitIsRefusedNamingTheRunsHeldUntilOneEnds() throws Exception {
        PsServer s = server(1);
        PsClient a = client(s, RUN_A);
        a.await(a.push(new long[] {5}, 1, new float[3]));
        PsException e = assertThrows(PsException.class, () -> client(s, RUN_B));
        assertTrue(e.getMessage().contains("this server holds 1 run, its limit (--max-runs): run a (1 keys, "),
                e.getMessage());
        assertTrue(e.getMessage().contains("try again when one has ended"), e.getMessage());
        a.close();
        // run A lingers without clients: a new run may take its place at once
        PsClient b = client(s, RUN_B);
        b.await(b.push(new long[] {5}, 1, new float[5]));
        PsStatus st = status(s);
        assertEquals(1, st.runs.size(), st.toString());
        assertEquals(0xBL, st.runs.get(0).runId());
    }

    private static PsStatus awaitStatus(PsServer s, java.util.function.Predicate<PsStatus> done) throws Exception {
        long deadline = System.currentTimeMillis() + 10_000;
        while (true) {
            PsStatus st = status(s);
            if (done.test(st)) {
                return st;
            }
            assertTrue(System.currentTimeMillis() < deadline, "still " + st);
            Thread.sleep(10);
        }
    }
}
