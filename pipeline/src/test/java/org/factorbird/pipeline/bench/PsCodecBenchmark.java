package org.factorbird.pipeline.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;

import java.nio.FloatBuffer;
import java.util.concurrent.TimeUnit;

import org.factorbird.ps.TableSpec;
import org.factorbird.ps.protocol.Protocol;
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

    @Benchmark
    @OperationsPerInvocation(KEYS)
    public float storeLookupAndAdd() {
        // as the server applies a PUSH: from a float view of the request
        java.nio.FloatBuffer delta = java.nio.FloatBuffer.allocate(DIM);
        delta.put(0, 1e-6f);
        for (int i = 0; i < KEYS; i++) {
            store.add(keys[i], delta, 0);
        }
        return store.values()[0];
    }
}
