package org.factorbird.pipeline.train;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where a subtask's time goes, phase by phase: loading (reading, parsing, spilling), packing (grouping the spilled
 * ratings by row into keyed state), restoring a snapshot, training, waiting at the "trained" barrier, writing
 * snapshots, evaluating, waiting at the "evaluated" barrier, and writing the output. Measured by laps on the task
 * thread; after the last barrier every phase holds the slowest subtask's seconds (model.json's {@code phases}).
 */
final class Phases {

    static final String[] NAMES = {"load", "pack", "restore", "training", "trainingBarrier", "snapshots",
        "evaluation", "evaluationBarrier", "output"};
    /** From the operator's start to the end of its input: reading, parsing and spilling the ratings. */
    static final int LOAD = 0;
    /** Grouping the spilled ratings by row into blocks of keyed state (see {@link RowPacker}). */
    static final int PACK = 1;
    static final int RESTORE = 2;
    static final int TRAINING = 3;
    static final int TRAINING_BARRIER = 4;
    static final int SNAPSHOTS = 5;
    static final int EVALUATION = 6;
    static final int EVALUATION_BARRIER = 7;
    static final int OUTPUT = 8;

    final double[] seconds = new double[NAMES.length];
    private long mark = System.nanoTime();

    /** Starts timing from now. */
    void mark() {
        mark = System.nanoTime();
    }

    /** Adds the time since the last mark or lap to phase {@code p}. */
    void lap(int p) {
        long now = System.nanoTime();
        seconds[p] += (now - mark) / 1e9;
        mark = now;
    }

    /** Name to seconds (3 decimals), in phase order. */
    static Map<String, Double> asMap(double[] seconds) {
        Map<String, Double> m = new LinkedHashMap<>();
        for (int i = 0; i < NAMES.length; i++) {
            m.put(NAMES[i], Math.round(seconds[i] * 1000) / 1000.0);
        }
        return m;
    }
}
