package org.factorbird.ps.server;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.factorbird.ps.Hashing;
import org.factorbird.ps.ModelSpec;
import org.factorbird.ps.protocol.ProtocolException;
import org.factorbird.ps.protocol.Protocol;
import org.factorbird.ps.protocol.PsFrame;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one client connection: validates every request completely before it touches the store, so a bad
 * request gets an ERROR reply and changes nothing. Stateful (the run the connection joined): one per channel.
 * All instances of a server share one {@link ShardState} and run on its single event-loop thread.
 */
final class PsServerHandler extends SimpleChannelInboundHandler<PsFrame> {

    private static final Logger LOG = LoggerFactory.getLogger(PsServerHandler.class);

    /** Aggregates waiting for parties at once; more are refused (a flood must not exhaust memory). */
    static final int MAX_OPEN_AGGREGATES = 1024;

    private final ShardState state;
    /** The run this connection joined with its HELLO; 0 before. */
    private long joinedRun;
    private boolean authenticated;
    private byte[] clientNonce;
    private byte[] serverNonce;

    PsServerHandler(ShardState state) {
        this.state = state;
        this.authenticated = state.secret == null;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, PsFrame frame) {
        ByteBuf p = frame.payload();
        long id = frame.requestId();
        state.requests++;
        state.bytesIn += p.writerIndex() + 4;
        if (!authenticated && frame.op() != Protocol.AUTH && frame.op() != Protocol.STATUS) {
            refuse(ctx, id, Protocol.opName(frame.op()) + " before authentication (this server needs AUTH with "
                    + "the cluster's shared secret)");
            return;
        }
        try {
            switch (frame.op()) {
                case Protocol.AUTH:
                    auth(ctx, id, p);
                    break;
                case Protocol.HELLO:
                    hello(ctx, id, p);
                    break;
                case Protocol.PULL:
                    if (joined(ctx, id)) {
                        pull(ctx, id, p);
                    }
                    break;
                case Protocol.PUSH:
                case Protocol.SET:
                    if (joined(ctx, id)) {
                        push(ctx, id, p, frame.op() == Protocol.SET);
                    }
                    break;
                case Protocol.AGGREGATE:
                    if (joined(ctx, id)) {
                        aggregate(ctx, id, p);
                    }
                    break;
                case Protocol.STATUS:
                    status(ctx, id);
                    break;
                case Protocol.SCAN:
                    if (joined(ctx, id)) {
                        scan(ctx, id, p);
                    }
                    break;
                default:
                    reject(ctx, id, Protocol.E_UNKNOWN_OP, "unknown operation " + Protocol.opName(frame.op()));
            }
        } catch (IndexOutOfBoundsException e) {
            reject(ctx, id, Protocol.E_BAD_REQUEST, Protocol.opName(frame.op()) + " payload is truncated");
        }
    }

    private boolean joined(ChannelHandlerContext ctx, long id) {
        if (joinedRun == 0 || state.store == null) {
            reject(ctx, id, Protocol.E_NOT_READY, "send HELLO before any other request");
            return false;
        }
        if (joinedRun != state.runId) {
            reject(ctx, id, Protocol.E_MISMATCH, "run " + Long.toHexString(joinedRun) + " was replaced by run "
                    + Long.toHexString(state.runId) + " on this server");
            return false;
        }
        return true;
    }

    private void reject(ChannelHandlerContext ctx, long id, short code, String message) {
        if (state.warnings.allow()) {
            LOG.warn("shard {}: refused request {} from {}: {}{}", state.shardIndex, id,
                    ctx.channel().remoteAddress(), message, state.warnings.suppressedNote());
        }
        ctx.writeAndFlush(Protocol.error(ctx.alloc(), id, code, message));
    }

    /** Refuses an unauthenticated or failed connection: logged, answered with an ERROR, then closed. */
    private void refuse(ChannelHandlerContext ctx, long id, String message) {
        if (state.warnings.allow()) {
            LOG.warn("shard {}: refused connection from {}: {}{}", state.shardIndex, ctx.channel().remoteAddress(),
                    message, state.warnings.suppressedNote());
        }
        ctx.writeAndFlush(Protocol.error(ctx.alloc(), id, Protocol.E_AUTH, message))
                .addListener(ChannelFutureListener.CLOSE);
    }

    private void auth(ChannelHandlerContext ctx, long id, ByteBuf p) {
        if (state.secret == null) {
            refuse(ctx, id, "this server has no shared secret configured, but the client wants to authenticate");
            return;
        }
        byte phase = p.readByte();
        if (phase == 1 && serverNonce == null && p.readableBytes() == Protocol.NONCE_BYTES) {
            clientNonce = new byte[Protocol.NONCE_BYTES];
            p.readBytes(clientNonce);
            serverNonce = org.factorbird.ps.protocol.Auth.nonce();
            ByteBuf out = Protocol.startFrame(ctx.alloc(), (byte) (Protocol.AUTH | Protocol.REPLY), id,
                    Protocol.NONCE_BYTES + Protocol.PROOF_BYTES);
            out.writeBytes(serverNonce);
            out.writeBytes(org.factorbird.ps.protocol.Auth.serverProof(state.secret, clientNonce, serverNonce));
            reply(ctx, out);
        } else if (phase == 2 && serverNonce != null && !authenticated
                && p.readableBytes() == Protocol.PROOF_BYTES) {
            byte[] proof = new byte[Protocol.PROOF_BYTES];
            p.readBytes(proof);
            byte[] expected = org.factorbird.ps.protocol.Auth.clientProof(state.secret, serverNonce, clientNonce);
            if (!org.factorbird.ps.protocol.Auth.matches(expected, proof)) {
                refuse(ctx, id, "wrong shared secret");
                return;
            }
            authenticated = true;
            LOG.info("shard {}: authenticated {}", state.shardIndex, ctx.channel().remoteAddress());
            reply(ctx, Protocol.startFrame(ctx.alloc(), (byte) (Protocol.AUTH | Protocol.REPLY), id, 0));
        } else {
            refuse(ctx, id, "malformed or out-of-order AUTH (phase " + phase + ")");
        }
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
        // a party that is gone will never complete its aggregates: forget what it contributed alone
        state.aggregates.values().removeIf(a -> a.waiters.size() == 1 && a.waiters.get(0) == ctx);
        super.channelInactive(ctx);
    }

    // ------------------------------------------------------------------------------------------------

    private void hello(ChannelHandlerContext ctx, long id, ByteBuf p) {
        int shard = p.readInt();
        int shards = p.readInt();
        long runId = p.readLong();
        long seed = p.readLong();
        int nSegments = p.readInt();
        if (shard != state.shardIndex || shards != state.shardCount) {
            reject(ctx, id, Protocol.E_MISMATCH, "this server is shard " + state.shardIndex + " of "
                    + state.shardCount + ", the client expects shard " + shard + " of " + shards);
            return;
        }
        if (runId == 0) {
            reject(ctx, id, Protocol.E_BAD_REQUEST, "run id 0 is reserved");
            return;
        }
        if (nSegments < 1 || nSegments > Protocol.MAX_SEGMENTS || p.readableBytes() < 16L * nSegments + 2) {
            reject(ctx, id, Protocol.E_BAD_REQUEST, "HELLO with " + nSegments + " segments is malformed");
            return;
        }
        ModelSpec spec;
        try {
            List<ModelSpec.Segment> segments = new ArrayList<>(nSegments);
            for (int i = 0; i < nSegments; i++) {
                segments.add(new ModelSpec.Segment(p.readInt(), p.readInt(), p.readInt(), p.readFloat()));
            }
            spec = new ModelSpec(runId, seed, segments);
        } catch (IllegalArgumentException e) {
            reject(ctx, id, Protocol.E_BAD_REQUEST, e.getMessage());
            return;
        }
        String cluster = Protocol.readShortString(p);
        if (!cluster.isEmpty() && !cluster.equals(state.clusterId)) {
            reject(ctx, id, Protocol.E_MISMATCH, "this server belongs to cluster '" + state.clusterId
                    + "', the client expects cluster '" + cluster + "'");
            return;
        }
        int dim = spec.dim();
        if (state.requiredDim != 0 && dim != state.requiredDim) {
            reject(ctx, id, Protocol.E_MISMATCH, "this server stores " + state.requiredDim
                    + " floats per key (rank " + (state.requiredDim - 1) + "), the client asked for " + dim);
            return;
        }
        if (state.store != null && state.runId == runId && state.store.dim() != dim) {
            reject(ctx, id, Protocol.E_MISMATCH, "run " + Long.toHexString(runId) + " stores dim "
                    + state.store.dim() + ", the client asked for " + dim);
            return;
        }
        if (state.join(spec)) {
            LOG.info("shard {} of {}: started run {} ({}), first client {}", state.shardIndex, state.shardCount,
                    Long.toHexString(runId), spec, ctx.channel().remoteAddress());
        }
        joinedRun = runId;
        ByteBuf out = Protocol.startFrame(ctx.alloc(), (byte) (Protocol.HELLO | Protocol.REPLY), id, 20);
        out.writeInt(state.shardIndex).writeInt(state.shardCount).writeInt(dim).writeLong(state.store.size());
        reply(ctx, out);
    }

    private void status(ChannelHandlerContext ctx, long id) {
        int idBytes = state.clusterId.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        ByteBuf out = Protocol.startFrame(ctx.alloc(), (byte) (Protocol.STATUS | Protocol.REPLY), id,
                4 + 4 + 8 + 8 + 8 + 2 + idBytes);
        out.writeInt(state.shardIndex).writeInt(state.shardCount).writeLong(state.runId)
                .writeLong(state.store == null ? 0 : state.store.size()).writeLong(state.requests);
        Protocol.writeShortString(out, state.clusterId);
        reply(ctx, out);
    }

    private void pull(ChannelHandlerContext ctx, long id, ByteBuf p) {
        byte flags = p.readByte();
        int n = p.readInt();
        if (n < 0 || p.readableBytes() != 8L * n) {
            reject(ctx, id, Protocol.E_BAD_REQUEST, "PULL of " + n + " keys must carry " + 8L * n
                    + " B of keys but carries " + p.readableBytes() + " B");
            return;
        }
        ColumnStore store = state.store;
        int dim = store.dim();
        long replyBytes = 4 + Protocol.HEADER_BYTES + 8 + 4L * n * dim;
        if (replyBytes > state.maxFrameBytes) {
            reject(ctx, id, Protocol.E_BAD_REQUEST, "PULL of " + n + " keys needs a " + replyBytes
                    + " B reply, above the maximum frame of " + state.maxFrameBytes + " B");
            return;
        }
        boolean readOnly = (flags & Protocol.PULL_READ_ONLY) != 0;
        if (!readOnly && !validKeys(ctx, id, p, n)) {
            return;
        }
        ByteBuf out = Protocol.startFrame(ctx.alloc(), (byte) (Protocol.PULL | Protocol.REPLY), id,
                8 + 4 * n * dim);
        out.writeInt(n).writeInt(dim);
        // one float view over the whole reply body: bulk copies per key, no per-key objects
        int base = out.writerIndex();
        out.writeZero(4 * n * dim);
        FloatBuffer body = out.nioBuffer(base, 4 * n * dim).asFloatBuffer();
        for (int i = 0; i < n; i++) {
            long key = p.readLong();
            int slot = readOnly ? store.find(key) : store.findOrCreate(key);
            if (slot >= 0) {
                body.position(i * dim);
                body.put(store.values(), slot * dim, dim); // values() again: a create may have grown the table
            }
        }
        state.keysServed += n;
        reply(ctx, out);
    }

    private boolean validKeys(ChannelHandlerContext ctx, long id, ByteBuf p, int n) {
        int at = p.readerIndex();
        for (int i = 0; i < n; i++) {
            if (p.getLong(at + 8 * i) == ColumnStore.EMPTY) {
                reject(ctx, id, Protocol.E_BAD_REQUEST, "key " + ColumnStore.EMPTY + " is reserved");
                return false;
            }
        }
        return true;
    }

    /** PUSH adds the values, SET overwrites them; both validate everything before touching the store. */
    private void push(ChannelHandlerContext ctx, long id, ByteBuf p, boolean overwrite) {
        int n = p.readInt();
        int dim = p.readInt();
        ColumnStore store = state.store;
        if (dim != store.dim()) {
            reject(ctx, id, Protocol.E_MISMATCH, "PUSH with dim " + dim + " to a store of dim " + store.dim());
            return;
        }
        if (n < 0 || p.readableBytes() != (long) n * Protocol.bytesPerKey(dim)) {
            reject(ctx, id, Protocol.E_BAD_REQUEST, "PUSH of " + n + " keys x " + dim + " must carry "
                    + (long) n * Protocol.bytesPerKey(dim) + " B but carries " + p.readableBytes() + " B");
            return;
        }
        if (!validKeys(ctx, id, p, n)) {
            return;
        }
        int keysAt = p.readerIndex();
        FloatBuffer deltas = p.nioBuffer(keysAt + 8 * n, 4 * n * dim).asFloatBuffer();
        for (int i = 0; i < n * dim; i++) {
            if (!Float.isFinite(deltas.get(i))) {
                reject(ctx, id, Protocol.E_BAD_REQUEST, "PUSH carries a non-finite delta for key "
                        + p.getLong(keysAt + 8 * (i / dim)) + " (training diverged? lower the learning rate)");
                return;
            }
        }
        for (int i = 0; i < n; i++) {
            long key = p.getLong(keysAt + 8 * i);
            int off = store.findOrCreate(key) * dim;
            float[] values = store.values();
            int d = i * dim;
            if (overwrite) {
                for (int j = 0; j < dim; j++) {
                    values[off + j] = deltas.get(d + j);
                }
            } else {
                for (int j = 0; j < dim; j++) {
                    values[off + j] += deltas.get(d + j);
                }
            }
        }
        state.keysServed += n;
        ByteBuf out = Protocol.startFrame(ctx.alloc(), (byte) ((overwrite ? Protocol.SET : Protocol.PUSH)
                | Protocol.REPLY), id, 4);
        out.writeInt(n);
        reply(ctx, out);
    }

    private void aggregate(ChannelHandlerContext ctx, long id, ByteBuf p) {
        long aggId = p.readLong();
        int parties = p.readInt();
        int n = p.readInt();
        if (parties < 1 || n < 0 || n > 4096 || p.readableBytes() != 9L * n) {
            reject(ctx, id, Protocol.E_BAD_REQUEST, "AGGREGATE with " + parties + " parties and " + n
                    + " values is malformed");
            return;
        }
        if (state.shardIndex != 0) {
            reject(ctx, id, Protocol.E_BAD_REQUEST, "AGGREGATE goes to shard 0, this is shard " + state.shardIndex);
            return;
        }
        byte[] ops = new byte[n];
        p.readBytes(ops);
        double[] values = new double[n];
        for (int i = 0; i < n; i++) {
            values[i] = p.readDouble();
        }
        Aggregate agg = state.aggregates.get(aggId);
        if (agg == null && state.aggregates.size() >= MAX_OPEN_AGGREGATES) {
            reject(ctx, id, Protocol.E_BAD_REQUEST, "too many open aggregates (" + MAX_OPEN_AGGREGATES + ")");
            return;
        }
        if (agg == null) {
            agg = new Aggregate(parties, ops, values);
            state.aggregates.put(aggId, agg);
        } else if (agg.parties != parties || !Arrays.equals(agg.ops, ops)) {
            reject(ctx, id, Protocol.E_MISMATCH, "AGGREGATE " + aggId + " has " + agg.parties + " parties and "
                    + agg.ops.length + " values, this party sent " + parties + " and " + n);
            return;
        } else {
            agg.combine(values);
        }
        agg.waiters.add(ctx);
        agg.requestIds.add(id);
        if (agg.complete()) {
            state.aggregates.remove(aggId);
            for (int w = 0; w < agg.waiters.size(); w++) {
                ChannelHandlerContext c = agg.waiters.get(w);
                ByteBuf out = Protocol.startFrame(c.alloc(), (byte) (Protocol.AGGREGATE | Protocol.REPLY),
                        agg.requestIds.get(w), 4 + 8 * n);
                out.writeInt(n);
                for (double v : agg.acc) {
                    out.writeDouble(v);
                }
                reply(c, out);
            }
        }
    }

    private void scan(ChannelHandlerContext ctx, long id, ByteBuf p) {
        int slice = p.readInt();
        int slices = p.readInt();
        long cursor = p.readLong();
        int limit = p.readInt();
        ColumnStore store = state.store;
        int dim = store.dim();
        int maxKeys = Protocol.maxKeysPerFrame(state.maxFrameBytes, dim);
        if (slices < 1 || slice < 0 || slice >= slices || cursor < 0 || limit < 1 || limit > maxKeys) {
            reject(ctx, id, Protocol.E_BAD_REQUEST, "SCAN of slice " + slice + "/" + slices + " from " + cursor
                    + " limit " + limit + " is out of range (limit <= " + maxKeys + ")");
            return;
        }
        int capacity = store.capacity();
        int[] slots = new int[Math.min(limit, store.size())];
        int n = 0;
        long next = cursor;
        while (next < capacity && n < slots.length) {
            long key = store.keyAt((int) next);
            if (key != ColumnStore.EMPTY && Hashing.sliceOf(key, slices) == slice) {
                slots[n++] = (int) next;
            }
            next++;
        }
        if (next >= capacity) {
            next = -1;
        }
        ByteBuf out = Protocol.startFrame(ctx.alloc(), (byte) (Protocol.SCAN | Protocol.REPLY), id,
                8 + 4 + 4 + n * Protocol.bytesPerKey(dim));
        out.writeLong(next).writeInt(n).writeInt(dim);
        for (int i = 0; i < n; i++) {
            out.writeLong(store.keyAt(slots[i]));
        }
        float[] values = store.values();
        for (int i = 0; i < n; i++) {
            int off = slots[i] * dim;
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
