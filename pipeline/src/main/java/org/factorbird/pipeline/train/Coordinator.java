package org.factorbird.pipeline.train;

import java.util.Arrays;

import org.factorbird.ps.PsClient;
import org.factorbird.ps.protocol.Protocol;
import org.factorbird.ps.protocol.Requests;

/**
 * The points where all subtasks of a run wait for each other, each one AGGREGATE on the parameter server: every
 * subtask contributes its partial numbers and receives the combined ones once all have arrived, so a barrier and
 * the aggregation of a metric cost one round trip.
 *
 * <p>Aggregate ids are {@code attempt << 40 | phase << 32 | epoch}: restart attempts never mix their barriers,
 * and the barriers of one attempt are told apart by phase and epoch.
 */
final class Coordinator {

    private static final long LOAD = 1L << 32;
    private static final long TRAINED = 2L << 32;
    private static final long EVALUATED = 3L << 32;
    private static final long DONE = 4L << 32;
    private static final long RESTORED = 5L << 32;
    /** The epoch field of the barrier after a final snapshot (epochs are far smaller). */
    private static final int FINAL_SNAPSHOT = 0xFFFFF;

    private final PsClient ps;
    private final int attempt;
    private final int parallelism;

    Coordinator(PsClient ps, int attempt, int parallelism) {
        this.ps = ps;
        this.attempt = attempt;
        this.parallelism = parallelism;
    }

    /**
     * One barrier; more values than one AGGREGATE carries ({@link Requests#MAX_AGGREGATE_VALUES}) go in several,
     * chunk c under id {@code id | c << 20} (epochs stay below 2^20).
     */
    private double[] aggregate(long id, byte[] ops, double... values) {
        long base = id | ((long) attempt << 40);
        int max = Requests.MAX_AGGREGATE_VALUES;
        if (values.length <= max) {
            return ps.awaitUnbounded(ps.aggregate(base, parallelism, ops, values));
        }
        double[] out = new double[values.length];
        for (int from = 0, chunk = 0; from < values.length; from += max, chunk++) {
            int to = Math.min(values.length, from + max);
            double[] part = ps.awaitUnbounded(ps.aggregate(base | ((long) chunk << 20), parallelism,
                    Arrays.copyOfRange(ops, from, to), Arrays.copyOfRange(values, from, to)));
            System.arraycopy(part, 0, out, from, to - from);
        }
        return out;
    }

    /** All subtasks have packed their rows: the job's totals (from which the global mean). */
    LoadStats agreeOnLoad(LoadStats local) {
        return LoadStats.fromArray(aggregate(LOAD, LoadStats.OPS, local.toArray()));
    }

    /** All subtasks have trained {@code epoch} and their pushes are applied; returns the summed {@code loss}. */
    double[] epochTrained(int epoch, double[] loss) {
        return aggregate(TRAINED | epoch, sums(loss.length), loss);
    }

    /** All subtasks have evaluated {@code epoch}; returns {@code values} combined by {@code ops}. */
    double[] epochEvaluated(int epoch, byte[] ops, double[] values) {
        return aggregate(EVALUATED | epoch, ops, values);
    }

    /** All subtasks have restored the snapshot of {@code epoch}; returns the total {rows, columns} restored. */
    double[] restored(int epoch, long rows, long columns) {
        return aggregate(RESTORED | epoch, sums(2), rows, columns);
    }

    /** All subtasks have written the snapshot taken after an early stop. */
    void finalSnapshotWritten() {
        aggregate(RESTORED | FINAL_SNAPSHOT, sums(1), 0);
    }

    /**
     * All subtasks have written their output; returns the total {rows, columns} written, then each of
     * {@code phases} as the slowest subtask's.
     */
    double[] outputWritten(long rows, long columns, double[] phases) {
        byte[] ops = new byte[2 + phases.length];
        Arrays.fill(ops, 2, ops.length, Protocol.AGG_MAX);
        double[] values = new double[2 + phases.length];
        values[0] = rows;
        values[1] = columns;
        System.arraycopy(phases, 0, values, 2, phases.length);
        return aggregate(DONE, ops, values);
    }

    /** Every value summed. */
    private static byte[] sums(int n) {
        byte[] ops = new byte[n];
        Arrays.fill(ops, Protocol.AGG_SUM);
        return ops;
    }
}
