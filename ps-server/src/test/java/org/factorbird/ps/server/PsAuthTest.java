package org.factorbird.ps.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.factorbird.ps.TableSpec;
import org.factorbird.ps.PsClient;
import org.factorbird.ps.PsClientConfig;
import org.factorbird.ps.PsException;
import org.factorbird.ps.PsStatus;
import org.factorbird.ps.protocol.Auth;
import org.factorbird.ps.protocol.Protocol;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The shared-secret handshake against a real server on loopback. */
class PsAuthTest {

    private static final byte[] SECRET = "correct horse battery staple".getBytes(StandardCharsets.UTF_8);
    private static final TableSpec SPEC = TableSpec.single(3, 1, 9L, 1L, 0.1f);
    private PsServer server;

    @BeforeEach
    void start() {
        server = PsServer.builder().port(0).shard(0, 1).secret(SECRET).start();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private PsClientConfig config(byte[] secret) {
        return new PsClientConfig(List.of(server.address()), SPEC).secret(secret);
    }

    /** One frame from a raw socket: {op, payload}. */
    private static Object[] read(DataInputStream in) throws Exception {
        byte[] body = new byte[in.readInt()];
        in.readFully(body);
        return new Object[] {body[3], java.util.Arrays.copyOfRange(body, 12, body.length)};
    }

    private static void write(DataOutputStream out, ByteBuf frame) throws Exception {
        out.write(ByteBufUtil.getBytes(frame));
        out.flush();
        frame.release();
    }

    private static ByteBuf auth(int phase, byte[] data) {
        ByteBuf f = Protocol.startFrame(UnpooledByteBufAllocator.DEFAULT, Protocol.AUTH, phase, 1 + data.length);
        return f.writeByte(phase).writeBytes(data);
    }

    @Test
    void theRightSecretIsServed() {
        try (PsClient c = PsClient.connect(config(SECRET))) {
            float[] v = new float[3];
            c.await(c.push(new long[] {5}, 1, new float[] {2f, 0f, 0f}));
            c.await(c.pull(new long[] {5}, 1, v, false));
            assertEquals(2f, v[0]);
        }
    }

    @Test
    void noSecretIsRefusedBeforeAnythingElseButStatusStillAnswers() {
        PsException e = assertThrows(PsException.class, () -> PsClient.connect(config(null)));
        assertTrue(e.getMessage().contains("HELLO before authentication"), e.getMessage());
        assertEquals(0, PsStatus.query(server.address(), 2000).shardIndex);
        assertEquals(0, server.storedKeys());
    }

    @Test
    void aWrongSecretIsRefusedOnBothSides() throws Exception {
        byte[] wrong = "another secret of enough bytes".getBytes(StandardCharsets.UTF_8);
        PsException e = assertThrows(PsException.class, () -> PsClient.connect(config(wrong)));
        assertTrue(e.getMessage().contains("does not know the cluster's shared secret"), e.getMessage());
        // the server's side: a client proof made with the wrong secret
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            DataInputStream in = new DataInputStream(s.getInputStream());
            byte[] clientNonce = Auth.nonce();
            write(out, auth(1, clientNonce));
            byte[] reply = (byte[]) read(in)[1];
            byte[] serverNonce = java.util.Arrays.copyOf(reply, Protocol.NONCE_BYTES);
            write(out, auth(2, Auth.clientProof(wrong, serverNonce, clientNonce)));
            Object[] refusal = read(in);
            assertEquals(Protocol.ERROR, (byte) refusal[0]);
            assertTrue(new String((byte[]) refusal[1], StandardCharsets.UTF_8).contains("wrong shared secret"));
            assertEquals(-1, in.read(), "the connection must be closed");
        }
    }

    @Test
    void aReplayedHandshakeIsRefused() throws Exception {
        byte[] clientNonce = Auth.nonce();
        byte[] recordedProof;
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            DataInputStream in = new DataInputStream(s.getInputStream());
            write(out, auth(1, clientNonce));
            byte[] serverNonce = java.util.Arrays.copyOf((byte[]) read(in)[1], Protocol.NONCE_BYTES);
            recordedProof = Auth.clientProof(SECRET, serverNonce, clientNonce);
            write(out, auth(2, recordedProof));
            Object[] ok = read(in);
            assertEquals((byte) (Protocol.AUTH | Protocol.REPLY), (byte) ok[0]);
            assertArrayEquals(new byte[0], (byte[]) ok[1]);
        }
        // an eavesdropper replays the same two messages on a new connection: the server's nonce is new
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            DataInputStream in = new DataInputStream(s.getInputStream());
            write(out, auth(1, clientNonce));
            read(in);
            write(out, auth(2, recordedProof));
            Object[] refusal = read(in);
            assertEquals(Protocol.ERROR, (byte) refusal[0]);
            assertEquals(-1, in.read());
        }
    }

    @Test
    void aClientWithASecretRefusesAnOpenServer() {
        try (PsServer open = PsServer.startLocal(0, 1)) {
            PsException e = assertThrows(PsException.class, () -> PsClient.connect(
                    new PsClientConfig(List.of(open.address()), SPEC).secret(SECRET)));
            assertTrue(e.getMessage().contains("has no shared secret configured"), e.getMessage());
        }
    }
}
