package org.factorbird.pipeline.train;

import java.util.function.IntConsumer;

/**
 * Points where tests inject faults at an exact moment instead of guessing it from timing. Null (nothing happens)
 * unless a test running the job in its own JVM (a MiniCluster) sets them; never set in production.
 */
public final class TrainHooks {

    /**
     * Called by subtask 0 right after epoch {@code e} is complete: both barriers passed and its snapshot, if any,
     * committed. The next epoch starts when it returns.
     */
    public static volatile IntConsumer afterEpoch;

    private TrainHooks() {}
}
