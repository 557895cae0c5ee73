package org.factorbird.ps.server;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.GlobalEventExecutor;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

import org.factorbird.ps.cli.Cli;
import org.factorbird.ps.protocol.Protocol;
import org.factorbird.ps.protocol.PsFrameDecoder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One parameter-server shard: a Netty TCP server over one {@link ColumnStore} per run (job attempt; see
 * {@link ShardState}). Runs standalone ({@link #main}) or embedded ({@link #start}). All connections share one
 * event-loop thread, which owns the stores: requests are applied one at a time in arrival order, so the stores
 * need no locks; a cluster scales by adding shards.
 */
public final class PsServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PsServer.class);

    /** Default limit of runs held at once (--max-runs). */
    public static final int DEFAULT_MAX_RUNS = 8;
    /** The highest --max-runs: a STATUS reply lists every run (28 bytes each) and stays far below 64 KB. */
    public static final int MAX_RUNS_LIMIT = 1000;
    /**
     * Default time a run without connections is kept (--run-linger): long enough to read a finished job's table
     * (tests, a look with STATUS), short enough that a failed attempt's memory goes before its restart is far on.
     */
    public static final long DEFAULT_RUN_LINGER_MS = 5_000;

    private final EventLoopGroup group;
    private final Channel serverChannel;
    private final ShardState state;
    private final String address;

    /** Every accepted connection, closed explicitly by {@link #close}. */
    private final ChannelGroup connections;
    /** The Prometheus endpoint, or null without --metrics-port. */
    private final PsMetrics metrics;

    private PsServer(EventLoopGroup group, Channel serverChannel, ShardState state, String address,
            ChannelGroup connections, PsMetrics metrics) {
        this.metrics = metrics;
        this.group = group;
        this.connections = connections;
        this.serverChannel = serverChannel;
        this.state = state;
        this.address = address;
    }

    /**
     * Starts shard {@code shardIndex} of {@code shardCount} on {@code bindHost:port} (port 0 picks a free one).
     *
     * @param requiredDim floats per key clients must use, or 0 to take the first client's
     */
    public static PsServer start(String bindHost, int port, int shardIndex, int shardCount, int requiredDim,
            int maxFrameBytes) {
        return builder().bind(bindHost).port(port).shard(shardIndex, shardCount).requiredDim(requiredDim)
                .maxFrameBytes(maxFrameBytes).start();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Settings of one server; {@link #start()} checks them and starts it. */
    public static final class Builder {
        private String bind = "127.0.0.1";
        private int port = 7070;
        private int shardIndex = 0;
        private int shardCount = 1;
        private int requiredDim = 0;
        private int maxFrameBytes = Protocol.DEFAULT_MAX_FRAME_BYTES;
        private String clusterId = "";
        private int statsIntervalSeconds = 0;
        private byte[] secret;
        private io.netty.handler.ssl.SslContext tls;
        private int metricsPort = -1;
        private int maxRuns = DEFAULT_MAX_RUNS;
        private long runLingerMillis = DEFAULT_RUN_LINGER_MS;

        /** Runs (jobs' attempts) held at once at most; a HELLO of one more is refused. */
        public Builder maxRuns(int runs) {
            this.maxRuns = runs;
            return this;
        }

        /** How long a run whose connections have all closed is kept before its table is freed. */
        public Builder runLingerMillis(long millis) {
            this.runLingerMillis = millis;
            return this;
        }

        /** Serves Prometheus metrics on this port of the bind address (0: a free one; -1, the default: none). */
        public Builder metricsPort(int p) {
            this.metricsPort = p;
            return this;
        }

        public Builder bind(String host) {
            this.bind = host;
            return this;
        }

        public Builder port(int p) {
            this.port = p;
            return this;
        }

        public Builder shard(int index, int count) {
            this.shardIndex = index;
            this.shardCount = count;
            return this;
        }

        public Builder requiredDim(int dim) {
            this.requiredDim = dim;
            return this;
        }

        public Builder maxFrameBytes(int bytes) {
            this.maxFrameBytes = bytes;
            return this;
        }

        public Builder clusterId(String id) {
            this.clusterId = id == null ? "" : id;
            return this;
        }

        /** Log request, key and byte rates every this many seconds while there is traffic; 0: never. */
        public Builder statsIntervalSeconds(int seconds) {
            this.statsIntervalSeconds = seconds;
            return this;
        }

        /** Clients must prove this shared secret (AUTH) before any other request; null: no authentication. */
        public Builder secret(byte[] s) {
            if (s != null && s.length < 16) {
                throw new IllegalArgumentException("the shared secret must have at least 16 bytes but has "
                        + s.length);
            }
            this.secret = s == null ? null : s.clone();
            return this;
        }

        /** Serve TLS only (see {@link org.factorbird.ps.protocol.Tls#server}); null: plain TCP. */
        public Builder tls(io.netty.handler.ssl.SslContext context) {
            this.tls = context;
            return this;
        }

        public PsServer start() {
            return PsServer.start(this);
        }
    }

    private static PsServer start(Builder o) {
        int shardIndex = o.shardIndex;
        int shardCount = o.shardCount;
        if (shardCount < 1) {
            throw new IllegalArgumentException("shard count must be >= 1 but was " + shardCount);
        }
        if (shardIndex < 0 || shardIndex >= shardCount) {
            throw new IllegalArgumentException("shard index must be in [0, " + shardCount + ") but was "
                    + shardIndex);
        }
        if (o.port < 0 || o.port > 65535) {
            throw new IllegalArgumentException("port must be in [0, 65535] but was " + o.port);
        }
        if (o.requiredDim < 0) {
            throw new IllegalArgumentException("required dim must be >= 0 but was " + o.requiredDim);
        }
        if (o.clusterId.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > Protocol.MAX_CLUSTER_ID_BYTES) {
            throw new IllegalArgumentException("cluster id must be at most " + Protocol.MAX_CLUSTER_ID_BYTES
                    + " bytes");
        }
        if (o.metricsPort < -1 || o.metricsPort > 65535) {
            throw new IllegalArgumentException("metrics port must be in [0, 65535] (or -1: none) but was "
                    + o.metricsPort);
        }
        if (o.maxRuns < 1 || o.maxRuns > MAX_RUNS_LIMIT) {
            throw new IllegalArgumentException("max runs must be in [1, " + MAX_RUNS_LIMIT + "] but was "
                    + o.maxRuns);
        }
        if (o.runLingerMillis < 0) {
            throw new IllegalArgumentException("run linger must be >= 0 ms but was " + o.runLingerMillis);
        }
        if (o.statsIntervalSeconds < 0) {
            throw new IllegalArgumentException("stats interval must be >= 0 s but was " + o.statsIntervalSeconds);
        }
        int maxFrameBytes = o.maxFrameBytes;
        new PsFrameDecoder(maxFrameBytes); // checks the frame limit
        ShardState state = new ShardState(shardIndex, shardCount, o.requiredDim, maxFrameBytes, o.clusterId,
                o.secret, o.maxRuns, o.runLingerMillis);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        ChannelGroup connections = new DefaultChannelGroup("ps-shard-" + shardIndex, GlobalEventExecutor.INSTANCE);
        Channel ch = null;
        try {
            ServerBootstrap b = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    // a client host that dies without closing its sockets must not hold its run for good: the
                    // kernel's keepalive probes find the dead peer, the connection closes, the run lingers and goes
                    .childOption(ChannelOption.SO_KEEPALIVE, true)
                    .childHandler(new PsServerInitializer(state, o.tls, connections));
            ch = b.bind(o.bind, o.port).syncUninterruptibly().channel();
            InetSocketAddress bound = (InetSocketAddress) ch.localAddress();
            String address = bound.getHostString() + ":" + bound.getPort();
            LOG.info("parameter server shard {} of {} (cluster '{}') listening on {}", shardIndex, shardCount,
                    o.clusterId, address);
            if (o.statsIntervalSeconds > 0) {
                ch.eventLoop().scheduleAtFixedRate(new RateLogger(state, o.statsIntervalSeconds),
                        o.statsIntervalSeconds, o.statsIntervalSeconds, TimeUnit.SECONDS);
            }
            PsMetrics metrics = null;
            if (o.metricsPort >= 0) {
                metrics = PsMetrics.start(o.bind, o.metricsPort, state, connections);
                LOG.info("parameter server shard {}: Prometheus metrics on http://{}:{}/metrics", shardIndex, o.bind,
                        metrics.port());
            }
            return new PsServer(group, ch, state, address, connections, metrics);
        } catch (RuntimeException e) {
            if (ch != null) {
                ch.close().syncUninterruptibly(); // bound, but the metrics port was not: free the port again
            }
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw new IllegalStateException("cannot start parameter server shard " + shardIndex + " on "
                    + o.bind + ":" + o.port + ": " + e.getMessage(), e);
        }
    }

    /** Logs the traffic of the last interval, on the server's thread, only when there was some. */
    private static final class RateLogger implements Runnable {
        private final ShardState state;
        private final int seconds;
        private long requests;
        private long keys;
        private long in;
        private long out;

        RateLogger(ShardState state, int seconds) {
            this.state = state;
            this.seconds = seconds;
        }

        @Override
        public void run() {
            long dr = state.requests - requests;
            if (dr > 0) {
                LOG.info(String.format(java.util.Locale.ROOT, "shard %d: %.0f requests/s, %.0f keys/s, in %.2f MB/s, "
                        + "out %.2f MB/s, %d keys stored (tables %.1f MB, %d runs)", state.shardIndex,
                        dr / (double) seconds, (state.keysServed - keys) / (double) seconds,
                        (state.bytesIn - in) / 1e6 / seconds, (state.bytesOut - out) / 1e6 / seconds,
                        state.storedKeys(), state.tableBytes() / 1e6, state.runs.size()));
            }
            requests = state.requests;
            keys = state.keysServed;
            in = state.bytesIn;
            out = state.bytesOut;
        }
    }

    /** Starts an unconstrained shard on 127.0.0.1 and a free port (tests and embedded runs). */
    public static PsServer startLocal(int shardIndex, int shardCount) {
        return start("127.0.0.1", 0, shardIndex, shardCount, 0, Protocol.DEFAULT_MAX_FRAME_BYTES);
    }

    /** {@code host:port} the server listens on. */
    public String address() {
        return address;
    }

    /** The port of the Prometheus endpoint, or -1 without one. */
    public int metricsPort() {
        return metrics == null ? -1 : metrics.port();
    }

    public int port() {
        return ((InetSocketAddress) serverChannel.localAddress()).getPort();
    }

    /** Keys stored for all runs (read on the server's thread). */
    public long storedKeys() {
        return onLoop(state::storedKeys);
    }

    /** Bytes of all runs' tables (keys and values arrays), read on the server's thread. */
    public long tableBytes() {
        return onLoop(state::tableBytes);
    }

    /**
     * A copy of the values of {@code key} in the newest run, or null if absent (read on the server's thread; for
     * tests).
     */
    public float[] valuesOf(long key) {
        return onLoop(() -> {
            ShardState.Run newest = null;
            for (ShardState.Run r : state.runs.values()) {
                newest = r;
            }
            if (newest == null || newest.store.find(key) < 0) {
                return null;
            }
            float[] out = new float[newest.store.dim()];
            newest.store.get(key, out, 0);
            return out;
        });
    }

    private <T> T onLoop(java.util.concurrent.Callable<T> task) {
        try {
            return serverChannel.eventLoop().submit(task).get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("parameter server did not answer: " + e, e);
        }
    }

    @Override
    public void close() {
        if (metrics != null) {
            metrics.close();
        }
        serverChannel.close().syncUninterruptibly();
        // Close every client connection first: shutting the event loop down alone left accepted sockets open
        // with nobody reading them, and clients waited a whole request timeout for replies that never came.
        connections.close().awaitUninterruptibly();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        LOG.info("parameter server shard {} on {} stopped", state.shardIndex, address);
    }

    /** {@code ps-server --shard I --shards N [options]}: one shard as its own process (see {@link PsServerCommand}). */
    public static void main(String[] args) {
        Cli.exit(new PsServerCommand(), args);
    }
}
