package org.factorbird.pipeline.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.junit.jupiter.api.Test;

class HoldoutSplitTest {

    @Test
    void splitIsAPureFunctionOfSeedRowAndColumnWithTheRequestedShare() {
        int held = 0;
        int n = 200_000;
        for (int i = 0; i < n; i++) {
            long row = i / 500;
            long col = i % 500 * 7919L;
            boolean out = HoldoutSplit.isHeldOut(42, row, col, 0.1);
            assertEquals(out, HoldoutSplit.isHeldOut(42, row, col, 0.1), "stable on a second call");
            held += out ? 1 : 0;
        }
        assertEquals(0.1, held / (double) n, 0.003);
        // values pinned so that a change of the function (which would move users' splits) fails here
        assertEquals(0.0628865727, HoldoutSplit.unit(42, 1, 2), 1e-9);
        assertEquals(0.5824844843, HoldoutSplit.unit(42, 123456789L, 987654321L), 1e-9);
        assertNotEquals(HoldoutSplit.unit(42, 1, 2), HoldoutSplit.unit(43, 1, 2));
        assertNotEquals(HoldoutSplit.unit(42, 1, 2), HoldoutSplit.unit(42, 2, 1));
    }
}
