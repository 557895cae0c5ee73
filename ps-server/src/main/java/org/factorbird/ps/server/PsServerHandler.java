package org.factorbird.ps.server;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;

import java.util.Locale;
import java.util.concurrent.TimeUnit;

import org.factorbird.ps.Ranges;
import org.factorbird.ps.protocol.Protocol;
import org.factorbird.ps.protocol.ProtocolException;
import org.factorbird.ps.protocol.PsFrame;
import org.factorbird.ps.protocol.Requests;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one client connection: decodes each request ({@link Requests}) and checks it against this server's state
 * before it touches the store, so a bad request gets an ERROR reply and changes nothing; applies it to the
 * {@link ColumnStore} or the {@link AggregateTable} of the run the connection joined, and replies. Stateful (that
 * run): one per channel. All instances of a server share one {@link ShardState} and run on its single event-loop
 * thread.
 */
final class PsServerHandler extends SimpleChannelInboundHandler<PsFrame> {

    private static final Logger LOG = LoggerFactory.getLogger(PsServerHandler.class);

    private final ShardState state;
    /** The run this connection joined with its HELLO; null before. */
    private ShardState.Run run;
    /** Decoding scratch, shared by the server's connections: they all run on its one event-loop thread. */
    private final Requests.Buffers buffers;

    PsServerHandler(ShardState state) {
        this.state = state;
        this.buffers = state.buffers;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, PsFrame frame) {
        ByteBuf p = frame.payload();
        long id = frame.requestId();
        byte op = frame.op();
        state.requests++;
        state.bytesIn += p.writerIndex() + 4;
        try {
            switch (op) {
                case Protocol.STATUS -> status(ctx, id);
                case Protocol.HELLO -> hello(ctx, id, Requests.hello(p));
                // the run is checked before the payload, as a request without HELLO is refused whatever it holds
                case Protocol.PULL -> pull(ctx, id, store(), Requests.pull(p, buffers));
                case Protocol.PUSH, Protocol.SET -> push(ctx, id, op, store(),
                        Requests.push(p, Protocol.opName(op), buffers));
                case Protocol.AGGREGATE -> aggregate(ctx, id, joined(), Requests.aggregate(p));
                case Protocol.SCAN -> scan(ctx, id, store(), Requests.scan(p));
                case Protocol.AUTH -> ServerAuthHandler.refuse(ctx, state, id, state.secret == null
                        ? "this server has no shared secret configured, but the client wants to authenticate"
                        : "malformed or out-of-order AUTH (this connection is authenticated)");
                default -> reject(ctx, id, Protocol.E_UNKNOWN_OP, "unknown operation " + Protocol.opName(op));
            }
        } catch (Requests.BadRequest e) {
            reject(ctx, id, e.code, e.getMessage());
        } catch (IndexOutOfBoundsException e) {
            reject(ctx, id, Protocol.E_BAD_REQUEST, Protocol.opName(op) + " payload is truncated");
        } finally {
            buffers.trim();
            state.refreshGauges();
        }
    }

    /** The store of the run this connection joined; refuses the request without one. */
    private ColumnStore store() {
        return joined().store;
    }

    private ShardState.Run joined() {
        if (run == null) {
            throw new Requests.BadRequest(Protocol.E_NOT_READY, "send HELLO before any other request");
        }
        return run;
    }

    private void reject(ChannelHandlerContext ctx, long id, short code, String message) {
        state.refused++;
        if (state.warnings.allow()) {
            LOG.warn("shard {}: refused request {} from {}: {}{}", state.shardIndex, id,
                    ctx.channel().remoteAddress(), message, state.warnings.suppressedNote());
        }
        ctx.writeAndFlush(Protocol.error(ctx.alloc(), id, code, message));
    }

    private void reply(ChannelHandlerContext ctx, ByteBuf out) {
        state.bytesOut += out.readableBytes();
        ctx.writeAndFlush(out, ctx.voidPromise());
        if (!ctx.channel().isWritable()) {
            // The client does not read its replies: stop reading its requests until it does, so that replies
            // cannot pile up in memory without bound.
            ctx.channel().config().setAutoRead(false);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        if (ctx.channel().isWritable()) {
            ctx.channel().config().setAutoRead(true);
        }
        super.channelWritabilityChanged(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        leave(ctx);
        super.channelInactive(ctx);
    }

    /** This connection leaves its run; the run's last connection schedules its end after the linger. */
    private void leave(ChannelHandlerContext ctx) {
        if (run == null) {
            return;
        }
        ShardState.Run left = run;
        run = null;
        left.aggregates.forget(ctx);
        if (!state.leave(left)) {
            return;
        }
        long idleSince = left.idleSince;
        ctx.executor().schedule(() -> {
            if (state.freeIfIdle(left, idleSince)) {
                state.refreshGauges();
                LOG.info("shard {}: run {} ended (no connection for {} ms): freed {} keys, {} MB; {}",
                        state.shardIndex, Long.toHexString(left.id), state.lingerMillis, left.store.size(),
                        String.format(Locale.ROOT, "%.1f", left.tableBytes() / 1e6), state.describeRuns());
            }
        }, state.lingerMillis, TimeUnit.MILLISECONDS);
    }

    // ------------------------------------------------------------------------------------------------
    //  requests
    // ------------------------------------------------------------------------------------------------

    private void hello(ChannelHandlerContext ctx, long id, Requests.Hello h) {
        if (h.shardIndex() != state.shardIndex || h.shardCount() != state.shardCount) {
            throw new Requests.BadRequest(Protocol.E_MISMATCH, "this server is shard " + state.shardIndex + " of "
                    + state.shardCount + ", the client expects shard " + h.shardIndex() + " of " + h.shardCount());
        }
        if (!h.clusterId().isEmpty() && !h.clusterId().equals(state.clusterId)) {
            throw new Requests.BadRequest(Protocol.E_MISMATCH, "this server belongs to cluster '" + state.clusterId
                    + "', the client expects cluster '" + h.clusterId() + "'");
        }
        long runId = h.spec().runId();
        int dim = h.spec().dim();
        if (state.requiredDim != 0 && dim != state.requiredDim) {
            throw new Requests.BadRequest(Protocol.E_MISMATCH, "this server stores " + state.requiredDim
                    + " floats per key (rank " + (state.requiredDim - 1) + "), the client asked for " + dim);
        }
        ShardState.Run held = state.runs.get(runId);
        if (held != null && held.store.dim() != dim) {
            throw new Requests.BadRequest(Protocol.E_MISMATCH, "run " + Long.toHexString(runId) + " stores dim "
                    + held.store.dim() + ", the client asked for " + dim);
        }
        if (run == null || run.id != runId) {
            // a connection belongs to one run at a time: it leaves its old run only once the new one has room
            ShardState.Joined joined = state.join(h.spec());
            leave(ctx);
            run = joined.run();
            if (joined.started()) {
                LOG.info("shard {} of {}: started run {} ({}), first client {}; {}", state.shardIndex,
                        state.shardCount, Long.toHexString(runId), h.spec(), ctx.channel().remoteAddress(),
                        state.describeRuns());
            }
        }
        ByteBuf out = Protocol.startFrame(ctx.alloc(), (byte) (Protocol.HELLO | Protocol.REPLY), id, 20);
        out.writeInt(state.shardIndex).writeInt(state.shardCount).writeInt(dim).writeLong(run.store.size());
        reply(ctx, out);
    }

    private void status(ChannelHandlerContext ctx, long id) {
        int idBytes = state.clusterId.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        ByteBuf out = Protocol.startFrame(ctx.alloc(), (byte) (Protocol.STATUS | Protocol.REPLY), id,
                4 + 4 + 8 + 4 + 4 + 28 * state.runs.size() + 2 + idBytes);
        out.writeInt(state.shardIndex).writeInt(state.shardCount).writeLong(state.requests).writeInt(state.maxRuns)
                .writeInt(state.runs.size());
        for (ShardState.Run r : state.runs.values()) {
            out.writeLong(r.id).writeLong(r.store.size()).writeLong(r.tableBytes()).writeInt(r.connections);
        }
        Protocol.writeShortString(out, state.clusterId);
        reply(ctx, out);
    }

    private void pull(ChannelHandlerContext ctx, long id, ColumnStore store, Requests.Pull r) {
        int n = r.n();
        Ranges ranges = checkRanges(r.ranges(), store, "PULL");
        int width = ranges.width(store.dim());
        long replyBytes = 4 + Protocol.HEADER_BYTES + 8 + 4L * n * width;
        if (replyBytes > state.maxFrameBytes) {
            throw new Requests.BadRequest(Protocol.E_BAD_REQUEST, "PULL of " + n + " keys needs a " + replyBytes
                    + " B reply, above the maximum frame of " + state.maxFrameBytes + " B");
        }
        ByteBuf out = Protocol.startFrame(ctx.alloc(), (byte) (Protocol.PULL | Protocol.REPLY), id,
                8 + 4 * n * width);
        out.writeInt(n).writeInt(width);
        // the values gathered into one array, then one bulk copy into the frame
        float[] values = buffers.ensure(n, n * width).values;
        store.read(r.keys(), n, r.readOnly(), values, ranges, buffers.slots);
        int base = out.writerIndex();
        out.writeZero(4 * n * width);
        out.nioBuffer(base, 4 * n * width).asFloatBuffer().put(values, 0, n * width);
        state.keysServed += n;
        reply(ctx, out);
    }

    /** PUSH adds the values, SET overwrites them (restoring a snapshot). */
    private void push(ChannelHandlerContext ctx, long id, byte op, ColumnStore store, Requests.Push r) {
        Ranges ranges = checkRanges(r.ranges(), store, Protocol.opName(op));
        int width = r.width();
        if (width != ranges.width(store.dim())) {
            throw new Requests.BadRequest(Protocol.E_MISMATCH, Protocol.opName(op) + " with dim " + width
                    + " to a store of dim " + store.dim());
        }
        store.apply(r.keys(), r.n(), r.values(), ranges, op == Protocol.SET, buffers.slots);
        state.keysServed += r.n();
        ByteBuf out = Protocol.startFrame(ctx.alloc(), (byte) (op | Protocol.REPLY), id, 4);
        out.writeInt(r.n());
        reply(ctx, out);
    }

    private static Ranges checkRanges(Ranges ranges, ColumnStore store, String op) {
        if (!ranges.fits(store.dim())) {
            throw new Requests.BadRequest(Protocol.E_MISMATCH, op + " of ranges " + ranges + " beyond the "
                    + store.dim() + " floats per key of this store");
        }
        return ranges;
    }

    private void aggregate(ChannelHandlerContext ctx, long id, ShardState.Run joined, Requests.Aggregate r) {
        if (state.shardIndex != 0) {
            throw new Requests.BadRequest(Protocol.E_BAD_REQUEST, "AGGREGATE goes to shard 0, this is shard "
                    + state.shardIndex);
        }
        Aggregate done = joined.aggregates.arrive(r, ctx, id);
        if (done == null) {
            return;
        }
        int n = done.acc.length;
        for (int w = 0; w < done.waiters.size(); w++) {
            ChannelHandlerContext c = done.waiters.get(w);
            ByteBuf out = Protocol.startFrame(c.alloc(), (byte) (Protocol.AGGREGATE | Protocol.REPLY),
                    done.requestIds.get(w), 4 + 8 * n);
            out.writeInt(n);
            for (double v : done.acc) {
                out.writeDouble(v);
            }
            reply(c, out);
        }
    }

    private void scan(ChannelHandlerContext ctx, long id, ColumnStore store, Requests.Scan r) {
        int dim = store.dim();
        int maxKeys = Protocol.maxKeysPerFrame(state.maxFrameBytes, dim);
        if (r.slices() < 1 || r.slice() < 0 || r.slice() >= r.slices() || r.cursor() < 0 || r.limit() < 1
                || r.limit() > maxKeys) {
            throw new Requests.BadRequest(Protocol.E_BAD_REQUEST, "SCAN of slice " + r.slice() + "/" + r.slices()
                    + " from " + r.cursor() + " limit " + r.limit() + " is out of range (limit <= " + maxKeys + ")");
        }
        ColumnStore.ScanPage page = store.scan(r.slice(), r.slices(), r.cursor(), r.limit());
        int n = page.count();
        ByteBuf out = Protocol.startFrame(ctx.alloc(), (byte) (Protocol.SCAN | Protocol.REPLY), id,
                8 + 4 + 4 + n * Protocol.bytesPerKey(dim));
        out.writeLong(page.nextCursor()).writeInt(n).writeInt(dim);
        for (int i = 0; i < n; i++) {
            out.writeLong(store.keyAt(page.slots()[i]));
        }
        float[] values = store.values();
        for (int i = 0; i < n; i++) {
            int off = page.slots()[i] * dim;
            for (int j = 0; j < dim; j++) {
                out.writeFloat(values[off + j]);
            }
        }
        reply(ctx, out);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable c = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        if (c instanceof ProtocolException || c instanceof TooLongFrameException) {
            // The byte stream cannot be re-synchronised: say why, then close this connection only.
            state.refused++;
            short code = c instanceof ProtocolException ? ((ProtocolException) c).code() : Protocol.E_BAD_REQUEST;
            if (state.warnings.allow()) {
                LOG.warn("shard {}: closing connection from {}: {}{}", state.shardIndex,
                        ctx.channel().remoteAddress(), c.getMessage(), state.warnings.suppressedNote());
            }
            ctx.writeAndFlush(Protocol.error(ctx.alloc(), 0, code, c.getMessage()))
                    .addListener(ChannelFutureListener.CLOSE);
        } else {
            LOG.warn("shard {}: closing connection from {} after an error", state.shardIndex,
                    ctx.channel().remoteAddress(), cause);
            ctx.close();
        }
    }
}
