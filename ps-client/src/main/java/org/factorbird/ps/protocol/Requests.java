package org.factorbird.ps.protocol;

import io.netty.buffer.ByteBuf;

import java.util.ArrayList;
import java.util.List;

import org.factorbird.ps.Ranges;
import org.factorbird.ps.TableSpec;

/**
 * The server's typed view of requests: one decoder per op, beside the encoders in {@link Protocol} (wire format
 * there). A decoder checks what the payload alone decides (lengths, counts, reserved keys, finite values) and
 * throws {@link BadRequest} with the code and message of the ERROR reply; checks against the server's state (its
 * shard, its store's dim, a scan's range, which depends on the dim) are the handler's. PULL and PUSH decode
 * their keys and values with one bulk copy each into {@link Buffers} that the caller reuses (a server decodes on
 * its one event-loop thread), not key by key from the frame: no allocation per request, and the store then works
 * on plain arrays.
 */
public final class Requests {

    /** Values one AGGREGATE may carry. */
    public static final int MAX_AGGREGATE_VALUES = 4096;
    /** Reserved: marks an empty slot in the server's table. */
    public static final long RESERVED_KEY = Long.MIN_VALUE;

    private Requests() {}

    /** A request the server refuses with an ERROR reply; the connection stays usable. */
    public static final class BadRequest extends RuntimeException {
        private static final long serialVersionUID = 1L;
        public final short code;

        public BadRequest(short code, String message) {
            super(message, null, false, false);
            this.code = code;
        }
    }

    /** HELLO: the client joins run {@code spec.runId()} expecting this shard of this cluster. */
    public record Hello(int shardIndex, int shardCount, TableSpec spec, String clusterId) {}

    /**
     * Arrays a decoder fills and a server reuses from request to request: keys, values and the store's slots of
     * the keys. Only the first n (n x width) entries of a request are its own. Arrays grown for one large request
     * are dropped again by {@link #trim}, so a rare huge frame does not pin its size for good.
     */
    public static final class Buffers {
        /** Above this many floats (16 MB), {@link #trim} lets the value array go after a request. */
        static final int KEEP_FLOATS = 4 << 20;
        /** Above this many keys (4 MB of ids), {@link #trim} lets the key and slot arrays go. */
        static final int KEEP_KEYS = 1 << 19;
        public long[] keys = new long[1024];
        public float[] values = new float[1024];
        public int[] slots = new int[1024];

        /** Room for {@code n} keys and {@code floats} values. */
        public Buffers ensure(int n, int floats) {
            if (keys.length < n) {
                keys = new long[n];
                slots = new int[n];
            }
            if (values.length < floats) {
                values = new float[floats];
            }
            return this;
        }

        /** Drops arrays grown beyond {@link #KEEP_FLOATS} or {@link #KEEP_KEYS} by the last request. */
        public void trim() {
            if (values.length > KEEP_FLOATS) {
                values = new float[1024];
            }
            if (keys.length > KEEP_KEYS) {
                keys = new long[1024];
                slots = new int[1024];
            }
        }
    }

    /** PULL of {@code ranges} of {@code n} keys ({@code keys[0..n)}); read-only pulls create nothing. */
    public record Pull(boolean readOnly, Ranges ranges, int n, long[] keys) {
        public long key(int i) {
            return keys[i];
        }
    }

    /**
     * PUSH (add) or SET (overwrite) of {@code ranges} of {@code n} keys ({@code keys[0..n)}): {@code width} finite
     * values each, key i's at {@code values[i * width ..]}.
     */
    public record Push(Ranges ranges, int n, int width, long[] keys, float[] values) {
        public long key(int i) {
            return keys[i];
        }
    }

    /** AGGREGATE {@code id} among {@code parties}: combine {@code values} with {@code ops}. */
    public record Aggregate(long id, int parties, byte[] ops, double[] values) {}

    /** SCAN of slice {@code slice} of {@code slices} from table slot {@code cursor}, at most {@code limit} keys. */
    public record Scan(int slice, int slices, long cursor, int limit) {}

    /** AUTH phase 1 (the client's nonce) or 2 (the client's proof). */
    public record Auth(byte phase, byte[] bytes) {}

    public static Hello hello(ByteBuf p) {
        int shard = p.readInt();
        int shards = p.readInt();
        long runId = p.readLong();
        long seed = p.readLong();
        int nSegments = p.readInt();
        if (runId == 0) {
            throw new BadRequest(Protocol.E_BAD_REQUEST, "run id 0 is reserved");
        }
        if (nSegments < 1 || nSegments > Protocol.MAX_SEGMENTS || p.readableBytes() < 16L * nSegments + 2) {
            throw new BadRequest(Protocol.E_BAD_REQUEST, "HELLO with " + nSegments + " segments is malformed");
        }
        TableSpec spec;
        try {
            List<TableSpec.Segment> segments = new ArrayList<>(nSegments);
            for (int i = 0; i < nSegments; i++) {
                segments.add(new TableSpec.Segment(p.readInt(), p.readInt(), p.readInt(), p.readFloat()));
            }
            spec = new TableSpec(runId, seed, segments);
        } catch (IllegalArgumentException e) {
            throw new BadRequest(Protocol.E_BAD_REQUEST, e.getMessage());
        }
        return new Hello(shard, shards, spec, Protocol.readShortString(p));
    }

    public static Pull pull(ByteBuf p) {
        return pull(p, new Buffers());
    }

    /** PULL, decoded into {@code buffers}. */
    public static Pull pull(ByteBuf p, Buffers buffers) {
        byte flags = p.readByte();
        Ranges ranges = ranges(p, "PULL");
        int n = p.readInt();
        if (n < 0 || p.readableBytes() != 8L * n) {
            throw new BadRequest(Protocol.E_BAD_REQUEST, "PULL of " + n + " keys must carry " + 8L * n
                    + " B of keys but carries " + p.readableBytes() + " B");
        }
        long[] keys = readKeys(p, n, buffers.ensure(n, 0));
        Pull pull = new Pull((flags & Protocol.PULL_READ_ONLY) != 0, ranges, n, keys);
        if (!pull.readOnly()) {
            checkKeys(keys, n);
        }
        return pull;
    }

    /** PUSH or SET ({@code op} names it in messages). */
    public static Push push(ByteBuf p, String op) {
        return push(p, op, new Buffers());
    }

    /** PUSH or SET, decoded into {@code buffers}. */
    public static Push push(ByteBuf p, String op, Buffers buffers) {
        Ranges ranges = ranges(p, op);
        int n = p.readInt();
        int dim = p.readInt();
        if (!ranges.isAll() && dim != ranges.width(0)) {
            throw new BadRequest(Protocol.E_BAD_REQUEST, op + " of ranges " + ranges + " must carry "
                    + ranges.width(0) + " floats per key but says " + dim);
        }
        if (n < 0 || dim < 1 || p.readableBytes() != (long) n * Protocol.bytesPerKey(dim)) {
            throw new BadRequest(Protocol.E_BAD_REQUEST, op + " of " + n + " keys x " + dim + " must carry "
                    + (long) n * Protocol.bytesPerKey(Math.max(dim, 0)) + " B but carries " + p.readableBytes() + " B");
        }
        buffers.ensure(n, n * dim);
        long[] keys = readKeys(p, n, buffers);
        checkKeys(keys, n);
        float[] values = buffers.values;
        p.nioBuffer(p.readerIndex() + 8 * n, 4 * n * dim).asFloatBuffer().get(values, 0, n * dim);
        for (int i = 0; i < n * dim; i++) {
            if (!Float.isFinite(values[i])) {
                throw new BadRequest(Protocol.E_BAD_REQUEST, op + " carries a non-finite delta for key "
                        + keys[i / dim] + " (training diverged? lower the learning rate)");
            }
        }
        return new Push(ranges, n, dim, keys, values);
    }

    public static Aggregate aggregate(ByteBuf p) {
        long id = p.readLong();
        int parties = p.readInt();
        int n = p.readInt();
        if (parties < 1 || n < 0 || n > MAX_AGGREGATE_VALUES || p.readableBytes() != 9L * n) {
            throw new BadRequest(Protocol.E_BAD_REQUEST, "AGGREGATE with " + parties + " parties and " + n
                    + " values is malformed");
        }
        byte[] ops = new byte[n];
        p.readBytes(ops);
        double[] values = new double[n];
        for (int i = 0; i < n; i++) {
            values[i] = p.readDouble();
        }
        return new Aggregate(id, parties, ops, values);
    }

    public static Scan scan(ByteBuf p) {
        return new Scan(p.readInt(), p.readInt(), p.readLong(), p.readInt());
    }

    public static Auth auth(ByteBuf p) {
        byte phase = p.readByte();
        byte[] bytes = new byte[p.readableBytes()];
        p.readBytes(bytes);
        return new Auth(phase, bytes);
    }

    /** Reads RANGES; checks what the payload decides (counts, order, lengths), not the store's dim. */
    private static Ranges ranges(ByteBuf p, String op) {
        int r = p.readUnsignedShort();
        if (r == 0) {
            return Ranges.ALL;
        }
        if (r > Ranges.MAX_RANGES || p.readableBytes() < 8L * r) {
            throw new BadRequest(Protocol.E_BAD_REQUEST, op + " with " + r + " ranges is malformed");
        }
        int[] from = new int[r];
        int[] length = new int[r];
        for (int i = 0; i < r; i++) {
            from[i] = p.readInt();
            length[i] = p.readInt();
        }
        try {
            return Ranges.of(from, length);
        } catch (IllegalArgumentException e) {
            throw new BadRequest(Protocol.E_BAD_REQUEST, op + ": " + e.getMessage());
        }
    }

    /** The n keys at the reader index, in one bulk copy into {@code buffers.keys}. */
    private static long[] readKeys(ByteBuf p, int n, Buffers buffers) {
        p.nioBuffer(p.readerIndex(), 8 * n).asLongBuffer().get(buffers.keys, 0, n);
        return buffers.keys;
    }

    private static void checkKeys(long[] keys, int n) {
        for (int i = 0; i < n; i++) {
            if (keys[i] == RESERVED_KEY) {
                throw new BadRequest(Protocol.E_BAD_REQUEST, "key " + RESERVED_KEY + " is reserved");
            }
        }
    }
}
