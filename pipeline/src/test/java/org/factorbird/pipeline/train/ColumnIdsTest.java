package org.factorbird.pipeline.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ColumnIdsTest {

    @Test
    void idsAreNumberedInOrderOfFirstSightThroughEveryGrowth() {
        ColumnIds ids = new ColumnIds();
        int n = 100_000; // the table starts at 4096 slots: it grows six times
        for (int round = 0; round < 2; round++) { // the second round sees every id again
            for (int i = 0; i < n; i++) {
                long id = (i * 0x9E3779B97F4A7C15L) & Long.MAX_VALUE;
                assertEquals(i, ids.numberOf(id), "id " + id + " in round " + round);
            }
        }
        assertEquals(n, ids.size());
        ids.freeze();
        for (int i = 0; i < n; i++) {
            assertEquals((i * 0x9E3779B97F4A7C15L) & Long.MAX_VALUE, ids.id(i));
        }
        assertEquals(n, ids.ids().length);
        assertEquals("column ids are frozen: packing is over",
                assertThrows(IllegalStateException.class, () -> ids.numberOf(5)).getMessage());
    }

    @Test
    void idsBelowTheDirectRangeAndAboveShareOneNumberingInOrderOfFirstSight() {
        ColumnIds ids = new ColumnIds();
        ids.directLimit(50_000);
        int n = 100_000; // half the ids in the array (grown by doubling from empty), half in the table (grown 5x)
        long[] order = new long[n];
        for (int i = 0; i < n; i++) {
            // alternating: a large id, then the next dense one in ascending order, so that every doubling of
            // the array copies the numbers given so far
            order[i] = i % 2 == 0 ? 1_000_000_000L + i * 7919L : i / 2;
        }
        for (int round = 0; round < 2; round++) {
            for (int i = 0; i < n; i++) {
                assertEquals(i, ids.numberOf(order[i]), "id " + order[i] + " in round " + round);
            }
        }
        assertEquals(n, ids.size());
        ids.freeze();
        for (int i = 0; i < n; i++) {
            assertEquals(order[i], ids.id(i));
        }
        assertEquals("the direct range is set before the first column is numbered, but 100000 are",
                assertThrows(IllegalStateException.class, () -> ids.directLimit(10)).getMessage());
    }

    @Test
    void theDirectRangeIsCappedAndNeverNegative() {
        ColumnIds ids = new ColumnIds();
        ids.directLimit(Long.MAX_VALUE);
        assertEquals(ColumnIds.MAX_DIRECT, ids.directLimit());
        assertEquals(0, ids.numberOf(ColumnIds.MAX_DIRECT)); // past the cap: the table
        assertEquals(1, ids.numberOf(3)); // the array, 4 ints so far
        assertEquals(0, ids.numberOf(ColumnIds.MAX_DIRECT));
        assertEquals(1, ids.numberOf(3));
        assertEquals("limit must be >= 0 but was -1",
                assertThrows(IllegalArgumentException.class, () -> new ColumnIds().directLimit(-1)).getMessage());
    }

    @Test
    void negativeIdsAreRefused() {
        assertEquals("column ids are >= 0 but got -1",
                assertThrows(IllegalArgumentException.class, () -> new ColumnIds().numberOf(-1)).getMessage());
    }
}
