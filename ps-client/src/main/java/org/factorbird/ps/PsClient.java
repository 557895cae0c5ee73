package org.factorbird.ps;

import java.util.concurrent.CompletableFuture;

import org.factorbird.ps.client.internal.Connections;
import org.factorbird.ps.client.internal.Replies;
import org.factorbird.ps.client.internal.ShardConnection;
import org.factorbird.ps.client.internal.Splitter;
import org.factorbird.ps.protocol.Protocol;

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
    private final Connections connections;
    private final Splitter batches;
    private final int dim;
    private final int maxKeysPerFrame;

    private PsClient(PsClientConfig config, Connections connections) {
        this.config = config;
        this.connections = connections;
        this.dim = config.model().dim();
        this.maxKeysPerFrame = Protocol.maxKeysPerFrame(config.maxFrameBytes(), dim);
        this.batches = new Splitter(connections, dim, maxKeysPerFrame);
    }

    /**
     * Connects to every server and checks, with a HELLO, that server {@code i} is shard {@code i} of the same
     * count and holds (or now starts) this client's model; authenticates first when the configuration has a
     * shared secret.
     *
     * @throws PsException naming the server that cannot be reached or does not match
     */
    public static PsClient connect(PsClientConfig config) {
        return new PsClient(config, Connections.open(config));
    }

    public int dim() {
        return dim;
    }

    public int shardCount() {
        return connections.shards().length;
    }

    /** Per shard: {requests sent, bytes sent, bytes received} since this client connected. */
    public long[][] traffic() {
        ShardConnection[] shards = connections.shards();
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
        return pull(keys, n, values, readOnly, Ranges.ALL);
    }

    /**
     * Pulls only {@code ranges} of each key's values: those of {@code keys[i]} land, back to back, in
     * {@code values[i*w..(i+1)*w)}, w = {@code ranges.width(dim())}. Nothing else crosses the wire.
     */
    public CompletableFuture<Void> pull(long[] keys, int n, float[] values, boolean readOnly, Ranges ranges) {
        checkArrays(keys, n, values, ranges);
        return batches.pull(keys, n, values, readOnly, ranges);
    }

    /** Adds {@code deltas[i*dim..(i+1)*dim)} to the values of {@code keys[i]}, for i in [0, n). */
    public CompletableFuture<Void> push(long[] keys, int n, float[] deltas) {
        return push(keys, n, deltas, Ranges.ALL);
    }

    /** Adds {@code deltas[i*w..(i+1)*w)} to {@code ranges} of the values of {@code keys[i]} (see {@link #pull}). */
    public CompletableFuture<Void> push(long[] keys, int n, float[] deltas, Ranges ranges) {
        checkArrays(keys, n, deltas, ranges);
        return batches.write(Protocol.PUSH, keys, n, deltas, ranges);
    }

    /** Overwrites the values of {@code keys[i]} with {@code values[i*dim..(i+1)*dim)} (snapshot restore). */
    public CompletableFuture<Void> set(long[] keys, int n, float[] values) {
        checkArrays(keys, n, values, Ranges.ALL);
        return batches.write(Protocol.SET, keys, n, values, Ranges.ALL);
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
        ShardConnection conn = connections.shard(0);
        long requestId = conn.nextRequestId();
        conn.send(requestId, Protocol.aggregate(connections.alloc(), requestId, id, parties, ops, values),
                Replies.pending(result, Replies.aggregate(conn, id, values.length)));
        conn.flush();
        return result;
    }

    /** One page of a {@link #scan}: keys and their values; {@code nextCursor} is -1 after the last page. */
    public static final class ScanPage {
        public final long nextCursor;
        public final int count;
        public final long[] keys;
        public final float[] values;

        public ScanPage(long nextCursor, int count, long[] keys, float[] values) {
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
        ShardConnection conn = connections.shard(shard);
        long requestId = conn.nextRequestId();
        conn.send(requestId, Protocol.scan(connections.alloc(), requestId, slice, slices, cursor, pageLimit),
                Replies.pending(result, Replies.scan(conn, pageLimit, dim)));
        conn.flush();
        return result;
    }

    /** Waits for {@code f} for at most the configured request timeout, turning failures into {@link PsException}. */
    public <T> T await(CompletableFuture<T> f) {
        return Replies.await(f, config.requestTimeoutMs());
    }

    /** Waits without a time limit (for barriers, whose wait depends on the slowest subtask). */
    public <T> T awaitUnbounded(CompletableFuture<T> f) {
        return Replies.await(f, Long.MAX_VALUE);
    }

    @Override
    public void close() {
        connections.close();
    }

    private void checkArrays(long[] keys, int n, float[] values, Ranges ranges) {
        if (n < 0 || n > keys.length) {
            throw new IllegalArgumentException("n must be in [0, " + keys.length + "] but was " + n);
        }
        if (!ranges.fits(dim)) {
            throw new IllegalArgumentException("ranges " + ranges + " must lie within the " + dim + " floats per key");
        }
        int width = ranges.width(dim);
        if ((long) n * width > values.length) {
            throw new IllegalArgumentException("values must hold n*" + width + " = " + (long) n * width
                    + " floats but has " + values.length);
        }
    }
}
