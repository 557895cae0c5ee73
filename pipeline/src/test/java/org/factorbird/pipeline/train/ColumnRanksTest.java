package org.factorbird.pipeline.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

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
        assertEquals(2, ranks.chunk(7));
        assertEquals(0, ranks.chunkOf(0));
        assertEquals(0, ranks.chunkOf(73));
        assertEquals(1, ranks.chunkOf(128));
        assertEquals(1, ranks.chunkOf(200));
        assertArrayEquals(new int[] {74, 66}, Arrays.copyOf(ranks.chunkRatings(), 2));
        // at 2^6 = 64 per chunk each full word is a chunk of its own: {0}, {1}, {2}, {3}
        assertEquals(4, ranks.chunk(6));
        assertArrayEquals(new int[] {64, 10, 64, 2}, Arrays.copyOf(ranks.chunkRatings(), 4));
        assertEquals(3, ranks.chunkOf(200));
        assertEquals(138, ranks.indexOf(200));
    }
}
