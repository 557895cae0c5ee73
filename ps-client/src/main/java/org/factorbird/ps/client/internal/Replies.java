package org.factorbird.ps.client.internal;

import io.netty.buffer.ByteBuf;

import java.nio.FloatBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.factorbird.ps.PsClient;
import org.factorbird.ps.PsException;

/**
 * The client's reply decoders, one per request type, each checking that the reply matches its request (counts,
 * dims, sizes) and failing the request with a message naming the server when it does not; and the waits on their
 * futures, which turn every failure into a {@link PsException}.
 */
public final class Replies {

    private Replies() {}

    /** Decodes a reply into a value (or throws to fail the request). */
    @FunctionalInterface
    public interface Decoder<T> {
        T decode(ByteBuf payload);
    }

    /** A pending request that completes {@code result} with the decoded reply. */
    public static <T> Pending pending(CompletableFuture<T> result, Decoder<T> decoder) {
        return new Pending() {
            @Override
            public void onReply(ByteBuf payload) {
                result.complete(decoder.decode(payload));
            }

            @Override
            public void onFailure(Throwable cause) {
                result.completeExceptionally(cause);
            }
        };
    }

    /** A pull of {@code keys positions[from, to)}: copies each key's values to its place in {@code values}. */
    static Pending pull(ShardConnection conn, int dim, float[] values, int[] positions, int from, int to,
            Splitter.Completion done) {
        int count = to - from;
        return part(done, p -> {
            int replyCount = p.readInt();
            int replyDim = p.readInt();
            if (replyCount != count || replyDim != dim || p.readableBytes() != 4L * count * dim) {
                throw new PsException(conn.describe() + " answered a pull of " + count + " keys x " + dim + " with "
                        + replyCount + " keys x " + replyDim + " (" + p.readableBytes() + " B)");
            }
            FloatBuffer floats = p.nioBuffer().asFloatBuffer();
            for (int i = from; i < to; i++) {
                floats.get(values, positions[i] * dim, dim);
            }
        });
    }

    /** A push or set of {@code count} keys: the server must have applied all of them. */
    static Pending write(ShardConnection conn, int count, Splitter.Completion done) {
        return part(done, p -> {
            int applied = p.readInt();
            if (applied != count) {
                throw new PsException(conn.describe() + " applied " + applied + " of " + count + " pushed keys");
            }
        });
    }

    /** The combined values of aggregate {@code id}, {@code expected} of them. */
    public static Decoder<double[]> aggregate(ShardConnection conn, long id, int expected) {
        return p -> {
            int n = p.readInt();
            if (n != expected) {
                throw new PsException(conn.describe() + " answered aggregate " + id + " with " + n
                        + " values, expected " + expected);
            }
            double[] out = new double[n];
            for (int i = 0; i < n; i++) {
                out[i] = p.readDouble();
            }
            return out;
        };
    }

    /** A scan page of at most {@code limit} keys of {@code dim} floats. */
    public static Decoder<PsClient.ScanPage> scan(ShardConnection conn, int limit, int dim) {
        return p -> {
            long next = p.readLong();
            int n = p.readInt();
            int replyDim = p.readInt();
            if (n < 0 || n > limit || replyDim != dim || p.readableBytes() != (long) n * (8 + 4 * dim)) {
                throw new PsException(conn.describe() + " sent a malformed scan page (" + n + " keys x " + replyDim
                        + ")");
            }
            long[] keys = new long[n];
            float[] values = new float[n * dim];
            for (int i = 0; i < n; i++) {
                keys[i] = p.readLong();
            }
            p.nioBuffer().asFloatBuffer().get(values);
            return new PsClient.ScanPage(next, n, keys, values);
        };
    }

    /** One frame's part of a split request. */
    private static Pending part(Splitter.Completion done, java.util.function.Consumer<ByteBuf> check) {
        return new Pending() {
            @Override
            public void onReply(ByteBuf payload) {
                check.accept(payload);
                done.partDone();
            }

            @Override
            public void onFailure(Throwable cause) {
                done.fail(cause);
            }
        };
    }

    /** Waits for {@code f} at most {@code timeoutMs} ({@code Long.MAX_VALUE}: no limit); failures as PsException. */
    public static <T> T await(CompletableFuture<T> f, long timeoutMs) {
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
}
