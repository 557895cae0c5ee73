package org.factorbird.ps;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;

import java.net.InetSocketAddress;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import org.factorbird.ps.client.internal.Pending;
import org.factorbird.ps.client.internal.ShardConnection;
import org.factorbird.ps.protocol.Protocol;
import org.factorbird.ps.protocol.PsFrameDecoder;

/**
 * Asynchronous client of a sharded parameter server: batched pull and push of 64-bit keys with {@code dim}
 * floats each, plus an aggregate-and-barrier operation and a paged scan for output.
 *
 * <p>Keys in one request must be distinct (any order); each is sent to shard {@link Hashing#shardOf}. Requests
 * are split per shard and into frames of at most the maximum frame size, written without waiting, and answered
 * through the returned future; at most {@link PsClientConfig#maxInFlight()} requests per server are unanswered at
 * a time, beyond which calls block. One thread issues requests (a Flink task thread); replies are handled on one
 * Netty thread owned by this client. Array arguments must not be touched until the future completes.
 */
public final class PsClient implements AutoCloseable {

    private final PsClientConfig config;
    private final EventLoopGroup group;
    private final ShardConnection[] shards;
    private final int dim;
    private final int maxKeysPerFrame;
    private final ByteBufAllocator alloc;

    private PsClient(PsClientConfig config, EventLoopGroup group, ShardConnection[] shards, ByteBufAllocator alloc) {
        this.config = config;
        this.group = group;
        this.shards = shards;
        this.dim = config.model().dim();
        this.maxKeysPerFrame = Protocol.maxKeysPerFrame(config.maxFrameBytes(), dim);
        this.alloc = alloc;
    }

    /**
     * Connects to every server and checks, with a HELLO, that server {@code i} is shard {@code i} of the same
     * count and holds (or now starts) this client's model.
     *
     * @throws PsException naming the server that cannot be reached or does not match
     */
    public static PsClient connect(PsClientConfig config) {
        List<String> servers = config.servers();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        ShardConnection[] conns = new ShardConnection[servers.size()];
        PsClient client = null;
        try {
            for (int i = 0; i < conns.length; i++) {
                ShardConnection conn = new ShardConnection(i, servers.get(i), config.maxInFlight());
                InetSocketAddress addr = PsClientConfig.parseAddress(servers.get(i));
                Bootstrap b = new Bootstrap().group(group).channel(NioSocketChannel.class)
                        .option(ChannelOption.TCP_NODELAY, true)
                        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, config.connectTimeoutMs())
                        .handler(new ChannelInitializer<SocketChannel>() {
                            @Override
                            protected void initChannel(SocketChannel ch) {
                                if (config.tls() != null) {
                                    ch.pipeline().addLast("tls", config.tls().newHandler(ch.alloc(),
                                            addr.getHostString(), addr.getPort()));
                                }
                                ch.pipeline().addLast("frames", new PsFrameDecoder(config.maxFrameBytes()));
                                ch.pipeline().addLast("requests", conn);
                            }
                        });
                ChannelFuture f = b.connect(new InetSocketAddress(addr.getHostString(), addr.getPort()));
                f.awaitUninterruptibly();
                if (!f.isSuccess()) {
                    throw new PsException("cannot reach " + conn.describe() + ": " + rootMessage(f.cause()),
                            f.cause());
                }
                conn.attach(f.channel());
                conns[i] = conn;
            }
            client = new PsClient(config, group, conns, conns[0].channel().alloc());
            client.handshake();
            return client;
        } catch (RuntimeException e) {
            if (client != null) {
                client.close();
            } else {
                for (ShardConnection c : conns) {
                    if (c != null) {
                        c.channel().close();
                    }
                }
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            }
            throw e;
        }
    }

    private static String rootMessage(Throwable t) {
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }

    /** AUTH on every connection: check the server's proof, then prove the client's knowledge of the secret. */
    private void authenticate() {
        byte[] secret = config.secret();
        for (ShardConnection conn : shards) {
            byte[] clientNonce = org.factorbird.ps.protocol.Auth.nonce();
            CompletableFuture<byte[]> challenge = new CompletableFuture<>();
            long id = conn.nextRequestId();
            ByteBuf first = Protocol.startFrame(alloc, Protocol.AUTH, id, 1 + Protocol.NONCE_BYTES);
            first.writeByte(1).writeBytes(clientNonce);
            conn.send(id, first, new Pending() {
                @Override
                public void onReply(ByteBuf p) {
                    byte[] serverNonce = new byte[Protocol.NONCE_BYTES];
                    byte[] proof = new byte[Protocol.PROOF_BYTES];
                    p.readBytes(serverNonce).readBytes(proof);
                    if (!org.factorbird.ps.protocol.Auth.matches(
                            org.factorbird.ps.protocol.Auth.serverProof(secret, clientNonce, serverNonce), proof)) {
                        throw new PsException(conn.describe() + " does not know the cluster's shared secret");
                    }
                    challenge.complete(serverNonce);
                }

                @Override
                public void onFailure(Throwable cause) {
                    challenge.completeExceptionally(cause);
                }
            });
            conn.flush();
            byte[] serverNonce = await(challenge, config.connectTimeoutMs());
            CompletableFuture<Void> done = new CompletableFuture<>();
            long id2 = conn.nextRequestId();
            ByteBuf second = Protocol.startFrame(alloc, Protocol.AUTH, id2, 1 + Protocol.PROOF_BYTES);
            second.writeByte(2).writeBytes(org.factorbird.ps.protocol.Auth.clientProof(secret, serverNonce,
                    clientNonce));
            conn.send(id2, second, new Pending() {
                @Override
                public void onReply(ByteBuf p) {
                    done.complete(null);
                }

                @Override
                public void onFailure(Throwable cause) {
                    done.completeExceptionally(cause);
                }
            });
            conn.flush();
            await(done, config.connectTimeoutMs());
        }
    }

    private void handshake() {
        if (config.secret() != null) {
            authenticate();
        }
        ModelSpec m = config.model();
        CompletableFuture<?>[] replies = new CompletableFuture<?>[shards.length];
        for (int i = 0; i < shards.length; i++) {
            ShardConnection conn = shards[i];
            int expect = i;
            CompletableFuture<Void> reply = new CompletableFuture<>();
            long id = conn.nextRequestId();
            ByteBuf frame = Protocol.hello(alloc, id, i, shards.length, m, config.clusterId());
            conn.send(id, frame, new Pending() {
                @Override
                public void onReply(ByteBuf p) {
                    int index = p.readInt();
                    int count = p.readInt();
                    int serverDim = p.readInt();
                    if (index != expect || count != shards.length || serverDim != m.dim()) {
                        throw new PsException(conn.describe() + " is shard " + index + " of " + count
                                + " with dim " + serverDim + ", but the client expects shard " + expect + " of "
                                + shards.length + " with dim " + m.dim() + " (check the order of --ps)");
                    }
                    reply.complete(null);
                }

                @Override
                public void onFailure(Throwable cause) {
                    reply.completeExceptionally(cause);
                }
            });
            conn.flush();
            replies[i] = reply;
        }
        for (CompletableFuture<?> r : replies) {
            await(r, config.connectTimeoutMs());
        }
    }

    public int dim() {
        return dim;
    }

    public int shardCount() {
        return shards.length;
    }

    /** Per shard: {requests sent, bytes sent, bytes received} since this client connected. */
    public long[][] traffic() {
        long[][] t = new long[shards.length][];
        for (int i = 0; i < shards.length; i++) {
            t[i] = shards[i].traffic();
        }
        return t;
    }

    public PsClientConfig config() {
        return config;
    }

    /**
     * Pulls the values of {@code keys[0..n)} into {@code values[i*dim..(i+1)*dim)}. Unknown keys are created with
     * their deterministic initial values, or, with {@code readOnly}, read as zeros and not created.
     */
    public CompletableFuture<Void> pull(long[] keys, int n, float[] values, boolean readOnly) {
        checkArrays(keys, n, values);
        return split(keys, n, (conn, positions, from, to, done) -> {
            int count = to - from;
            long id = conn.nextRequestId();
            ByteBuf frame = Protocol.pull(alloc, id, readOnly, keys, positions, from, to);
            conn.send(id, frame, new Pending() {
                @Override
                public void onReply(ByteBuf p) {
                    int replyCount = p.readInt();
                    int replyDim = p.readInt();
                    if (replyCount != count || replyDim != dim
                            || p.readableBytes() != 4L * count * dim) {
                        throw new PsException(conn.describe() + " answered a pull of " + count + " keys x " + dim
                                + " with " + replyCount + " keys x " + replyDim + " (" + p.readableBytes() + " B)");
                    }
                    FloatBuffer floats = p.nioBuffer().asFloatBuffer();
                    for (int i = from; i < to; i++) {
                        floats.get(values, positions[i] * dim, dim);
                    }
                    done.partDone();
                }

                @Override
                public void onFailure(Throwable cause) {
                    done.fail(cause);
                }
            });
        });
    }

    /** Adds {@code deltas[i*dim..(i+1)*dim)} to the values of {@code keys[i]}, for i in [0, n). */
    public CompletableFuture<Void> push(long[] keys, int n, float[] deltas) {
        return write(Protocol.PUSH, keys, n, deltas);
    }

    /** Overwrites the values of {@code keys[i]} with {@code values[i*dim..(i+1)*dim)} (snapshot restore). */
    public CompletableFuture<Void> set(long[] keys, int n, float[] values) {
        return write(Protocol.SET, keys, n, values);
    }

    private CompletableFuture<Void> write(byte op, long[] keys, int n, float[] deltas) {
        checkArrays(keys, n, deltas);
        return split(keys, n, (conn, positions, from, to, done) -> {
            int count = to - from;
            long id = conn.nextRequestId();
            ByteBuf frame = Protocol.keysAndValues(alloc, op, id, dim, keys, deltas, positions, from, to);
            conn.send(id, frame, new Pending() {
                @Override
                public void onReply(ByteBuf p) {
                    int applied = p.readInt();
                    if (applied != count) {
                        throw new PsException(conn.describe() + " applied " + applied + " of " + count + " pushed keys");
                    }
                    done.partDone();
                }

                @Override
                public void onFailure(Throwable cause) {
                    done.fail(cause);
                }
            });
        });
    }

    /**
     * Contributes {@code values} to the aggregate {@code id} and completes, for every party, once all
     * {@code parties} have contributed: element i combined with {@code ops[i]} ({@link Protocol#AGG_SUM},
     * {@code AGG_MIN}, {@code AGG_MAX}). Doubles as a barrier. Handled by shard 0.
     */
    public CompletableFuture<double[]> aggregate(long id, int parties, byte[] ops, double[] values) {
        if (ops.length != values.length) {
            throw new IllegalArgumentException("ops (" + ops.length + ") and values (" + values.length
                    + ") must have the same length");
        }
        CompletableFuture<double[]> result = new CompletableFuture<>();
        ShardConnection conn = shards[0];
        long requestId = conn.nextRequestId();
        conn.send(requestId, Protocol.aggregate(alloc, requestId, id, parties, ops, values), new Pending() {
            @Override
            public void onReply(ByteBuf p) {
                int n = p.readInt();
                if (n != values.length) {
                    throw new PsException(conn.describe() + " answered aggregate " + id + " with " + n
                            + " values, expected " + values.length);
                }
                double[] out = new double[n];
                for (int i = 0; i < n; i++) {
                    out[i] = p.readDouble();
                }
                result.complete(out);
            }

            @Override
            public void onFailure(Throwable cause) {
                result.completeExceptionally(cause);
            }
        });
        conn.flush();
        return result;
    }

    /** One page of a {@link #scan}: keys and their values; {@code nextCursor} is -1 after the last page. */
    public static final class ScanPage {
        public final long nextCursor;
        public final int count;
        public final long[] keys;
        public final float[] values;

        ScanPage(long nextCursor, int count, long[] keys, float[] values) {
            this.nextCursor = nextCursor;
            this.count = count;
            this.keys = keys;
            this.values = values;
        }
    }

    /**
     * Reads up to {@code limit} keys of output slice {@code slice} of {@code slices} ({@link Hashing#sliceOf})
     * stored on {@code shard}, starting at {@code cursor} (0 for the first page).
     */
    public CompletableFuture<ScanPage> scan(int shard, int slice, int slices, long cursor, int limit) {
        int pageLimit = Math.min(limit, maxKeysPerFrame);
        CompletableFuture<ScanPage> result = new CompletableFuture<>();
        ShardConnection conn = shards[shard];
        long requestId = conn.nextRequestId();
        conn.send(requestId, Protocol.scan(alloc, requestId, slice, slices, cursor, pageLimit), new Pending() {
            @Override
            public void onReply(ByteBuf p) {
                long next = p.readLong();
                int n = p.readInt();
                int replyDim = p.readInt();
                if (n < 0 || n > pageLimit || replyDim != dim || p.readableBytes() != (long) n * (8 + 4 * dim)) {
                    throw new PsException(conn.describe() + " sent a malformed scan page (" + n + " keys x "
                            + replyDim + ")");
                }
                long[] keys = new long[n];
                float[] values = new float[n * dim];
                for (int i = 0; i < n; i++) {
                    keys[i] = p.readLong();
                }
                p.nioBuffer().asFloatBuffer().get(values);
                result.complete(new ScanPage(next, n, keys, values));
            }

            @Override
            public void onFailure(Throwable cause) {
                result.completeExceptionally(cause);
            }
        });
        conn.flush();
        return result;
    }

    /** Waits for {@code f} for at most the configured request timeout, turning failures into {@link PsException}. */
    public <T> T await(CompletableFuture<T> f) {
        return await(f, config.requestTimeoutMs());
    }

    /** Waits without a time limit (for barriers, whose wait depends on the slowest subtask). */
    public <T> T awaitUnbounded(CompletableFuture<T> f) {
        return await(f, Long.MAX_VALUE);
    }

    private static <T> T await(CompletableFuture<T> f, long timeoutMs) {
        try {
            return timeoutMs == Long.MAX_VALUE ? f.get() : f.get(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            throw c instanceof PsException ? new PsException(c.getMessage(), c) : new PsException(String.valueOf(c), c);
        } catch (TimeoutException e) {
            throw new PsException("no reply from the parameter server within " + timeoutMs + " ms", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PsException("interrupted while waiting for the parameter server", e);
        }
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

    // ------------------------------------------------------------------------------------------------
    //  splitting a batch across shards and frames
    // ------------------------------------------------------------------------------------------------

    private void checkArrays(long[] keys, int n, float[] values) {
        if (n < 0 || n > keys.length) {
            throw new IllegalArgumentException("n must be in [0, " + keys.length + "] but was " + n);
        }
        if ((long) n * dim > values.length) {
            throw new IllegalArgumentException("values must hold n*dim = " + (long) n * dim + " floats but has "
                    + values.length);
        }
    }

    /** Completes one caller future once every frame of a split request is answered. */
    static final class Completion {
        final CompletableFuture<Void> future = new CompletableFuture<>();
        final AtomicInteger parts = new AtomicInteger(1); // +1 held while frames are still being sent

        void partDone() {
            if (parts.decrementAndGet() == 0) {
                future.complete(null);
            }
        }

        void fail(Throwable cause) {
            future.completeExceptionally(cause);
        }
    }

    @FunctionalInterface
    interface FrameSender {
        void send(ShardConnection conn, int[] positions, int from, int to, Completion done);
    }

    private CompletableFuture<Void> split(long[] keys, int n, FrameSender sender) {
        int s = shards.length;
        // positions grouped by shard: a counting sort of the key indices by their shard
        int[] start = new int[s + 1];
        int[] shardOf = new int[n];
        for (int i = 0; i < n; i++) {
            int sh = Hashing.shardOf(keys[i], s);
            shardOf[i] = sh;
            start[sh + 1]++;
        }
        for (int i = 0; i < s; i++) {
            start[i + 1] += start[i];
        }
        int[] positions = new int[n];
        int[] fill = start.clone();
        for (int i = 0; i < n; i++) {
            positions[fill[shardOf[i]]++] = i;
        }
        Completion done = new Completion();
        try {
            for (int sh = 0; sh < s; sh++) {
                ShardConnection conn = shards[sh];
                for (int from = start[sh]; from < start[sh + 1]; from += maxKeysPerFrame) {
                    int to = Math.min(start[sh + 1], from + maxKeysPerFrame);
                    done.parts.incrementAndGet();
                    sender.send(conn, positions, from, to, done);
                }
                if (start[sh + 1] > start[sh]) {
                    conn.flush();
                }
            }
        } catch (RuntimeException e) {
            done.fail(e);
            for (ShardConnection c : shards) {
                c.flush();
            }
            return done.future;
        }
        done.partDone();
        return done.future;
    }
}
