package org.factorbird.pipeline.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class PruningTest {

    @Test
    void keepsTheShareRoundedUpAndAtLeastOne() {
        assertEquals(14, Pruning.kept(27, 0.5));
        assertEquals(4, Pruning.kept(7, 0.5));
        assertEquals(1, Pruning.kept(2, 0.5));
        assertEquals(1, Pruning.kept(5, 0.1));
        assertEquals(7, Pruning.kept(10, 0.7), "0.7 * 10 is 7.000000000000001 in doubles, still 7");
    }

    @Test
    void modelsTiedWithTheLastOneKeptGoOnToo() {
        // the cut of a MovieLens tune run after epoch 15: 4th and 5th were 2e-5 apart, and which of them went on
        // depended on the run's timing
        double[] sorted = {0.83815, 0.83869, 0.84043, 0.84126, 0.84128, 0.84378, 0.85389};
        assertEquals(5, Pruning.goOn(sorted, 0.5, 0.001));
        // just inside and just outside the tie: 0.84126 * (1 + 0.001) = 0.842101
        assertEquals(5, Pruning.goOn(new double[] {0.8, 0.81, 0.82, 0.84126, 0.8421, 0.9, 0.9}, 0.5, 0.001));
        assertEquals(4, Pruning.goOn(new double[] {0.8, 0.81, 0.82, 0.84126, 0.84211, 0.9, 0.9}, 0.5, 0.001));
        // a run of ties goes on as a whole; a diverged model (infinite) never ties with a finite cut
        assertEquals(3, Pruning.goOn(new double[] {0.5, 0.5, 0.5, 0.6}, 0.5, 0.001));
        assertEquals(1, Pruning.goOn(new double[] {0.5, Double.POSITIVE_INFINITY}, 0.5, 0.001));
        assertEquals(2, Pruning.goOn(new double[] {0.5, 0.5}, 0.5, 0.001), "all tied: nobody stops");
        // --prune-tie 0: the share exactly, ties broken by the order given (the caller's: smaller index first)
        assertEquals(4, Pruning.goOn(sorted, 0.5, 0));
        assertEquals(2, Pruning.goOn(new double[] {0.5, 0.5, 0.5, 0.6}, 0.5, 0));
    }
}
