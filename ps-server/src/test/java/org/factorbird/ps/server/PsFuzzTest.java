package org.factorbird.ps.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import org.factorbird.ps.TableSpec;
import org.factorbird.ps.PsClient;
import org.factorbird.ps.PsClientConfig;
import org.factorbird.ps.protocol.Protocol;
import org.junit.jupiter.api.Test;

/**
 * 100,000+ random and mutated frames against a live server while a well-behaved client keeps working: the server
 * never stops serving, answers the client correctly throughout, and no stored value changes except by the
 * client's own pushes. Bounded in count and time; loopback only.
 */
class PsFuzzTest {

    private static final UnpooledByteBufAllocator A = UnpooledByteBufAllocator.DEFAULT;
    private static final TableSpec SPEC = TableSpec.single(4, 1, 0xF022L, 3L, 0.1f);
    private static final int KEYS = 100;

    /** A frame a fuzzer connection may send: never one that could legitimately change the model. */
    private static byte[] fuzzFrame(SplittableRandom r) {
        switch (r.nextInt(6)) {
            case 0: { // garbage bytes
                byte[] b = new byte[r.nextInt(1, 120)];
                r.nextBytes(b);
                return b;
            }
            case 1: { // a good header, an unknown or harmless op, a random payload
                byte[] ops = {Protocol.SCAN, Protocol.AGGREGATE, Protocol.STATUS, 0x00, 0x09, 0x55, (byte) 0x82,
                    Protocol.ERROR, Protocol.AUTH};
                byte[] payload = new byte[r.nextInt(0, 80)];
                r.nextBytes(payload);
                ByteBuf f = Protocol.startFrame(A, ops[r.nextInt(ops.length)], r.nextLong(), payload.length);
                return bytes(f.writeBytes(payload));
            }
            case 2: { // a length that lies (truncated or oversized)
                ByteBuf f = Protocol.startFrame(A, Protocol.PULL, 1, 0);
                f.setInt(0, r.nextBoolean() ? r.nextInt(100, 1 << 30) : -r.nextInt(1, 100));
                return bytes(f);
            }
            default: { // a valid read-only request with a few bytes flipped
                ByteBuf f;
                long[] keys = new long[r.nextInt(1, 20)];
                for (int i = 0; i < keys.length; i++) {
                    keys[i] = r.nextInt(KEYS * 2);
                }
                switch (r.nextInt(3)) {
                    case 0: f = Protocol.pull(A, r.nextLong(), true, keys, null, 0, keys.length); break;
                    case 1: f = Protocol.scan(A, r.nextLong(), r.nextInt(3), 3, r.nextInt(2000), r.nextInt(1, 50)); break;
                    default: f = Protocol.aggregate(A, r.nextLong(), r.nextLong(), r.nextInt(2, 5),
                            new byte[] {0, 1}, new double[] {r.nextDouble(), r.nextDouble()});
                }
                byte[] b = bytes(f);
                for (int flips = r.nextInt(0, 4); flips > 0; flips--) {
                    b[r.nextInt(b.length)] ^= (byte) (1 << r.nextInt(8));
                }
                // a PULL whose flag flipped to "create" may add keys: keep it read-only (values are the invariant)
                if (b.length > 16 && b[7] == Protocol.PULL) {
                    b[16] |= Protocol.PULL_READ_ONLY;
                }
                if (b.length > 7 && (b[7] == Protocol.PUSH || b[7] == Protocol.HELLO)) {
                    b[7] = Protocol.SCAN; // never a well-formed model change
                }
                return b;
            }
        }
    }

    private static byte[] bytes(ByteBuf f) {
        byte[] b = ByteBufUtil.getBytes(f);
        f.release();
        return b;
    }

    @Test
    void survivesGarbageWhileServingAWellBehavedClient() throws Exception {
        try (PsServer server = PsServer.builder().port(0).shard(0, 1).maxFrameBytes(1 << 16).start();
                PsClient good = PsClient.connect(new PsClientConfig(List.of(server.address()), SPEC))) {
            long[] keys = new long[KEYS];
            for (int i = 0; i < KEYS; i++) {
                keys[i] = i;
            }
            float[] expected = new float[KEYS * 4];
            good.await(good.pull(keys, KEYS, expected, false));

            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> clientError = new AtomicReference<>();
            int[] checks = new int[1];
            Thread client = new Thread(() -> {
                float[] seen = new float[KEYS * 4];
                float[] delta = new float[KEYS * 4];
                try {
                    while (!stop.get()) {
                        java.util.Arrays.fill(delta, 0f);
                        int k = checks[0] % KEYS;
                        delta[k * 4] = 1f;
                        good.await(good.push(keys, KEYS, delta));
                        expected[k * 4] += 1f;
                        good.await(good.pull(keys, KEYS, seen, false));
                        assertArrayEquals(expected, seen, "values after check " + checks[0]);
                        checks[0]++;
                    }
                } catch (Throwable t) {
                    clientError.set(t);
                }
            }, "good-client");
            client.start();

            SplittableRandom r = new SplittableRandom(2026);
            long frames = 0;
            int connections = 0;
            long deadline = System.currentTimeMillis() + 120_000;
            while (frames < 100_000 && System.currentTimeMillis() < deadline) {
                connections++;
                try (Socket s = new Socket("127.0.0.1", server.port())) {
                    s.setSoTimeout(2000);
                    InputStream in = s.getInputStream();
                    Thread drain = new Thread(() -> {
                        byte[] sink = new byte[8192];
                        try {
                            while (in.read(sink) >= 0) {
                                // replies and errors are discarded
                            }
                        } catch (IOException e) {
                            // closed by the server or by us
                        }
                    });
                    drain.setDaemon(true);
                    drain.start();
                    OutputStream out = s.getOutputStream();
                    // a connection that joins the run first, so that its frames reach every handler
                    out.write(bytes(Protocol.hello(A, 1, 0, 1, SPEC)));
                    for (int i = 0; i < 200 && frames < 100_000; i++) {
                        out.write(fuzzFrame(r));
                        frames++;
                    }
                    out.flush();
                } catch (IOException e) {
                    // the server closed a corrupted stream: expected; open another connection
                }
            }
            stop.set(true);
            client.join(30_000);
            assertEquals(null, clientError.get(), () -> "the good client failed: " + clientError.get());
            assertTrue(frames >= 100_000, "sent " + frames + " frames");
            assertTrue(checks[0] > 10, "the good client made only " + checks[0] + " checks");
            float[] end = new float[KEYS * 4];
            good.await(good.pull(keys, KEYS, end, true));
            assertArrayEquals(expected, end);
            assertEquals(KEYS, server.storedKeys(), "no key may be created by fuzzed frames");
            System.out.printf("fuzz: %d frames on %d connections; the good client checked %d times%n", frames,
                    connections, checks[0]);
        }
    }
}
