package org.factorbird.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class TimeEstimateTest {

    @Test
    void reproducesTheBenchmarksItWasCalibratedOn() {
        // bench.sh / bench-grid.sh: 10M ratings, 10% held out, rank 10, parallelism 2, 10 epochs
        TimeEstimate one = new TimeEstimate(10_000_000, 0.1, 10, 1, false, false, 2, 10);
        // 9M trained x (254 + 4.4 x 25.5) ns + 1M evaluated x 25.5 ns, over 2 cores
        assertEquals((9e6 * (254 + 4.4 * 25.5) + 1e6 * 25.5) / 2 / 1e9, one.secondsPerEpoch, 1e-9);
        assertEquals(10e6 * 550 / 2 / 1e9, one.loadSeconds, 1e-9);
        assertEquals(6 + one.loadSeconds + 10 * one.secondsPerEpoch, one.totalSeconds, 1e-9);
        assertEquals(25.4, one.totalSeconds, 0.1, "measured: 21.7 s");
        TimeEstimate grid = new TimeEstimate(10_000_000, 0.1, 10, 8, false, false, 2, 10);
        assertEquals(61.6, grid.totalSeconds, 0.1, "measured: 56.4 s");
        TimeEstimate ada = new TimeEstimate(10_000_000, 0.1, 10, 1, true, true, 2, 10);
        assertEquals((9e6 * (254 * 1.1 + 4.4 * 51) + 1e6 * 25.5) / 2 / 1e9, ada.secondsPerEpoch, 1e-9);
        assertEquals("about 1.0 min", "about " + TimeEstimate.duration(grid.totalSeconds));
        assertThrows(IllegalArgumentException.class, () -> new TimeEstimate(0, 0, 10, 1, false, false, 1, 1));
    }
}
