package org.factorbird.pipeline.train;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.function.IntConsumer;

/**
 * Points where tests inject faults at an exact moment instead of guessing it from timing. Inert in production:
 * nothing happens unless a test sets {@link #afterEpoch} (a job on a MiniCluster, in the test's JVM) or starts
 * the TaskManagers with the environment variable {@value #PAUSE_DIR_ENV} (a multi-process cluster).
 */
public final class TrainHooks {

    /**
     * Called by subtask 0 right after epoch {@code e} is complete: both barriers passed and its periodic snapshot,
     * if one was due, committed (the extra snapshot after an early stop comes later). The next epoch starts when it
     * returns.
     */
    public static volatile IntConsumer afterEpoch;

    /**
     * A directory: when it holds {@code pause-at-E}, subtask 0 stops after epoch E (at the same point as
     * {@link #afterEpoch}), writes its process id to {@code paused-at-E}, and goes on once {@code pause-at-E} is
     * deleted (or after 5 minutes). A test can then kill a process at exactly that epoch.
     */
    public static final String PAUSE_DIR_ENV = "FACTORBIRD_TEST_PAUSE_DIR";

    private static final long MAX_PAUSE_MS = 300_000;

    private TrainHooks() {}

    /** Runs the hooks for the end of {@code epoch}; called by subtask 0 only. */
    static void epochDone(int epoch) throws InterruptedException {
        IntConsumer hook = afterEpoch;
        if (hook != null) {
            hook.accept(epoch);
        }
        String dir = System.getenv(PAUSE_DIR_ENV);
        if (dir != null && !dir.isEmpty()) {
            pauseIfAsked(Paths.get(dir), epoch);
        }
    }

    private static void pauseIfAsked(Path dir, int epoch) throws InterruptedException {
        Path request = dir.resolve("pause-at-" + epoch);
        if (!Files.exists(request)) {
            return;
        }
        try {
            // written whole, then moved into place: a test that sees the file can read the pid
            Path tmp = dir.resolve("paused-at-" + epoch + ".tmp");
            Files.writeString(tmp, ProcessHandle.current().pid() + "\n", StandardCharsets.UTF_8);
            Files.move(tmp, dir.resolve("paused-at-" + epoch), StandardCopyOption.ATOMIC_MOVE);
        } catch (java.io.IOException e) {
            return; // a test hook must never fail a run
        }
        long deadline = System.currentTimeMillis() + MAX_PAUSE_MS;
        while (Files.exists(request) && System.currentTimeMillis() < deadline) {
            Interrupts.check();
            Thread.sleep(20);
        }
    }
}
