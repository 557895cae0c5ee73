package org.factorbird.pipeline.sgd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class LongIntMapTest {

    @Test
    void assignsDenseIndicesInOrderOfFirstSightAndClearsInConstantTime() {
        LongIntMap m = new LongIntMap(4);
        for (int round = 0; round < 3; round++) {
            m.clear();
            int n = 10_000 + round;
            for (int i = 0; i < n; i++) {
                assertEquals(i, m.indexOf(Long.MAX_VALUE - 7L * i));
            }
            for (int i = n - 1; i >= 0; i--) {
                assertEquals(i, m.indexOf(Long.MAX_VALUE - 7L * i));
            }
            assertEquals(n, m.size());
            for (int i = 0; i < n; i++) {
                assertEquals(Long.MAX_VALUE - 7L * i, m.keys()[i]);
            }
        }
    }
}
