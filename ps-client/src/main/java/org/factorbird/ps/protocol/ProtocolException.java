package org.factorbird.ps.protocol;

import io.netty.handler.codec.CorruptedFrameException;

/** A frame that cannot be understood: bad magic, unsupported version, or a payload that does not add up. */
public class ProtocolException extends CorruptedFrameException {

    private final short code;

    public ProtocolException(short code, String message) {
        super(message);
        this.code = code;
    }

    public short code() {
        return code;
    }
}
