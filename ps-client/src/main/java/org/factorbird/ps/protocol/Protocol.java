package org.factorbird.ps.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.nio.charset.StandardCharsets;
import java.util.List;

import org.factorbird.ps.Ranges;
import org.factorbird.ps.TableSpec;

/**
 * The Factorbird parameter-server wire protocol, version 2: constants and the encoders both sides use.
 *
 * <p>Every message, in both directions, is one length-prefixed frame (big-endian, as Netty writes):
 *
 * <pre>
 * +---------+--------+---------+--------+-------------+-------------------+
 * | length  | magic  | version | op     | request id  | payload           |
 * | int32   | 0xFB1D | int8 =2 | int8   | int64       | (length - 12) B   |
 * +---------+--------+---------+--------+-------------+-------------------+
 * </pre>
 *
 * {@code length} counts the bytes after itself and is at most the receiver's maximum frame size. A response
 * carries the request id of its request and the request's op with the high bit set ({@code op | 0x80}), or
 * {@link #ERROR}. Requests on one connection are answered in order, except {@link #AGGREGATE}, which is answered
 * when every party has arrived. Payloads (n = number of keys, d = floats per key, the server's "dim"):
 *
 * <pre>
 * HELLO     0x01  shardIndex:int32 shardCount:int32 runId:int64 seed:int64 segments:int32
 *                 then per segment: dim:int32 randomFrom:int32 randomTo:int32 initStd:float32
 *                 clusterIdLength:int16 clusterId:UTF-8 (empty: any cluster)
 *                 (d = the sum of the segment dims; see TableSpec for the initial values)
 *                 joins the run, starting its table beside the server's other runs if it is new; every later
 *                 request of the connection works on that run's table and barriers only
 *   reply   0x81  shardIndex:int32 shardCount:int32 dim:int32 storedKeys:int64 (the run's)
 * RANGES          r:int16, then r x (from:int32 length:int32)  part of a PULL, PUSH or SET: the floats of each key
 *                 it carries, sorted and disjoint within [0, d) (see {@link Ranges}); r = 0: all d of them.
 *                 w = the sum of the lengths, or d when r = 0
 * PULL      0x02  flags:int8 RANGES n:int32 keys:n*int64     flags bit 0 = READ_ONLY (unknown keys read as 0, not created)
 *   reply   0x82  n:int32 w:int32 values:n*w*float32        the ranges of key i, back to back, at [i*w, (i+1)*w)
 * PUSH      0x03  RANGES n:int32 w:int32 keys:n*int64 deltas:n*w*float32    the server adds the deltas (Hogwild!)
 *   reply   0x83  n:int32
 * AGGREGATE 0x04  id:int64 parties:int32 n:int32 ops:n*int8 values:n*float64   ops: 0 sum, 1 min, 2 max
 *   reply   0x84  n:int32 values:n*float64                   sent to every party once all have arrived
 * SCAN      0x05  slice:int32 slices:int32 cursor:int64 limit:int32
 *   reply   0x85  nextCursor:int64 (-1 = done) n:int32 dim:int32 keys:n*int64 values:n*d*float32
 * AUTH      0x07  phase:int8 = 1, clientNonce:16 bytes
 *   reply   0x87  serverNonce:16 bytes, serverProof:32 bytes = HMAC-SHA256(secret, "fb-server" clientNonce serverNonce)
 * AUTH      0x07  phase:int8 = 2, clientProof:32 bytes = HMAC-SHA256(secret, "fb-client" serverNonce clientNonce)
 *   reply   0x87  (empty): authenticated. A server with a secret answers nothing but AUTH and STATUS before
 *                 this; a wrong proof or any other request gets an ERROR and the connection is closed. The
 *                 secret never crosses the wire, and fresh nonces on both sides make a recorded handshake useless.
 * SET       0x08  RANGES n:int32 w:int32 keys:n*int64 values:n*w*float32   the server overwrites (restores a snapshot)
 *   reply   0x88  n:int32
 * STATUS    0x06  (no payload; needs no HELLO: a health check that changes nothing)
 *   reply   0x86  shardIndex:int32 shardCount:int32 requests:int64 maxRuns:int32 runs:int32
 *                 then per run, oldest first: runId:int64 storedKeys:int64 tableBytes:int64 connections:int32
 *                 (connections 0: the run's jobs have gone; it is freed after the server's linger)
 *                 clusterIdLength:int16 clusterId:UTF-8
 * ERROR     0xFF  code:int16 messageLength:int16 message:UTF-8
 * </pre>
 *
 * Example: a PULL of all floats of key 7 with request id 1 is the 31 bytes
 * {@code 00 00 00 1B  FB 1D  02  02  00 00 00 00 00 00 00 01  00  00 00  00 00 00 01  00 00 00 00 00 00 00 07}.
 */
public final class Protocol {

    public static final short MAGIC = (short) 0xFB1D;
    /** 2: STATUS lists the server's runs (version 1 servers held one run and answered with it alone). */
    public static final byte VERSION = 2;
    /** Bytes after the length field that every frame has: magic, version, op, request id. */
    public static final int HEADER_BYTES = 2 + 1 + 1 + 8;
    /** Default maximum frame size, both directions. */
    public static final int DEFAULT_MAX_FRAME_BYTES = 64 << 20;

    public static final byte HELLO = 0x01;
    public static final byte PULL = 0x02;
    public static final byte PUSH = 0x03;
    public static final byte AGGREGATE = 0x04;
    public static final byte SCAN = 0x05;
    public static final byte STATUS = 0x06;
    public static final byte AUTH = 0x07;
    public static final byte SET = 0x08;
    public static final int NONCE_BYTES = 16;
    public static final int PROOF_BYTES = 32;
    public static final byte REPLY = (byte) 0x80;
    public static final byte ERROR = (byte) 0xFF;

    public static final byte PULL_READ_ONLY = 1;

    public static final byte AGG_SUM = 0;
    public static final byte AGG_MIN = 1;
    public static final byte AGG_MAX = 2;

    /** Error codes carried by {@link #ERROR} frames. */
    public static final short E_BAD_REQUEST = 1;
    public static final short E_UNKNOWN_OP = 2;
    public static final short E_BAD_VERSION = 3;
    public static final short E_MISMATCH = 4;
    public static final short E_NOT_READY = 5;
    public static final short E_INTERNAL = 6;
    public static final short E_AUTH = 7;
    /** The server holds as many runs as it may (a new run's HELLO); retry when one has ended. */
    public static final short E_BUSY = 8;

    private Protocol() {}

    /** Bytes one key occupies in a PULL reply or PUSH request: its id and its values. */
    public static int bytesPerKey(int dim) {
        return 8 + 4 * dim;
    }

    /**
     * The most keys one PULL reply / PUSH request may carry so that the frame stays within {@code maxFrameBytes}.
     */
    public static int maxKeysPerFrame(int maxFrameBytes, int dim) {
        int keys = (maxFrameBytes - HEADER_BYTES - 64) / bytesPerKey(dim);
        if (keys < 1) {
            throw new IllegalArgumentException(
                    "max frame size " + maxFrameBytes + " B cannot hold one key of dim " + dim);
        }
        return keys;
    }

    public static String opName(byte op) {
        switch (op & 0x7F) {
            case HELLO: return "HELLO";
            case PULL: return "PULL";
            case PUSH: return "PUSH";
            case AGGREGATE: return "AGGREGATE";
            case SCAN: return "SCAN";
            case STATUS: return "STATUS";
            case AUTH: return "AUTH";
            case SET: return "SET";
            default: return op == ERROR ? "ERROR" : "op 0x" + Integer.toHexString(op & 0xFF);
        }
    }

    /**
     * Starts a frame: allocates a buffer of {@code payloadBytes} capacity beyond the header and writes the
     * length, magic, version, op and request id. The caller writes exactly {@code payloadBytes} more bytes.
     */
    public static ByteBuf startFrame(ByteBufAllocator alloc, byte op, long requestId, int payloadBytes) {
        ByteBuf buf = alloc.buffer(4 + HEADER_BYTES + payloadBytes);
        buf.writeInt(HEADER_BYTES + payloadBytes);
        buf.writeShort(MAGIC);
        buf.writeByte(VERSION);
        buf.writeByte(op);
        buf.writeLong(requestId);
        return buf;
    }

    public static ByteBuf error(ByteBufAllocator alloc, long requestId, short code, String message) {
        byte[] text = message.getBytes(StandardCharsets.UTF_8);
        int len = Math.min(text.length, 4096);
        ByteBuf buf = startFrame(alloc, ERROR, requestId, 4 + len);
        buf.writeShort(code);
        buf.writeShort(len);
        buf.writeBytes(text, 0, len);
        return buf;
    }

    /** Reads the payload of an {@link #ERROR} frame as "message (code N)". */
    public static String readError(ByteBuf payload) {
        if (payload.readableBytes() < 4) {
            return "malformed error reply";
        }
        short code = payload.readShort();
        int len = Math.min(payload.readUnsignedShort(), payload.readableBytes());
        return payload.readCharSequence(len, StandardCharsets.UTF_8) + " (code " + code + ")";
    }

    public static ByteBuf hello(ByteBufAllocator alloc, long requestId, int shardIndex, int shardCount,
            TableSpec model) {
        return hello(alloc, requestId, shardIndex, shardCount, model, "");
    }

    public static ByteBuf hello(ByteBufAllocator alloc, long requestId, int shardIndex, int shardCount,
            TableSpec model, String clusterId) {
        List<TableSpec.Segment> segs = model.segments();
        byte[] cluster = clusterId.getBytes(StandardCharsets.UTF_8);
        if (cluster.length > MAX_CLUSTER_ID_BYTES) {
            throw new IllegalArgumentException("cluster id must be at most " + MAX_CLUSTER_ID_BYTES
                    + " bytes but was " + cluster.length);
        }
        ByteBuf buf = startFrame(alloc, HELLO, requestId, 4 + 4 + 8 + 8 + 4 + 16 * segs.size() + 2 + cluster.length);
        buf.writeInt(shardIndex).writeInt(shardCount).writeLong(model.runId()).writeLong(model.seed());
        buf.writeInt(segs.size());
        for (TableSpec.Segment seg : segs) {
            buf.writeInt(seg.dim).writeInt(seg.randomFrom).writeInt(seg.randomTo).writeFloat(seg.initStd);
        }
        buf.writeShort(cluster.length).writeBytes(cluster);
        return buf;
    }

    public static final int MAX_CLUSTER_ID_BYTES = 255;

    /** Writes a short length-prefixed UTF-8 string. */
    public static void writeShortString(ByteBuf buf, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        buf.writeShort(b.length).writeBytes(b);
    }

    /** Reads a string written by {@link #writeShortString}. */
    public static String readShortString(ByteBuf buf) {
        int len = buf.readUnsignedShort();
        if (len > buf.readableBytes()) {
            throw new IndexOutOfBoundsException("string of " + len + " B in " + buf.readableBytes() + " B");
        }
        return buf.readCharSequence(len, StandardCharsets.UTF_8).toString();
    }

    /** The most segments a HELLO may carry. */
    public static final int MAX_SEGMENTS = 4096;

    /**
     * A PULL of {@code keys[positions[i]]} for i in [from, to) ({@code positions == null}: {@code keys[i]}).
     */
    public static ByteBuf pull(ByteBufAllocator alloc, long requestId, boolean readOnly, long[] keys,
            int[] positions, int from, int to) {
        return pull(alloc, requestId, readOnly, Ranges.ALL, keys, positions, from, to);
    }

    /** A PULL of {@code ranges} of the values of {@code keys[positions[i]]} for i in [from, to). */
    public static ByteBuf pull(ByteBufAllocator alloc, long requestId, boolean readOnly, Ranges ranges, long[] keys,
            int[] positions, int from, int to) {
        int n = to - from;
        ByteBuf buf = startFrame(alloc, PULL, requestId, 1 + rangesBytes(ranges) + 4 + 8 * n);
        buf.writeByte(readOnly ? PULL_READ_ONLY : 0);
        writeRanges(buf, ranges);
        buf.writeInt(n);
        for (int i = from; i < to; i++) {
            buf.writeLong(keys[positions == null ? i : positions[i]]);
        }
        return buf;
    }

    /**
     * A PUSH of the deltas of {@code keys[positions[i]]} for i in [from, to), each {@code dim} floats at
     * {@code deltas[position * dim]} ({@code positions == null}: identity).
     */
    public static ByteBuf push(ByteBufAllocator alloc, long requestId, int dim, long[] keys, float[] deltas,
            int[] positions, int from, int to) {
        return keysAndValues(alloc, PUSH, requestId, Ranges.ALL, dim, keys, deltas, positions, from, to);
    }

    /**
     * PUSH (add) or SET (overwrite): the same layout. {@code width} floats per key ({@code ranges.width(dim)}) at
     * {@code deltas[position * width]}.
     */
    public static ByteBuf keysAndValues(ByteBufAllocator alloc, byte op, long requestId, Ranges ranges, int width,
            long[] keys, float[] deltas, int[] positions, int from, int to) {
        int n = to - from;
        ByteBuf buf = startFrame(alloc, op, requestId, rangesBytes(ranges) + 4 + 4 + n * bytesPerKey(width));
        writeRanges(buf, ranges);
        buf.writeInt(n);
        buf.writeInt(width);
        for (int i = from; i < to; i++) {
            buf.writeLong(keys[positions == null ? i : positions[i]]);
        }
        int base = buf.writerIndex();
        buf.writeZero(4 * n * width);
        java.nio.FloatBuffer body = buf.nioBuffer(base, 4 * n * width).asFloatBuffer();
        for (int i = from; i < to; i++) {
            body.put(deltas, (positions == null ? i : positions[i]) * width, width);
        }
        return buf;
    }

    /** Bytes of {@code ranges} on the wire. */
    public static int rangesBytes(Ranges ranges) {
        return 2 + 8 * ranges.count();
    }

    private static void writeRanges(ByteBuf buf, Ranges ranges) {
        buf.writeShort(ranges.count());
        for (int i = 0; i < ranges.count(); i++) {
            buf.writeInt(ranges.from(i)).writeInt(ranges.length(i));
        }
    }

    public static ByteBuf aggregate(ByteBufAllocator alloc, long requestId, long id, int parties, byte[] ops,
            double[] values) {
        int n = values.length;
        ByteBuf buf = startFrame(alloc, AGGREGATE, requestId, 8 + 4 + 4 + n + 8 * n);
        buf.writeLong(id).writeInt(parties).writeInt(n);
        buf.writeBytes(ops, 0, n);
        for (double v : values) {
            buf.writeDouble(v);
        }
        return buf;
    }

    public static ByteBuf scan(ByteBufAllocator alloc, long requestId, int slice, int slices, long cursor,
            int limit) {
        ByteBuf buf = startFrame(alloc, SCAN, requestId, 4 + 4 + 8 + 4);
        buf.writeInt(slice).writeInt(slices).writeLong(cursor).writeInt(limit);
        return buf;
    }
}
