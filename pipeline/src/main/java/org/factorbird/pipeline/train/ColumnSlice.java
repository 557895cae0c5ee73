package org.factorbird.pipeline.train;

import org.factorbird.ps.Hashing;
import org.factorbird.ps.PsClient;

/**
 * A subtask's output slice of the columns ({@link Hashing#sliceOf}), read from every shard page by page: across
 * all subtasks, every column exactly once. Used for the column output and for snapshots.
 */
final class ColumnSlice {

    static final int PAGE_KEYS = 8192;

    @FunctionalInterface
    interface PageVisitor {
        void accept(PsClient.ScanPage page) throws Exception;
    }

    private ColumnSlice() {}

    static void forEachPage(PsClient ps, int subtask, int parallelism, PageVisitor visitor) throws Exception {
        for (int shard = 0; shard < ps.shardCount(); shard++) {
            long cursor = 0;
            while (cursor >= 0) {
                Interrupts.check();
                PsClient.ScanPage page = ps.await(ps.scan(shard, subtask, parallelism, cursor, PAGE_KEYS));
                visitor.accept(page);
                cursor = page.nextCursor;
            }
        }
    }
}
