package org.factorbird.ps.server;

import io.netty.channel.ChannelHandlerContext;

import java.util.ArrayList;
import java.util.List;

import org.factorbird.ps.protocol.Protocol;

/** One AGGREGATE under way: the values combined so far and the parties waiting for the result. */
final class Aggregate {

    final int parties;
    final byte[] ops;
    final double[] acc;
    final List<ChannelHandlerContext> waiters = new ArrayList<>();
    final List<Long> requestIds = new ArrayList<>();

    Aggregate(int parties, byte[] ops, double[] first) {
        this.parties = parties;
        this.ops = ops.clone();
        this.acc = first.clone();
    }

    void combine(double[] v) {
        for (int i = 0; i < acc.length; i++) {
            switch (ops[i]) {
                case Protocol.AGG_MIN:
                    acc[i] = Math.min(acc[i], v[i]);
                    break;
                case Protocol.AGG_MAX:
                    acc[i] = Math.max(acc[i], v[i]);
                    break;
                default:
                    acc[i] += v[i];
            }
        }
    }

    boolean complete() {
        return waiters.size() >= parties;
    }
}
