package org.factorbird.ps;

import java.io.Serializable;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

import org.factorbird.ps.protocol.Protocol;

/** How a {@link PsClient} reaches its cluster. Server {@code i} of the list must be shard {@code i}. */
public final class PsClientConfig implements Serializable {

    private static final long serialVersionUID = 1L;

    /** Default requests in flight per server before {@code pull}/{@code push} block the caller. */
    public static final int DEFAULT_MAX_IN_FLIGHT = 32;
    public static final long DEFAULT_REQUEST_TIMEOUT_MS = 120_000;
    public static final int DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

    private final List<String> servers;
    private final TableSpec model;
    private int maxInFlight = DEFAULT_MAX_IN_FLIGHT;
    private int maxFrameBytes = Protocol.DEFAULT_MAX_FRAME_BYTES;
    private long requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS;
    private int connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS;
    private String clusterId = "";
    /** Never serialized: read from a file where the client runs. */
    private transient byte[] secret;
    private transient io.netty.handler.ssl.SslContext tls;

    public PsClientConfig(List<String> servers, TableSpec model) {
        if (servers == null || servers.isEmpty()) {
            throw new IllegalArgumentException("at least one parameter server address is needed");
        }
        for (String s : servers) {
            parseAddress(s);
        }
        this.servers = new ArrayList<>(servers);
        this.model = model;
    }

    /** Parses {@code host:port}; the message names the bad entry. */
    public static InetSocketAddress parseAddress(String hostPort) {
        int colon = hostPort == null ? -1 : hostPort.lastIndexOf(':');
        if (colon <= 0 || colon == hostPort.length() - 1) {
            throw new IllegalArgumentException("parameter server address must be host:port but was '" + hostPort + "'");
        }
        int port;
        try {
            port = Integer.parseInt(hostPort.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("parameter server port must be a number in '" + hostPort + "'");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("parameter server port must be in [1, 65535] in '" + hostPort + "'");
        }
        return InetSocketAddress.createUnresolved(hostPort.substring(0, colon), port);
    }

    public PsClientConfig maxInFlight(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("maxInFlight must be >= 1 but was " + n);
        }
        this.maxInFlight = n;
        return this;
    }

    public PsClientConfig maxFrameBytes(int n) {
        Protocol.maxKeysPerFrame(n, model.dim());
        this.maxFrameBytes = n;
        return this;
    }

    public PsClientConfig requestTimeoutMs(long ms) {
        if (ms < 1) {
            throw new IllegalArgumentException("requestTimeoutMs must be >= 1 but was " + ms);
        }
        this.requestTimeoutMs = ms;
        return this;
    }

    public PsClientConfig connectTimeoutMs(int ms) {
        if (ms < 1) {
            throw new IllegalArgumentException("connectTimeoutMs must be >= 1 but was " + ms);
        }
        this.connectTimeoutMs = ms;
        return this;
    }

    /** The cluster the servers must belong to ("" accepts any). */
    public PsClientConfig clusterId(String id) {
        this.clusterId = id == null ? "" : id;
        return this;
    }

    /** The cluster's shared secret (AUTH before anything else), or null for open servers. */
    public PsClientConfig secret(byte[] s) {
        this.secret = s == null ? null : s.clone();
        return this;
    }

    /** TLS towards the servers (see {@link org.factorbird.ps.protocol.Tls#client}), or null for plain TCP. */
    public PsClientConfig tls(io.netty.handler.ssl.SslContext context) {
        this.tls = context;
        return this;
    }

    public io.netty.handler.ssl.SslContext tls() {
        return tls;
    }

    public byte[] secret() {
        return secret;
    }

    public String clusterId() {
        return clusterId;
    }

    public List<String> servers() {
        return servers;
    }

    public TableSpec model() {
        return model;
    }

    public int maxInFlight() {
        return maxInFlight;
    }

    public int maxFrameBytes() {
        return maxFrameBytes;
    }

    public long requestTimeoutMs() {
        return requestTimeoutMs;
    }

    public int connectTimeoutMs() {
        return connectTimeoutMs;
    }
}
