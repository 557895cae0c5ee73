package org.factorbird.ps.client.internal;

import io.netty.buffer.ByteBufAllocator;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import org.factorbird.ps.Hashing;
import org.factorbird.ps.Ranges;
import org.factorbird.ps.protocol.Protocol;

/**
 * Batched pulls and writes: splits a batch of keys by shard ({@link Hashing#shardOf}) and into frames of at most
 * {@code maxKeysPerFrame} keys (counted for whole keys, so a request of fewer floats per key fits too), sends each frame, and completes one future when every frame is answered. No copy
 * of the keys: frames are encoded from {@code positions}, the key indices grouped by shard.
 */
public final class Splitter {

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

    /** Sends the frame of keys {@code positions[from, to)} to {@code conn}. */
    @FunctionalInterface
    interface FrameSender {
        void send(ShardConnection conn, int[] positions, int from, int to, Completion done);
    }

    private final ShardConnection[] shards;
    private final ByteBufAllocator alloc;
    private final int dim;
    private final int maxKeysPerFrame;

    public Splitter(Connections connections, int dim, int maxKeysPerFrame) {
        if (dim < 1 || maxKeysPerFrame < 1) {
            throw new IllegalArgumentException("dim and maxKeysPerFrame must be >= 1 but were " + dim + " and "
                    + maxKeysPerFrame);
        }
        this.shards = connections.shards();
        this.alloc = connections.alloc();
        this.dim = dim;
        this.maxKeysPerFrame = maxKeysPerFrame;
    }

    /** Pulls {@code ranges} of {@code keys[0..n)} into {@code values[i*w..(i+1)*w)}, w = the ranges' width. */
    public CompletableFuture<Void> pull(long[] keys, int n, float[] values, boolean readOnly, Ranges ranges) {
        int width = ranges.width(dim);
        return split(keys, n, (conn, positions, from, to, done) -> {
            long id = conn.nextRequestId();
            conn.send(id, Protocol.pull(alloc, id, readOnly, ranges, keys, positions, from, to),
                    Replies.pull(conn, width, values, positions, from, to, done));
        });
    }

    /** PUSH (adds) or SET (overwrites) {@code values[i*w..(i+1)*w)} into {@code ranges} of {@code keys[0..n)}. */
    public CompletableFuture<Void> write(byte op, long[] keys, int n, float[] values, Ranges ranges) {
        int width = ranges.width(dim);
        return split(keys, n, (conn, positions, from, to, done) -> {
            long id = conn.nextRequestId();
            conn.send(id, Protocol.keysAndValues(alloc, op, id, ranges, width, keys, values, positions, from, to),
                    Replies.write(conn, to - from, done));
        });
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
