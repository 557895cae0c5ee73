package org.factorbird.ps.server;

import org.factorbird.ps.TableSpec;

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
    final AggregateTable aggregates = new AggregateTable();

    /** Warnings about bad clients: a flood of garbage must not flood the log. */
    final WarningBudget warnings = new WarningBudget(20, 10_000);

    // written by the event loop only; volatile so that a metrics scrape on another thread reads current values
    volatile long requests;
    volatile long keysServed;
    volatile long bytesIn;
    volatile long bytesOut;
    /** Requests answered with an ERROR, and connections closed for a bad stream or a failed AUTH. */
    volatile long refused;

    ShardState(int shardIndex, int shardCount, int requiredDim, int maxFrameBytes, String clusterId, byte[] secret) {
        this.clusterId = clusterId;
        this.secret = secret;
        this.shardIndex = shardIndex;
        this.shardCount = shardCount;
        this.requiredDim = requiredDim;
        this.maxFrameBytes = maxFrameBytes;
    }

    /** Starts {@code spec}'s run unless it is the current one; returns true if a new run started. */
    boolean join(TableSpec spec) {
        if (store != null && runId == spec.runId()) {
            return false;
        }
        store = new ColumnStore(spec);
        runId = spec.runId();
        aggregates.clear();
        return true;
    }

    /** At most {@code max} warnings per window; counts the ones it suppresses. */
    static final class WarningBudget {
        private final int max;
        private final long windowMs;
        private long windowStart;
        private int used;
        private long suppressed;

        WarningBudget(int max, long windowMs) {
            this.max = max;
            this.windowMs = windowMs;
        }

        boolean allow() {
            long now = System.currentTimeMillis();
            if (now - windowStart >= windowMs) {
                windowStart = now;
                used = 0;
            }
            if (used < max) {
                used++;
                return true;
            }
            suppressed++;
            return false;
        }

        /** " (N similar warnings suppressed)" once after suppressing some, else "". */
        String suppressedNote() {
            if (suppressed == 0) {
                return "";
            }
            String note = " (" + suppressed + " similar warnings suppressed)";
            suppressed = 0;
            return note;
        }
    }
}
