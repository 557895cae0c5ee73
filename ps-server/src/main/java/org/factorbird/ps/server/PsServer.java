package org.factorbird.ps.server;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;

import java.net.InetSocketAddress;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.factorbird.ps.protocol.Protocol;
import org.factorbird.ps.protocol.PsFrameDecoder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One parameter-server shard: a Netty TCP server over a {@link ColumnStore}. Runs standalone ({@link #main}) or
 * embedded ({@link #start}). All connections share one event-loop thread, which owns the store: requests are
 * applied one at a time in arrival order, so the store needs no locks; a cluster scales by adding shards.
 */
public final class PsServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PsServer.class);

    private final EventLoopGroup group;
    private final Channel serverChannel;
    private final ShardState state;
    private final String address;

    private PsServer(EventLoopGroup group, Channel serverChannel, ShardState state, String address) {
        this.group = group;
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
        if (shardCount < 1) {
            throw new IllegalArgumentException("shard count must be >= 1 but was " + shardCount);
        }
        if (shardIndex < 0 || shardIndex >= shardCount) {
            throw new IllegalArgumentException("shard index must be in [0, " + shardCount + ") but was "
                    + shardIndex);
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be in [0, 65535] but was " + port);
        }
        if (requiredDim < 0) {
            throw new IllegalArgumentException("required dim must be >= 0 but was " + requiredDim);
        }
        new PsFrameDecoder(maxFrameBytes); // checks the frame limit
        ShardState state = new ShardState(shardIndex, shardCount, requiredDim, maxFrameBytes);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            ServerBootstrap b = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            // bytes -> frames (length prefix, max size, magic, version) -> requests
                            ch.pipeline().addLast("frames", new PsFrameDecoder(maxFrameBytes));
                            ch.pipeline().addLast("requests", new PsServerHandler(state));
                        }
                    });
            Channel ch = b.bind(bindHost, port).syncUninterruptibly().channel();
            InetSocketAddress bound = (InetSocketAddress) ch.localAddress();
            String address = bound.getHostString() + ":" + bound.getPort();
            LOG.info("parameter server shard {} of {} listening on {}", shardIndex, shardCount, address);
            return new PsServer(group, ch, state, address);
        } catch (RuntimeException e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw new IllegalStateException("cannot start parameter server shard " + shardIndex + " on "
                    + bindHost + ":" + port + ": " + e.getMessage(), e);
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

    public int port() {
        return ((InetSocketAddress) serverChannel.localAddress()).getPort();
    }

    /** Keys stored for the current run (read on the server's thread). */
    public int storedKeys() {
        return onLoop(() -> state.store == null ? 0 : state.store.size());
    }

    /** A copy of the values of {@code key}, or null if absent (read on the server's thread; for tests). */
    public float[] valuesOf(long key) {
        return onLoop(() -> {
            if (state.store == null || state.store.find(key) < 0) {
                return null;
            }
            float[] out = new float[state.store.dim()];
            state.store.get(key, out, 0);
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
        serverChannel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        LOG.info("parameter server shard {} on {} stopped", state.shardIndex, address);
    }

    // ------------------------------------------------------------------------------------------------
    //  standalone
    // ------------------------------------------------------------------------------------------------

    static final String USAGE = String.join("\n",
            "usage: ps-server --shard I --shards N [--port P] [--bind HOST] [--rank K] [--max-frame-bytes B]",
            "  --shard I            this server's shard index, 0 <= I < N (required)",
            "  --shards N           number of shards in the cluster (required)",
            "  --port P             TCP port (default 7070; 0 picks a free port)",
            "  --bind HOST          address to listen on (default 127.0.0.1: loopback only)",
            "  --rank K             accept only runs of rank K (default: any; the first client's wins)",
            "  --max-frame-bytes B  largest request or reply frame (default " + Protocol.DEFAULT_MAX_FRAME_BYTES + ")");

    public static void main(String[] args) throws InterruptedException {
        int shard = -1;
        int shards = -1;
        int port = 7070;
        String bind = "127.0.0.1";
        int rank = -1;
        int maxFrame = Protocol.DEFAULT_MAX_FRAME_BYTES;
        try {
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                if (a.equals("--help") || a.equals("-h")) {
                    System.out.println(USAGE);
                    return;
                }
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException("option " + a + " needs a value");
                }
                String v = args[++i];
                switch (a) {
                    case "--shard": shard = intArg(a, v); break;
                    case "--shards": shards = intArg(a, v); break;
                    case "--port": port = intArg(a, v); break;
                    case "--bind": bind = v; break;
                    case "--rank": rank = intArg(a, v); break;
                    case "--max-frame-bytes": maxFrame = intArg(a, v); break;
                    default: throw new IllegalArgumentException("unknown option " + a);
                }
            }
            if (shard < 0 || shards < 0) {
                throw new IllegalArgumentException("--shard and --shards are required");
            }
            if (rank == 0 || rank < -1) {
                throw new IllegalArgumentException("--rank must be >= 1 but was " + rank);
            }
            PsServer server = start(bind, port, shard, shards, rank > 0 ? rank + 1 : 0, maxFrame);
            CountDownLatch stopped = new CountDownLatch(1);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                server.close();
                stopped.countDown();
            }, "ps-server-shutdown"));
            System.out.println("ps-server shard " + shard + "/" + shards + " listening on " + server.address());
            stopped.await();
        } catch (IllegalArgumentException | IllegalStateException e) {
            System.err.println("ps-server: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
        }
    }

    private static int intArg(String name, String v) {
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be an integer but was '" + v + "'");
        }
    }
}
