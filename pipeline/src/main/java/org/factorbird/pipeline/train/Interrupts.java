package org.factorbird.pipeline.train;

/** Cancellation of the loops inside {@code endInput()}, which Flink only signals by interrupting the task thread. */
final class Interrupts {

    private Interrupts() {}

    static void check() throws InterruptedException {
        if (Thread.currentThread().isInterrupted()) {
            throw new InterruptedException("training cancelled");
        }
    }
}
