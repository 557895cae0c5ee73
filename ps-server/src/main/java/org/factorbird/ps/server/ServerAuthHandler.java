package org.factorbird.ps.server;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.buffer.ByteBuf;

import org.factorbird.ps.protocol.Auth;
import org.factorbird.ps.protocol.Protocol;
import org.factorbird.ps.protocol.PsFrame;
import org.factorbird.ps.protocol.Requests;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The first stage of a connection to a server with a shared secret: answers the AUTH handshake (HMAC
 * challenge-response, see {@link Protocol}), lets STATUS through, refuses anything else and closes the connection,
 * and removes itself from the pipeline once the client has proved the secret, so authenticated traffic costs
 * nothing. Stateful (the nonces): one per channel.
 */
final class ServerAuthHandler extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(ServerAuthHandler.class);

    private final ShardState state;
    private byte[] clientNonce;
    private byte[] serverNonce;

    ServerAuthHandler(ShardState state) {
        this.state = state;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        PsFrame frame = (PsFrame) msg;
        if (frame.op() == Protocol.STATUS) {
            ctx.fireChannelRead(msg); // a health check needs no secret and changes nothing
            return;
        }
        try {
            state.requests++;
            state.bytesIn += frame.payload().writerIndex() + 4;
            if (frame.op() != Protocol.AUTH) {
                refuse(ctx, frame.requestId(), Protocol.opName(frame.op()) + " before authentication (this "
                        + "server needs AUTH with the cluster's shared secret)");
                return;
            }
            auth(ctx, frame.requestId(), frame.payload());
        } catch (IndexOutOfBoundsException e) {
            refuse(ctx, frame.requestId(), "AUTH payload is truncated");
        } finally {
            frame.release();
        }
    }

    private void auth(ChannelHandlerContext ctx, long id, ByteBuf p) {
        Requests.Auth a = Requests.auth(p);
        if (a.phase() == 1 && serverNonce == null && a.bytes().length == Protocol.NONCE_BYTES) {
            clientNonce = a.bytes();
            serverNonce = Auth.nonce();
            ByteBuf out = Protocol.startFrame(ctx.alloc(), (byte) (Protocol.AUTH | Protocol.REPLY), id,
                    Protocol.NONCE_BYTES + Protocol.PROOF_BYTES);
            out.writeBytes(serverNonce);
            out.writeBytes(Auth.serverProof(state.secret, clientNonce, serverNonce));
            write(ctx, out);
        } else if (a.phase() == 2 && serverNonce != null && a.bytes().length == Protocol.PROOF_BYTES) {
            if (!Auth.matches(Auth.clientProof(state.secret, serverNonce, clientNonce), a.bytes())) {
                refuse(ctx, id, "wrong shared secret");
                return;
            }
            LOG.info("shard {}: authenticated {}", state.shardIndex, ctx.channel().remoteAddress());
            ctx.pipeline().remove(this);
            write(ctx, Protocol.startFrame(ctx.alloc(), (byte) (Protocol.AUTH | Protocol.REPLY), id, 0));
        } else {
            refuse(ctx, id, "malformed or out-of-order AUTH (phase " + a.phase() + ")");
        }
    }

    private void write(ChannelHandlerContext ctx, ByteBuf out) {
        state.bytesOut += out.readableBytes();
        ctx.writeAndFlush(out, ctx.voidPromise());
    }

    /** Refuses an unauthenticated or failed connection: logged, answered with an ERROR, then closed. */
    static void refuse(ChannelHandlerContext ctx, ShardState state, long id, String message) {
        state.refused++;
        if (state.warnings.allow()) {
            LOG.warn("shard {}: refused connection from {}: {}{}", state.shardIndex, ctx.channel().remoteAddress(),
                    message, state.warnings.suppressedNote());
        }
        ctx.writeAndFlush(Protocol.error(ctx.alloc(), id, Protocol.E_AUTH, message))
                .addListener(ChannelFutureListener.CLOSE);
    }

    private void refuse(ChannelHandlerContext ctx, long id, String message) {
        refuse(ctx, state, id, message);
    }
}
