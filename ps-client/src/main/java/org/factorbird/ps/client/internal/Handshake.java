package org.factorbird.ps.client.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.util.concurrent.CompletableFuture;

import org.factorbird.ps.TableSpec;
import org.factorbird.ps.PsClientConfig;
import org.factorbird.ps.PsException;
import org.factorbird.ps.protocol.Auth;
import org.factorbird.ps.protocol.Protocol;

/**
 * What a client says first on every connection: AUTH (when the cluster has a shared secret: check the server's
 * proof, then prove the client's own knowledge of it), then HELLO (which shard of which cluster, which model).
 */
final class Handshake {

    private Handshake() {}

    static void run(Connections connections, PsClientConfig config) {
        if (config.secret() != null) {
            for (ShardConnection conn : connections.shards()) {
                authenticate(conn, connections.alloc(), config);
            }
        }
        hello(connections, config);
    }

    private static void authenticate(ShardConnection conn, ByteBufAllocator alloc, PsClientConfig config) {
        byte[] secret = config.secret();
        byte[] clientNonce = Auth.nonce();
        CompletableFuture<byte[]> challenge = new CompletableFuture<>();
        long id = conn.nextRequestId();
        ByteBuf first = Protocol.startFrame(alloc, Protocol.AUTH, id, 1 + Protocol.NONCE_BYTES);
        first.writeByte(1).writeBytes(clientNonce);
        conn.send(id, first, Replies.pending(challenge, p -> {
            byte[] serverNonce = new byte[Protocol.NONCE_BYTES];
            byte[] proof = new byte[Protocol.PROOF_BYTES];
            p.readBytes(serverNonce).readBytes(proof);
            if (!Auth.matches(Auth.serverProof(secret, clientNonce, serverNonce), proof)) {
                throw new PsException(conn.describe() + " does not know the cluster's shared secret");
            }
            return serverNonce;
        }));
        conn.flush();
        byte[] serverNonce = Replies.await(challenge, config.connectTimeoutMs());
        CompletableFuture<Void> done = new CompletableFuture<>();
        long id2 = conn.nextRequestId();
        ByteBuf second = Protocol.startFrame(alloc, Protocol.AUTH, id2, 1 + Protocol.PROOF_BYTES);
        second.writeByte(2).writeBytes(Auth.clientProof(secret, serverNonce, clientNonce));
        conn.send(id2, second, Replies.pending(done, p -> null));
        conn.flush();
        Replies.await(done, config.connectTimeoutMs());
    }

    private static void hello(Connections connections, PsClientConfig config) {
        ShardConnection[] shards = connections.shards();
        TableSpec m = config.model();
        CompletableFuture<?>[] replies = new CompletableFuture<?>[shards.length];
        for (int i = 0; i < shards.length; i++) {
            ShardConnection conn = shards[i];
            int expect = i;
            CompletableFuture<Void> reply = new CompletableFuture<>();
            long id = conn.nextRequestId();
            conn.send(id, Protocol.hello(connections.alloc(), id, i, shards.length, m, config.clusterId()),
                    Replies.pending(reply, p -> {
                        int index = p.readInt();
                        int count = p.readInt();
                        int serverDim = p.readInt();
                        if (index != expect || count != shards.length || serverDim != m.dim()) {
                            throw new PsException(conn.describe() + " is shard " + index + " of " + count
                                    + " with dim " + serverDim + ", but the client expects shard " + expect + " of "
                                    + shards.length + " with dim " + m.dim() + " (check the order of --ps)");
                        }
                        return null;
                    }));
            conn.flush();
            replies[i] = reply;
        }
        for (CompletableFuture<?> r : replies) {
            Replies.await(r, config.connectTimeoutMs());
        }
    }
}
