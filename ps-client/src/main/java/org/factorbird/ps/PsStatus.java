package org.factorbird.ps;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;

import org.factorbird.ps.protocol.Protocol;

/**
 * A server's answer to STATUS: the health check of {@code ps-cluster} scripts and monitoring. Needs no HELLO
 * and changes nothing on the server.
 */
public final class PsStatus {

    public final String address;
    public final int shardIndex;
    public final int shardCount;
    public final long runId;
    public final long storedKeys;
    public final long requests;
    public final String clusterId;

    private PsStatus(String address, int shardIndex, int shardCount, long runId, long storedKeys, long requests,
            String clusterId) {
        this.address = address;
        this.shardIndex = shardIndex;
        this.shardCount = shardCount;
        this.runId = runId;
        this.storedKeys = storedKeys;
        this.requests = requests;
        this.clusterId = clusterId;
    }

    /**
     * Asks the server at {@code hostPort} for its status with one blocking round trip.
     *
     * @throws PsException naming the address when it cannot be reached or answers nonsense
     */
    public static PsStatus query(String hostPort, int timeoutMs) {
        return query(hostPort, timeoutMs, null);
    }

    /** The same over TLS when {@code tls} is given (servers started with a key store). */
    public static PsStatus query(String hostPort, int timeoutMs, javax.net.ssl.SSLContext tls) {
        InetSocketAddress addr = PsClientConfig.parseAddress(hostPort);
        try (Socket raw = new Socket()) {
            raw.connect(new InetSocketAddress(addr.getHostString(), addr.getPort()), timeoutMs);
            Socket s = tls == null ? raw
                    : tls.getSocketFactory().createSocket(raw, addr.getHostString(), addr.getPort(), true);
            s.setSoTimeout(timeoutMs);
            ByteBuf frame = Protocol.startFrame(UnpooledByteBufAllocator.DEFAULT, Protocol.STATUS, 1, 0);
            OutputStream out = s.getOutputStream();
            out.write(ByteBufUtil.getBytes(frame));
            out.flush();
            frame.release();
            DataInputStream in = new DataInputStream(s.getInputStream());
            int len = in.readInt();
            if (len < Protocol.HEADER_BYTES || len > 1 << 16) {
                throw new PsException("parameter server at " + hostPort + " sent a status frame of " + len + " B");
            }
            byte[] body = new byte[len];
            in.readFully(body);
            ByteBuf p = Unpooled.wrappedBuffer(body);
            p.skipBytes(3);
            byte op = p.readByte();
            p.readLong();
            if (op == Protocol.ERROR) {
                throw new PsException("parameter server at " + hostPort + " refused STATUS: " + Protocol.readError(p));
            }
            if (op != (byte) (Protocol.STATUS | Protocol.REPLY)) {
                throw new PsException("parameter server at " + hostPort + " answered STATUS with "
                        + Protocol.opName(op));
            }
            return new PsStatus(hostPort, p.readInt(), p.readInt(), p.readLong(), p.readLong(), p.readLong(),
                    Protocol.readShortString(p));
        } catch (IOException | IndexOutOfBoundsException e) {
            throw new PsException("cannot reach parameter server at " + hostPort + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return String.format("shard %d/%d at %s: up, cluster '%s', run %s, %d keys, %d requests served", shardIndex,
                shardCount, address, clusterId, runId == 0 ? "-" : Long.toHexString(runId), storedKeys, requests);
    }
}
