package org.factorbird.ps.server;

import io.netty.channel.ChannelHandlerContext;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

import org.factorbird.ps.protocol.Protocol;
import org.factorbird.ps.protocol.Requests;

/**
 * The AGGREGATEs under way on shard 0 (barriers with partial sums): each collects its parties' values until all
 * have arrived. Bounded: at most {@link #MAX_OPEN} at once, so a flood of ids cannot exhaust memory; a connection
 * that closes takes the aggregates it alone had joined with it. Touched from the server's event-loop thread only.
 */
final class AggregateTable {

    /** Aggregates waiting for parties at once; more are refused. */
    static final int MAX_OPEN = 1024;

    private final Map<Long, Aggregate> open = new HashMap<>();

    /**
     * Adds one party's values; returns the aggregate once every party has arrived (and forgets it), else null.
     *
     * @throws Requests.BadRequest when too many are open or the request disagrees with the earlier parties'
     */
    Aggregate arrive(Requests.Aggregate r, ChannelHandlerContext party, long requestId) {
        Aggregate agg = open.get(r.id());
        if (agg == null) {
            if (open.size() >= MAX_OPEN) {
                throw new Requests.BadRequest(Protocol.E_BAD_REQUEST, "too many open aggregates (" + MAX_OPEN + ")");
            }
            agg = new Aggregate(r.parties(), r.ops(), r.values());
            open.put(r.id(), agg);
        } else if (agg.parties != r.parties() || !Arrays.equals(agg.ops, r.ops())) {
            throw new Requests.BadRequest(Protocol.E_MISMATCH, "AGGREGATE " + r.id() + " has " + agg.parties
                    + " parties and " + agg.ops.length + " values, this party sent " + r.parties() + " and "
                    + r.ops().length);
        } else {
            agg.combine(r.values());
        }
        agg.waiters.add(party);
        agg.requestIds.add(requestId);
        if (!agg.complete()) {
            return null;
        }
        open.remove(r.id());
        return agg;
    }

    /** A party that is gone will never complete its aggregates: forget those it alone had joined. */
    void forget(ChannelHandlerContext party) {
        open.values().removeIf(a -> a.waiters.size() == 1 && a.waiters.get(0) == party);
    }

    /** A new run starts: the old run's barriers will never complete. */
    void clear() {
        open.clear();
    }
}
