package org.factorbird.ps.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;

/**
 * Splits the byte stream into {@link PsFrame}s and checks each header. A frame longer than the maximum raises
 * {@link io.netty.handler.codec.TooLongFrameException}; a wrong magic number or version raises
 * {@link ProtocolException}. Both leave the stream unusable, so handlers close the connection on them.
 * Stateful (it buffers partial frames): one instance per channel.
 */
public final class PsFrameDecoder extends LengthFieldBasedFrameDecoder {

    private final int maxFrameBytes;

    public PsFrameDecoder(int maxFrameBytes) {
        // length field: 4 bytes at offset 0, counting what follows it; strip it.
        super(checkMax(maxFrameBytes) + 4, 0, 4, 0, 4, true);
        this.maxFrameBytes = maxFrameBytes;
    }

    private static int checkMax(int maxFrameBytes) {
        if (maxFrameBytes < Protocol.HEADER_BYTES + 64) {
            throw new IllegalArgumentException("maxFrameBytes must be >= " + (Protocol.HEADER_BYTES + 64)
                    + " but was " + maxFrameBytes);
        }
        return maxFrameBytes;
    }

    public int maxFrameBytes() {
        return maxFrameBytes;
    }

    @Override
    protected Object decode(ChannelHandlerContext ctx, ByteBuf in) throws Exception {
        ByteBuf frame = (ByteBuf) super.decode(ctx, in);
        if (frame == null) {
            return null;
        }
        try {
            if (frame.readableBytes() < Protocol.HEADER_BYTES) {
                throw new ProtocolException(Protocol.E_BAD_REQUEST,
                        "frame of " + frame.readableBytes() + " B is shorter than the " + Protocol.HEADER_BYTES
                                + " B header");
            }
            short magic = frame.readShort();
            if (magic != Protocol.MAGIC) {
                throw new ProtocolException(Protocol.E_BAD_REQUEST,
                        "Invalid magic number: 0x" + Integer.toHexString(magic & 0xFFFF));
            }
            byte version = frame.readByte();
            if (version != Protocol.VERSION) {
                throw new ProtocolException(Protocol.E_BAD_VERSION,
                        "unsupported protocol version " + version + ", this side speaks " + Protocol.VERSION);
            }
            byte op = frame.readByte();
            long requestId = frame.readLong();
            return new PsFrame(op, requestId, frame);
        } catch (RuntimeException e) {
            frame.release();
            throw e;
        }
    }
}
