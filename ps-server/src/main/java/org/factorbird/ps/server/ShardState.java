package org.factorbird.ps.server;

import java.util.LinkedHashMap;

import org.factorbird.ps.TableSpec;
import org.factorbird.ps.protocol.Protocol;
import org.factorbird.ps.protocol.Requests;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything one server holds: its place in the cluster and its runs. A run (one training or streaming job's
 * attempt, named by the run id of its clients' HELLO) has its own table and its own barriers, so jobs share a
 * cluster without seeing each other. A run lives while clients are connected to it, and {@link #lingerMillis}
 * after its last connection closed (a job that ended or failed: a restarted attempt is a new run), then its
 * memory is freed. At most {@link #maxRuns} runs at once; the next is refused until one ends. Touched only from
 * the server's single event-loop thread.
 */
final class ShardState {

    private static final Logger LOG = LoggerFactory.getLogger(ShardState.class);

    final int shardIndex;
    final int shardCount;
    /** Floats per key that clients must use, or 0 to accept the first run's. */
    final int requiredDim;
    final int maxFrameBytes;
    /** Name of the cluster this server belongs to; clients that name another one are refused. */
    final String clusterId;
    /** Shared secret clients must prove (AUTH), or null for an open server. */
    final byte[] secret;

    /** Runs held at once at most; a HELLO of one more is refused. */
    final int maxRuns;
    /** How long a run without connections is kept before its table is freed. */
    final long lingerMillis;
    /** The runs, in the order they started. */
    final LinkedHashMap<Long, Run> runs = new LinkedHashMap<>();
    /** Decoding scratch of every connection's handler (see {@link PsServerHandler}). */
    final Requests.Buffers buffers = new Requests.Buffers();

    /** Warnings about bad clients: a flood of garbage must not flood the log. */
    final WarningBudget warnings = new WarningBudget(20, 10_000);

    // written by the event loop only; volatile so that a metrics scrape on another thread reads current values
    volatile long requests;
    volatile long keysServed;
    volatile long bytesIn;
    volatile long bytesOut;
    /** Requests answered with an ERROR, and connections closed for a bad stream or a failed AUTH. */
    volatile long refused;
    /** The runs' totals for readers on other threads (metrics), as of the last {@link #refreshGauges}. */
    volatile long storedKeysGauge;
    volatile long tableBytesGauge;
    volatile int runsGauge;

    ShardState(int shardIndex, int shardCount, int requiredDim, int maxFrameBytes, String clusterId, byte[] secret,
            int maxRuns, long lingerMillis) {
        this.maxRuns = maxRuns;
        this.lingerMillis = lingerMillis;
        this.clusterId = clusterId;
        this.secret = secret;
        this.shardIndex = shardIndex;
        this.shardCount = shardCount;
        this.requiredDim = requiredDim;
        this.maxFrameBytes = maxFrameBytes;
    }

    /** One job's table and barriers, and the connections that joined it. */
    static final class Run {
        final long id;
        final ColumnStore store;
        final AggregateTable aggregates = new AggregateTable();
        int connections;
        /** When the last connection closed (System.nanoTime), while {@code connections} is 0. */
        long idleSince;

        Run(TableSpec spec) {
            this.id = spec.runId();
            this.store = new ColumnStore(spec);
        }

        /** Bytes of the table (keys and values arrays). */
        long tableBytes() {
            return (long) store.capacity() * 8L + 4L * store.values().length;
        }
    }

    /** The run a connection joined, and whether its HELLO started it. */
    record Joined(Run run, boolean started) {}

    /**
     * A connection joins {@code spec}'s run, starting it unless it is held. At the limit of runs, the oldest run
     * without connections (lingering) is freed to make room; without one, the HELLO is refused.
     *
     * @throws Requests.BadRequest ({@link Protocol#E_BUSY}) at the limit of runs, naming them
     */
    Joined join(TableSpec spec) {
        Run run = runs.get(spec.runId());
        boolean started = run == null;
        if (started) {
            if (runs.size() >= maxRuns) {
                Run idle = runs.values().stream().filter(r -> r.connections == 0).findFirst().orElse(null);
                if (idle != null) {
                    runs.remove(idle.id);
                    LOG.info("shard {}: run {} freed before its linger ended, to make room for run {} (--max-runs "
                            + "{}): {} keys", shardIndex, Long.toHexString(idle.id), Long.toHexString(spec.runId()),
                            maxRuns, idle.store.size());
                }
            }
            if (runs.size() >= maxRuns) {
                throw new Requests.BadRequest(Protocol.E_BUSY, "this server holds " + runs.size()
                        + (runs.size() == 1 ? " run" : " runs") + ", its limit (--max-runs): " + describeRuns()
                        + "; try again when one has ended");
            }
            run = new Run(spec);
            runs.put(run.id, run);
        }
        run.connections++;
        return new Joined(run, started);
    }

    /** A connection of {@code run} closed; returns true when it was the last (the run lingers, then goes). */
    boolean leave(Run run) {
        run.connections--;
        if (run.connections == 0) {
            run.idleSince = System.nanoTime();
            return true;
        }
        return false;
    }

    /** Frees {@code run} if it is still held and has had no connection since {@code idleSince}; returns whether. */
    boolean freeIfIdle(Run run, long idleSince) {
        if (runs.get(run.id) == run && run.connections == 0 && run.idleSince == idleSince) {
            runs.remove(run.id);
            return true;
        }
        return false;
    }

    /** Publishes the runs' totals to other threads; after every request and every run's end. */
    void refreshGauges() {
        storedKeysGauge = storedKeys();
        tableBytesGauge = tableBytes();
        runsGauge = runs.size();
    }

    long storedKeys() {
        long n = 0;
        for (Run r : runs.values()) {
            n += r.store.size();
        }
        return n;
    }

    long tableBytes() {
        long n = 0;
        for (Run r : runs.values()) {
            n += r.tableBytes();
        }
        return n;
    }

    /** "run 1a2b (1,234 keys, 0.1 MB, 2 connections), ..." or "no runs". */
    String describeRuns() {
        if (runs.isEmpty()) {
            return "no runs";
        }
        StringBuilder b = new StringBuilder();
        for (Run r : runs.values()) {
            b.append(b.length() == 0 ? "" : ", ").append(String.format(java.util.Locale.ROOT,
                    "run %s (%,d keys, %.1f MB, %d connections)", Long.toHexString(r.id), r.store.size(),
                    r.tableBytes() / 1e6, r.connections));
        }
        return b.toString();
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
