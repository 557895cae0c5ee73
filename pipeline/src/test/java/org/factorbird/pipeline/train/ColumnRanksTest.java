package org.factorbird.pipeline.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;

import org.junit.jupiter.api.Test;

/** The column index of a chunked batch: ranks, keys and chunks, exact. */
class ColumnRanksTest {

    /** A subtask whose column numbers 0..n-1 are ids 1000, 1001, ... */
    private static ColumnIds subtask(int n) {
        ColumnIds ids = new ColumnIds();
        for (int i = 0; i < n; i++) {
            ids.numberOf(1000 + i);
        }
        return ids;
    }

    @Test
    void indexesTheMarkedColumnsInTheOrderOfTheirNumbersAcrossWords() {
        ColumnRanks ranks = new ColumnRanks(subtask(300));
        ranks.clear();
        ranks.mark(new int[] {299, 5, 64, 5, 63, 128, 0}, 1, 7); // 299 is outside [1, 7): not marked
        assertEquals(5, ranks.finish());
        assertArrayEquals(new long[] {1000, 1005, 1063, 1064, 1128}, Arrays.copyOf(ranks.keys(), 5));
        assertEquals(0, ranks.indexOf(0));
        assertEquals(1, ranks.indexOf(5));
        assertEquals(2, ranks.indexOf(63));
        assertEquals(3, ranks.indexOf(64));
        assertEquals(4, ranks.indexOf(128));

        ranks.clear(); // a new batch: nothing of the last one stays
        ranks.mark(new int[] {299, 64}, 0, 2);
        assertEquals(2, ranks.finish());
        assertArrayEquals(new long[] {1064, 1299}, Arrays.copyOf(ranks.keys(), 2));
        assertEquals(0, ranks.indexOf(64));
        assertEquals(1, ranks.indexOf(299));
    }

    @Test
    void chunksAreRunsOfWholeWordsOfAtMostTheLimitAndCountTheirRatings() {
        // words 0..3 hold 64, 10, 64 and 1 marked columns; at 2^7 = 128 per chunk: {0, 1}, {2, 3}
        ColumnRanks ranks = new ColumnRanks(subtask(256));
        int[] cols = new int[64 + 10 + 64 + 1 + 1];
        int n = 0;
        for (int i = 0; i < 64; i++) {
            cols[n++] = i;
        }
        for (int i = 64; i < 74; i++) {
            cols[n++] = i;
        }
        for (int i = 128; i < 192; i++) {
            cols[n++] = i;
        }
        cols[n++] = 200;
        cols[n++] = 200; // a second rating of column 200
        ranks.clear();
        ranks.mark(cols, 0, n);
        assertEquals(139, ranks.finish());
        assertEquals(2, ranks.chunk(7, 99L)); // one run of 8 words: the shuffle keeps their order
        assertEquals(0, ranks.chunkOf(0));
        assertEquals(0, ranks.chunkOf(73));
        assertEquals(1, ranks.chunkOf(128));
        assertEquals(1, ranks.chunkOf(200));
        assertArrayEquals(new int[] {74, 66}, Arrays.copyOf(ranks.chunkRatings(), 2));
        // at 2^6 = 64 per chunk each full word is a chunk of its own: {0}, {1}, {2}, {3}
        assertEquals(4, ranks.chunk(6, 5L));
        assertArrayEquals(new int[] {64, 10, 64, 2}, Arrays.copyOf(ranks.chunkRatings(), 4));
        assertEquals(3, ranks.chunkOf(200));
        assertEquals(138, ranks.indexOf(200));
    }

    @Test
    void chunksTakeRunsOfEightWordsInAnOrderThatChangesWithTheSeed() {
        // 4,096 columns, every one marked once: at 2^9 = 512 per chunk, each chunk is one run of 8 whole words
        ColumnRanks ranks = new ColumnRanks(subtask(4096));
        int[] cols = new int[4096];
        for (int i = 0; i < cols.length; i++) {
            cols[i] = i;
        }
        ranks.clear();
        ranks.mark(cols, 0, cols.length);
        assertEquals(4096, ranks.finish());
        java.util.Set<Integer> firstRunChunks = new java.util.HashSet<>();
        for (long seed = 0; seed < 16; seed++) {
            assertEquals(8, ranks.chunk(9, seed));
            java.util.Set<Integer> seen = new java.util.HashSet<>();
            for (int run = 0; run < 8; run++) {
                int c = ranks.chunkOf(run * 512);
                for (int n = run * 512; n < (run + 1) * 512; n++) {
                    assertEquals(c, ranks.chunkOf(n), "column " + n + " of run " + run + ", seed " + seed);
                }
                assertEquals(512, ranks.chunkRatings()[c]);
                seen.add(c);
            }
            assertEquals(8, seen.size(), "one run per chunk, seed " + seed);
            firstRunChunks.add(ranks.chunkOf(0));
        }
        assertTrue(firstRunChunks.size() > 2, "the first run's chunk changes with the seed: " + firstRunChunks);
    }
}
