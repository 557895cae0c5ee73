package org.factorbird.ps.server;

import java.util.HashMap;
import java.util.Map;

import org.factorbird.ps.ModelSpec;

/**
 * Everything one server holds: its place in the cluster, the current run's store, and the aggregates under way.
 * Touched only from the server's single event-loop thread.
 */
final class ShardState {

    final int shardIndex;
    final int shardCount;
    /** Floats per key that clients must use, or 0 to accept the first run's. */
    final int requiredDim;
    final int maxFrameBytes;
    /** Name of the cluster this server belongs to; clients that name another one are refused. */
    final String clusterId;
    /** Shared secret clients must prove (AUTH), or null for an open server. */
    final byte[] secret;

    ColumnStore store;
    long runId;
    final Map<Long, Aggregate> aggregates = new HashMap<>();

    long requests;
    long keysServed;
    long bytesIn;
    long bytesOut;

    ShardState(int shardIndex, int shardCount, int requiredDim, int maxFrameBytes, String clusterId, byte[] secret) {
        this.clusterId = clusterId;
        this.secret = secret;
        this.shardIndex = shardIndex;
        this.shardCount = shardCount;
        this.requiredDim = requiredDim;
        this.maxFrameBytes = maxFrameBytes;
    }

    /** Starts {@code spec}'s run unless it is the current one; returns true if a new run started. */
    boolean join(ModelSpec spec) {
        if (store != null && runId == spec.runId()) {
            return false;
        }
        store = new ColumnStore(spec);
        runId = spec.runId();
        aggregates.clear();
        return true;
    }
}
