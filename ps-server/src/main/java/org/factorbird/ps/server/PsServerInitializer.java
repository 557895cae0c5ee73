package org.factorbird.ps.server;

import io.netty.channel.ChannelInitializer;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslContext;

import org.factorbird.ps.protocol.PsFrameDecoder;

/**
 * The pipeline of every accepted connection, in order: {@code [TLS ->] bytes -> frames (length prefix, maximum
 * size, magic, version) -> [AUTH, until the client has proved the shared secret ->] requests}.
 */
final class PsServerInitializer extends ChannelInitializer<SocketChannel> {

    private final ShardState state;
    private final SslContext tls;
    /** Every open connection, so that closing the server closes them (clients then fail fast, not by timeout). */
    private final ChannelGroup connections;

    PsServerInitializer(ShardState state, SslContext tls, ChannelGroup connections) {
        this.state = state;
        this.tls = tls;
        this.connections = connections;
    }

    @Override
    protected void initChannel(SocketChannel ch) {
        connections.add(ch);
        if (tls != null) {
            ch.pipeline().addLast("tls", tls.newHandler(ch.alloc()));
        }
        ch.pipeline().addLast("frames", new PsFrameDecoder(state.maxFrameBytes));
        if (state.secret != null) {
            ch.pipeline().addLast("auth", new ServerAuthHandler(state));
        }
        ch.pipeline().addLast("requests", new PsServerHandler(state));
    }
}
