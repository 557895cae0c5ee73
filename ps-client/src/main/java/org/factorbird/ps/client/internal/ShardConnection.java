package org.factorbird.ps.client.internal;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.factorbird.ps.PsException;
import org.factorbird.ps.protocol.Protocol;
import org.factorbird.ps.protocol.PsFrame;

/**
 * One client connection to one shard: matches replies to requests by id and bounds the requests in flight.
 * {@link #send} blocks the calling (task) thread while {@code maxInFlight} requests are unanswered, which is the
 * client's backpressure: nothing queues without bound. Never blocks the event loop.
 */
public final class ShardConnection extends SimpleChannelInboundHandler<PsFrame> {

    private final int shard;
    private final String address;
    private final Semaphore inFlight;
    private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
    private final AtomicLong nextId = new AtomicLong(1);
    private volatile Channel channel;
    /** Traffic counters: requests and bytes sent by the caller's thread, bytes received on the event loop. */
    private final java.util.concurrent.atomic.LongAdder requestsSent = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder bytesSent = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder bytesReceived = new java.util.concurrent.atomic.LongAdder();
    private volatile PsException failure;

    public ShardConnection(int shard, String address, int maxInFlight) {
        this.shard = shard;
        this.address = address;
        this.inFlight = new Semaphore(maxInFlight);
    }

    public void attach(Channel channel) {
        this.channel = channel;
    }

    public String describe() {
        return "parameter server shard " + shard + " at " + address;
    }

    public Channel channel() {
        return channel;
    }

    public long nextRequestId() {
        return nextId.getAndIncrement();
    }

    /**
     * Registers {@code p} under {@code requestId} and writes {@code frame} (not flushed). Blocks while the
     * connection has its maximum of requests in flight.
     */
    public void send(long requestId, ByteBuf frame, Pending p) {
        try {
            if (!inFlight.tryAcquire()) {
                // Frames written so far must reach the server, or their replies never free a permit.
                channel.flush();
                while (!inFlight.tryAcquire(100, TimeUnit.MILLISECONDS)) {
                    if (failure != null) {
                        frame.release();
                        throw failure;
                    }
                }
            }
        } catch (InterruptedException e) {
            frame.release();
            Thread.currentThread().interrupt();
            throw new PsException("interrupted while waiting to send to " + describe(), e);
        }
        PsException f = failure;
        if (f != null) {
            inFlight.release();
            frame.release();
            throw f;
        }
        pending.put(requestId, p);
        requestsSent.increment();
        bytesSent.add(frame.readableBytes());
        channel.write(frame).addListener(future -> {
            if (!future.isSuccess()) {
                fail(requestId, new PsException("cannot send to " + describe() + ": " + future.cause(), future.cause()));
            }
        });
    }

    public void flush() {
        channel.flush();
    }

    private void fail(long requestId, Throwable cause) {
        Pending p = pending.remove(requestId);
        if (p != null) {
            inFlight.release();
            p.onFailure(cause);
        }
    }

    /** {requests sent, bytes sent, bytes received} so far. */
    public long[] traffic() {
        return new long[] {requestsSent.sum(), bytesSent.sum(), bytesReceived.sum()};
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, PsFrame frame) {
        bytesReceived.add(4 + Protocol.HEADER_BYTES + frame.payload().readableBytes());
        Pending p = pending.remove(frame.requestId());
        if (p == null) {
            // A reply to a request we never sent or already failed: the stream cannot be trusted.
            failAll(new PsException(frame.op() == Protocol.ERROR
                    ? describe() + " closed the connection: " + Protocol.readError(frame.payload())
                    : describe() + " sent a reply to unknown request " + frame.requestId()));
            ctx.close();
            return;
        }
        inFlight.release();
        ByteBuf payload = frame.payload();
        try {
            if (frame.op() == Protocol.ERROR) {
                p.onFailure(new PsException(describe() + " refused the request: " + Protocol.readError(payload)));
            } else {
                p.onReply(payload);
            }
        } catch (RuntimeException e) {
            p.onFailure(e instanceof PsException ? e : new PsException("bad reply from " + describe() + ": " + e, e));
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        failAll(new PsException("lost connection to " + describe()));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        failAll(new PsException("connection to " + describe() + " failed: " + cause.getMessage(), cause));
        ctx.close();
    }

    /** Fails every pending request and every later send with {@code cause}. */
    public void failAll(PsException cause) {
        if (failure == null) {
            failure = cause;
        }
        for (Long id : pending.keySet()) {
            fail(id, failure);
        }
    }

    public PsException failure() {
        return failure;
    }
}
