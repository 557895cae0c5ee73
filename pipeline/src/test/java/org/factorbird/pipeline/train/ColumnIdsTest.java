package org.factorbird.pipeline.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ColumnIdsTest {

    @Test
    void idsAreNumberedInOrderOfFirstSightThroughEveryGrowth() {
        ColumnIds ids = new ColumnIds();
        int n = 100_000; // the table starts at 4096 slots: it grows five times
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
    void negativeIdsAreRefused() {
        assertEquals("column ids are >= 0 but got -1",
                assertThrows(IllegalArgumentException.class, () -> new ColumnIds().numberOf(-1)).getMessage());
    }
}
