package org.factorbird.ps.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.util.AbstractReferenceCounted;

/**
 * One decoded frame: its op, request id and payload. The payload is a slice of the receive buffer (no copy);
 * whoever handles the frame releases it.
 */
public final class PsFrame extends AbstractReferenceCounted {

    private final byte op;
    private final long requestId;
    private final ByteBuf payload;

    public PsFrame(byte op, long requestId, ByteBuf payload) {
        this.op = op;
        this.requestId = requestId;
        this.payload = payload;
    }

    public byte op() {
        return op;
    }

    public long requestId() {
        return requestId;
    }

    public ByteBuf payload() {
        return payload;
    }

    @Override
    protected void deallocate() {
        payload.release();
    }

    @Override
    public PsFrame touch(Object hint) {
        payload.touch(hint);
        return this;
    }

    @Override
    public String toString() {
        return Protocol.opName(op) + "#" + requestId + "(" + payload.readableBytes() + " B)";
    }
}
