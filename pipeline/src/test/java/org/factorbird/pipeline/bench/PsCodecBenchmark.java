package org.factorbird.pipeline.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;

import java.nio.FloatBuffer;
import java.util.concurrent.TimeUnit;

import org.factorbird.ps.TableSpec;
import org.factorbird.ps.protocol.Protocol;
import org.factorbird.ps.protocol.Requests;
import org.factorbird.ps.server.ColumnStore;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/** The PS wire codec and the column store: ns per key (scripts/jmh.sh). */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class PsCodecBenchmark {

    static final int KEYS = 4096;
    static final int DIM = 11;

    long[] keys = new long[KEYS];
    float[] values = new float[KEYS * DIM];
    ColumnStore store;
    PooledByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;

    @Setup
    public void setUp() {
        store = new ColumnStore(TableSpec.single(DIM, 1, 1L, 1L, 0.1f));
        for (int i = 0; i < KEYS; i++) {
            keys[i] = i * 7919L;
            store.findOrCreate(keys[i]);
        }
    }

    @Benchmark
    @OperationsPerInvocation(KEYS)
    public int encodePush() {
        ByteBuf b = Protocol.push(alloc, 1, DIM, keys, values, null, 0, KEYS);
        int n = b.readableBytes();
        b.release();
        return n;
    }

    @Benchmark
    @OperationsPerInvocation(KEYS)
    public float decodePullReply() {
        ByteBuf b = alloc.buffer(KEYS * DIM * 4);
        b.writeZero(KEYS * DIM * 4);
        FloatBuffer f = b.nioBuffer().asFloatBuffer();
        for (int i = 0; i < KEYS; i++) {
            f.get(values, i * DIM, DIM);
        }
        b.release();
        return values[0];
    }

    /** A shard's table as in training (50k columns), and a PUSH frame of 4096 of them in random order. */
    @State(Scope.Thread)
    public static class Shard {
        static final int STORED = 50_000;
        ColumnStore store = new ColumnStore(TableSpec.single(DIM, 1, 1L, 1L, 0.1f));
        ByteBuf frame;
        Requests.Buffers buffers = new Requests.Buffers();

        @Setup
        public void setUp() {
            for (int i = 0; i < STORED; i++) {
                store.findOrCreate(i * 7919L);
            }
            long[] pushed = new long[KEYS];
            java.util.Random random = new java.util.Random(1);
            for (int i = 0; i < KEYS; i++) {
                pushed[i] = random.nextInt(STORED) * 7919L;
            }
            float[] deltas = new float[KEYS * DIM];
            java.util.Arrays.fill(deltas, 1e-7f);
            ByteBuf encoded = Protocol.push(PooledByteBufAllocator.DEFAULT, 1, DIM, pushed, deltas, null, 0, KEYS);
            encoded.skipBytes(4 + Protocol.HEADER_BYTES); // the payload, as the server's handler gets it
            frame = encoded;
        }
    }

    /** The server's PUSH as it was: keys and deltas read one by one from views of the frame, one probe per key. */
    @Benchmark
    @OperationsPerInvocation(KEYS)
    public float applyPushPerKey(Shard s) {
        ByteBuf p = s.frame.duplicate();
        p.skipBytes(2); // no ranges
        int n = p.readInt();
        int dim = p.readInt();
        ByteBuf keyView = p.slice(p.readerIndex(), 8 * n);
        FloatBuffer deltas = p.nioBuffer(p.readerIndex() + 8 * n, 4 * n * dim).asFloatBuffer();
        for (int i = 0; i < n * dim; i++) {
            if (!Float.isFinite(deltas.get(i))) {
                throw new IllegalStateException();
            }
        }
        float[] v = s.store.values();
        for (int i = 0; i < n; i++) {
            int off = s.store.findOrCreate(keyView.getLong(8 * i)) * dim;
            for (int j = 0; j < dim; j++) {
                v[off + j] += deltas.get(i * dim + j);
            }
        }
        return v[0];
    }

    /**
     * A batch-sized PUSH and PULL as the bench sets send them: 40k of a shard's columns, each once, in random order.
     * Serving them in table order instead (a counting sort of the keys by their home slot's region, so that a request
     * swept the table once) measured no faster, at 50k or 500k columns: 50.7 / 32.2 ns per pushed key against 34.3 /
     * 40.0 at 50k, 50.5 / 59.9 against 48.4 / 67.0 at 500k (interleaved), so the store serves keys as they come.
     */
    @State(Scope.Thread)
    public static class Batch {
        static final int PUSHED = 40_000;
        /** Columns in the shard: the 10M bench set's (50k), and the 100M one's (500k, 22 MB of values). */
        @org.openjdk.jmh.annotations.Param({"50000", "500000"})
        int stored;
        ColumnStore store = new ColumnStore(TableSpec.single(DIM, 1, 1L, 1L, 0.1f));
        long[] keys = new long[PUSHED];
        float[] deltas = new float[PUSHED * DIM];
        int[] slots = new int[PUSHED];

        @Setup
        public void setUp() {
            long[] all = new long[stored];
            for (int i = 0; i < all.length; i++) {
                all[i] = i * 7919L;
                store.findOrCreate(all[i]);
            }
            java.util.Random random = new java.util.Random(2);
            for (int i = all.length - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                long t = all[i];
                all[i] = all[j];
                all[j] = t;
            }
            System.arraycopy(all, 0, keys, 0, PUSHED);
            java.util.Arrays.fill(deltas, 1e-7f);
        }
    }

    @Benchmark
    @OperationsPerInvocation(Batch.PUSHED)
    public float applyBatchPush(Batch b) {
        b.store.apply(b.keys, Batch.PUSHED, b.deltas, org.factorbird.ps.Ranges.ALL, false, b.slots);
        return b.store.values()[0];
    }

    @Benchmark
    @OperationsPerInvocation(Batch.PUSHED)
    public float readBatchPull(Batch b) {
        b.store.read(b.keys, Batch.PUSHED, false, b.deltas, org.factorbird.ps.Ranges.ALL, b.slots);
        return b.deltas[0];
    }

    /** The server's PUSH now: bulk-decoded into reused arrays, every key looked up first, then the adds. */
    @Benchmark
    @OperationsPerInvocation(KEYS)
    public float applyPushBulk(Shard s) {
        Requests.Push r = Requests.push(s.frame.duplicate(), "PUSH", s.buffers);
        s.store.apply(r.keys(), r.n(), r.values(), r.ranges(), false, s.buffers.slots);
        return s.store.values()[0];
    }
}
