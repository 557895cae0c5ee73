package org.factorbird.ps.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.TooLongFrameException;

import org.factorbird.ps.Ranges;
import org.junit.jupiter.api.Test;

class ProtocolTest {

    private static final UnpooledByteBufAllocator ALLOC = UnpooledByteBufAllocator.DEFAULT;

    @Test
    void pullOfOneKeyHasTheDocumentedBytes() {
        ByteBuf frame = Protocol.pull(ALLOC, 1, false, new long[] {7}, null, 0, 1);
        assertEquals("0000001b" + "fb1d" + "02" + "02" + "0000000000000001" + "00" + "0000" + "00000001"
                + "0000000000000007", ByteBufUtil.hexDump(frame));
        frame.release();
    }

    @Test
    void pullOfRangesNamesThemAfterTheFlags() {
        Ranges ranges = Ranges.of(new int[] {2, 9}, new int[] {3, 1});
        ByteBuf frame = Protocol.pull(ALLOC, 1, true, ranges, new long[] {7}, null, 0, 1);
        assertEquals("0000002b" + "fb1d" + "02" + "02" + "0000000000000001" + "01" + "0002" + "00000002" + "00000003"
                + "00000009" + "00000001" + "00000001" + "0000000000000007", ByteBufUtil.hexDump(frame));
        frame.release();
    }

    @Test
    void rangesMergeNeighboursAndRefuseOverlaps() {
        Ranges merged = Ranges.of(new int[] {0, 3, 8}, new int[] {3, 2, 1});
        assertEquals(2, merged.count());
        assertEquals(6, merged.width(100));
        assertEquals("[0,5),[8,9)", merged.toString());
        assertTrue(merged.fits(9));
        assertFalse(merged.fits(8));
        assertEquals(11, Ranges.ALL.width(11));
        assertEquals("range 1 [2, +1) must start at or after 3 with a length >= 1",
                assertThrows(IllegalArgumentException.class,
                        () -> Ranges.of(new int[] {0, 2}, new int[] {3, 1})).getMessage());
        assertThrows(IllegalArgumentException.class, () -> Ranges.of(new int[] {0}, new int[] {0}));
    }

    @Test
    void pushEncodesKeysThenDeltasInPositionOrder() {
        long[] keys = {10, 20, 30};
        float[] deltas = {1f, 2f, 3f, 4f, 5f, 6f};
        ByteBuf frame = Protocol.push(ALLOC, 9, 2, keys, deltas, new int[] {2, 0}, 0, 2);
        EmbeddedChannel ch = new EmbeddedChannel(new PsFrameDecoder(1 << 16));
        assertTrue(ch.writeInbound(frame));
        PsFrame f = ch.readInbound();
        assertEquals(Protocol.PUSH, f.op());
        assertEquals(9, f.requestId());
        ByteBuf p = f.payload();
        assertEquals(0, p.readShort()); // no ranges: every float of each key
        assertEquals(2, p.readInt());
        assertEquals(2, p.readInt());
        assertEquals(30, p.readLong());
        assertEquals(10, p.readLong());
        assertArrayEquals(new float[] {5f, 6f, 1f, 2f},
                new float[] {p.readFloat(), p.readFloat(), p.readFloat(), p.readFloat()});
        assertFalse(p.isReadable());
        f.release();
        assertFalse(ch.finish());
    }

    @Test
    void frameSplitAcrossReadsDecodesOnce() {
        ByteBuf frame = Protocol.aggregate(ALLOC, 5, 77L, 3, new byte[] {Protocol.AGG_SUM, Protocol.AGG_MAX},
                new double[] {1.5, -2.0});
        EmbeddedChannel ch = new EmbeddedChannel(new PsFrameDecoder(1 << 16));
        assertFalse(ch.writeInbound(frame.readRetainedSlice(7)));
        assertNull(ch.readInbound());
        assertTrue(ch.writeInbound(frame));
        PsFrame f = ch.readInbound();
        assertEquals(Protocol.AGGREGATE, f.op());
        assertEquals(5, f.requestId());
        ByteBuf p = f.payload();
        assertEquals(77L, p.readLong());
        assertEquals(3, p.readInt());
        assertEquals(2, p.readInt());
        assertEquals(Protocol.AGG_SUM, p.readByte());
        assertEquals(Protocol.AGG_MAX, p.readByte());
        assertEquals(1.5, p.readDouble());
        assertEquals(-2.0, p.readDouble());
        f.release();
        assertFalse(ch.finish());
    }

    @Test
    void errorReplyRoundTrips() {
        ByteBuf frame = Protocol.error(ALLOC, 3, Protocol.E_MISMATCH, "dim 5 vs 11");
        EmbeddedChannel ch = new EmbeddedChannel(new PsFrameDecoder(1 << 16));
        ch.writeInbound(frame);
        PsFrame f = ch.readInbound();
        assertEquals(Protocol.ERROR, f.op());
        assertEquals("dim 5 vs 11 (code 4)", Protocol.readError(f.payload()));
        f.release();
    }

    @Test
    void badMagicIsRejected() {
        ByteBuf bad = Unpooled.buffer().writeInt(12).writeShort(0x1234).writeByte(1).writeByte(2).writeLong(1);
        EmbeddedChannel ch = new EmbeddedChannel(new PsFrameDecoder(1 << 16));
        ProtocolException e = assertThrows(ProtocolException.class, () -> ch.writeInbound(bad));
        assertEquals("Invalid magic number: 0x1234", e.getMessage());
    }

    @Test
    void wrongVersionIsRejectedWithItsCode() {
        ByteBuf bad = Unpooled.buffer().writeInt(12).writeShort(Protocol.MAGIC).writeByte(9).writeByte(2)
                .writeLong(1);
        EmbeddedChannel ch = new EmbeddedChannel(new PsFrameDecoder(1 << 16));
        ProtocolException pe = assertThrows(ProtocolException.class, () -> ch.writeInbound(bad));
        assertEquals(Protocol.E_BAD_VERSION, pe.code());
        assertTrue(pe.getMessage().contains("version 9"), pe.getMessage());
    }

    @Test
    void frameShorterThanHeaderIsRejected() {
        ByteBuf bad = Unpooled.buffer().writeInt(3).writeShort(Protocol.MAGIC).writeByte(1);
        EmbeddedChannel ch = new EmbeddedChannel(new PsFrameDecoder(1 << 16));
        ProtocolException e = assertThrows(ProtocolException.class, () -> ch.writeInbound(bad));
        assertTrue(e.getMessage().contains("shorter than the 12 B header"), e.getMessage());
    }

    @Test
    void oversizedFrameIsRejectedBeforeItIsBuffered() {
        ByteBuf big = Unpooled.buffer().writeInt(1 << 20).writeShort(Protocol.MAGIC);
        EmbeddedChannel ch = new EmbeddedChannel(new PsFrameDecoder(4096));
        assertThrows(TooLongFrameException.class, () -> ch.writeInbound(big));
    }

    @Test
    void frameLimitIsCheckedUpFront() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new PsFrameDecoder(10));
        assertEquals("maxFrameBytes must be >= 76 but was 10", e.getMessage());
        assertEquals(1, Protocol.maxKeysPerFrame(200, 20));
        assertThrows(IllegalArgumentException.class, () -> Protocol.maxKeysPerFrame(100, 20));
    }

    /** The frame's payload: after the length, magic, version, op and request id. */
    private static ByteBuf payload(ByteBuf frame) {
        return frame.skipBytes(4 + Protocol.HEADER_BYTES);
    }

    @Test
    void requestDecodersReadWhatTheEncodersWroteAndRefuseInconsistentPayloads() {
        UnpooledByteBufAllocator a = UnpooledByteBufAllocator.DEFAULT;
        Requests.Push push = Requests.push(payload(Protocol.push(a, 9, 2, new long[] {4, 11}, new float[] {1f, 2f,
                3f, 4f}, null, 0, 2)), "PUSH");
        assertEquals(2, push.n());
        assertEquals(2, push.width());
        assertEquals(Ranges.ALL, push.ranges());
        assertEquals(11L, push.key(1));
        assertEquals(3f, push.values()[2]);
        Requests.Pull pull = Requests.pull(payload(Protocol.pull(a, 1, true, new long[] {7, 8}, null, 0, 2)));
        assertTrue(pull.readOnly());
        assertEquals(8L, pull.key(1));
        Ranges two = Ranges.of(new int[] {1, 4}, new int[] {1, 1});
        Requests.Push part = Requests.push(payload(Protocol.keysAndValues(a, Protocol.PUSH, 9, two, 2,
                new long[] {4}, new float[] {5f, 6f}, null, 0, 1)), "PUSH");
        assertEquals(two, part.ranges());
        assertEquals(6f, part.values()[1]);
        ByteBuf wrongWidth = payload(Protocol.keysAndValues(a, Protocol.PUSH, 9, two, 1, new long[] {4},
                new float[] {5f}, null, 0, 1));
        assertEquals("PUSH of ranges [1,2),[4,5) must carry 2 floats per key but says 1",
                assertThrows(Requests.BadRequest.class, () -> Requests.push(wrongWidth, "PUSH")).getMessage());
        Requests.Aggregate agg = Requests.aggregate(payload(Protocol.aggregate(a, 1, 42L, 3,
                new byte[] {Protocol.AGG_SUM, Protocol.AGG_MAX}, new double[] {1.5, -2})));
        assertEquals(new Requests.Aggregate(42L, 3, agg.ops(), agg.values()), agg);
        assertArrayEquals(new double[] {1.5, -2}, agg.values());
        assertEquals(new Requests.Scan(1, 4, 17L, 100), Requests.scan(payload(Protocol.scan(a, 1, 1, 4, 17L, 100))));

        ByteBuf truncated = payload(Protocol.push(a, 9, 2, new long[] {4}, new float[] {1f, 2f}, null, 0, 1));
        truncated.writerIndex(truncated.writerIndex() - 4);
        Requests.BadRequest e = assertThrows(Requests.BadRequest.class, () -> Requests.push(truncated, "SET"));
        assertEquals("SET of 1 keys x 2 must carry 16 B but carries 12 B", e.getMessage());
        assertEquals(Protocol.E_BAD_REQUEST, e.code);
        ByteBuf nan = payload(Protocol.push(a, 9, 1, new long[] {5}, new float[] {Float.NaN}, null, 0, 1));
        assertEquals("PUSH carries a non-finite delta for key 5 (training diverged? lower the learning rate)",
                assertThrows(Requests.BadRequest.class, () -> Requests.push(nan, "PUSH")).getMessage());
        ByteBuf reserved = payload(Protocol.pull(a, 1, false, new long[] {Long.MIN_VALUE}, null, 0, 1));
        assertEquals("key -9223372036854775808 is reserved",
                assertThrows(Requests.BadRequest.class, () -> Requests.pull(reserved)).getMessage());
    }
}
