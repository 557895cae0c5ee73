package org.factorbird.ps.client.internal;

import io.netty.buffer.ByteBuf;

/** A request waiting for its reply. Both methods run on the connection's event loop, exactly one of them once. */
public interface Pending {

    /** The reply's payload (the reply op has been checked); throw to fail the request. */
    void onReply(ByteBuf payload);

    void onFailure(Throwable cause);
}
