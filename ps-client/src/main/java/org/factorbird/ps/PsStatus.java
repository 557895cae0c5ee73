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
import java.util.List;

import org.factorbird.ps.protocol.Protocol;

/**
 * A server's answer to STATUS: the health check of {@code ps-cluster} scripts and monitoring. Needs no HELLO
 * and changes nothing on the server.
 */
public final class PsStatus {

    /** One run the server holds: a job attempt's table; {@code connections} 0 while it lingers after its end. */
    public record Run(long runId, long storedKeys, long tableBytes, int connections) {}

    public final String address;
    public final int shardIndex;
    public final int shardCount;
    /** Keys of all runs. */
    public final long storedKeys;
    public final long requests;
    /** The server's limit of runs held at once. */
    public final int maxRuns;
    /** The runs, oldest first. */
    public final List<Run> runs;
    public final String clusterId;

    private PsStatus(String address, int shardIndex, int shardCount, long requests, int maxRuns,
            List<Run> runs, String clusterId) {
        this.address = address;
        this.shardIndex = shardIndex;
        this.shardCount = shardCount;
        this.requests = requests;
        this.maxRuns = maxRuns;
        this.runs = runs;
        this.storedKeys = runs.stream().mapToLong(Run::storedKeys).sum();
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
            p.skipBytes(2);
            byte version = p.readByte();
            byte op = p.readByte();
            p.readLong();
            if (version != Protocol.VERSION) {
                throw new PsException("parameter server at " + hostPort + " speaks protocol version " + version
                        + ", this client " + Protocol.VERSION + ": run servers and jobs of one release");
            }
            if (op == Protocol.ERROR) {
                throw new PsException("parameter server at " + hostPort + " refused STATUS: " + Protocol.readError(p));
            }
            if (op != (byte) (Protocol.STATUS | Protocol.REPLY)) {
                throw new PsException("parameter server at " + hostPort + " answered STATUS with "
                        + Protocol.opName(op));
            }
            int shardIndex = p.readInt();
            int shardCount = p.readInt();
            long requests = p.readLong();
            int maxRuns = p.readInt();
            int n = p.readInt();
            if (n < 0 || n > p.readableBytes() / 28) {
                throw new PsException("parameter server at " + hostPort + " sent a status with " + n + " runs");
            }
            List<Run> runs = new java.util.ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                runs.add(new Run(p.readLong(), p.readLong(), p.readLong(), p.readInt()));
            }
            return new PsStatus(hostPort, shardIndex, shardCount, requests, maxRuns, List.copyOf(runs),
                    Protocol.readShortString(p));
        } catch (IOException | IndexOutOfBoundsException e) {
            throw new PsException("cannot reach parameter server at " + hostPort + ": " + e.getMessage(), e);
        }
    }

    /**
     * "shard 0/2 at host:port: up, cluster 'c', 2 runs (limit 8), 1,234 keys, 567 requests served" and a line per
     * run: "  run 1a2b: 1,000 keys, 0.1 MB, 2 connections" ("ended, lingering" without connections).
     */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder(String.format(java.util.Locale.ROOT,
                "shard %d/%d at %s: up, cluster '%s', %d run%s (limit %d), %,d keys, %,d requests served",
                shardIndex, shardCount, address, clusterId, runs.size(), runs.size() == 1 ? "" : "s", maxRuns,
                storedKeys, requests));
        for (Run r : runs) {
            String state = r.connections() == 0 ? "ended, lingering"
                    : r.connections() + " connection" + (r.connections() == 1 ? "" : "s");
            b.append(String.format(java.util.Locale.ROOT, "%n  run %s: %,d keys, %.1f MB, %s",
                    Long.toHexString(r.runId()), r.storedKeys(), r.tableBytes() / 1e6, state));
        }
        return b.toString();
    }
}
