package org.factorbird.ps.client.internal;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.factorbird.ps.PsClientConfig;
import org.factorbird.ps.PsException;
import org.factorbird.ps.protocol.PsFrameDecoder;

/**
 * A client's connections, one per shard, on one Netty event-loop thread owned by the client. Each pipeline is
 * {@code [TLS ->] bytes -> frames (maximum size, magic, version) -> replies ({@link ShardConnection})}.
 * {@link #open} connects to every server and runs the {@link Handshake}; it closes what it opened on failure.
 */
public final class Connections implements AutoCloseable {

    private final EventLoopGroup group;
    private final ShardConnection[] shards;

    private Connections(EventLoopGroup group, ShardConnection[] shards) {
        this.group = group;
        this.shards = shards;
    }

    /**
     * Connects to every server, authenticates when the configuration has a secret, and checks with a HELLO that
     * server {@code i} is shard {@code i} of the same count and holds (or now starts) the configured model.
     *
     * @throws PsException naming the server that cannot be reached or does not match
     */
    public static Connections open(PsClientConfig config) {
        List<String> servers = config.servers();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        ShardConnection[] conns = new ShardConnection[servers.size()];
        Connections opened = new Connections(group, conns);
        try {
            for (int i = 0; i < conns.length; i++) {
                conns[i] = connect(group, config, i, servers.get(i));
            }
            Handshake.run(opened, config);
            return opened;
        } catch (RuntimeException e) {
            opened.close();
            throw e;
        }
    }

    private static ShardConnection connect(EventLoopGroup group, PsClientConfig config, int shard, String server) {
        ShardConnection conn = new ShardConnection(shard, server, config.maxInFlight());
        InetSocketAddress addr = PsClientConfig.parseAddress(server);
        Bootstrap b = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, config.connectTimeoutMs())
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (config.tls() != null) {
                            ch.pipeline().addLast("tls", config.tls().newHandler(ch.alloc(), addr.getHostString(),
                                    addr.getPort()));
                        }
                        ch.pipeline().addLast("frames", new PsFrameDecoder(config.maxFrameBytes()));
                        ch.pipeline().addLast("replies", conn);
                    }
                });
        ChannelFuture f = b.connect(new InetSocketAddress(addr.getHostString(), addr.getPort()));
        f.awaitUninterruptibly();
        if (!f.isSuccess()) {
            throw new PsException("cannot reach " + conn.describe() + ": " + rootMessage(f.cause()), f.cause());
        }
        conn.attach(f.channel());
        return conn;
    }

    private static String rootMessage(Throwable t) {
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }

    public ShardConnection[] shards() {
        return shards;
    }

    public ShardConnection shard(int i) {
        return shards[i];
    }

    public ByteBufAllocator alloc() {
        return shards[0].channel().alloc();
    }

    @Override
    public void close() {
        for (ShardConnection c : shards) {
            if (c != null && c.channel() != null) {
                c.channel().close();
            }
        }
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
