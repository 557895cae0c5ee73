package org.factorbird.pipeline.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class PushDampingTest {

    @Test
    void exactValues() {
        // (1 - 0.88^2) / (2 * 0.12) = 0.2256 / 0.24
        assertEquals(0.94, PushDamping.scale(2, 0.12, 1), 1e-12);
        // (1 - 0.5^6) / (3 * 0.5) with q = 0.5^2
        assertEquals((1 - Math.pow(0.25, 3)) / (3 * 0.75), PushDamping.scale(3, 0.5, 2), 1e-12);
        assertEquals(1.0, PushDamping.scale(1, 0.12, 500), 0.0, "one subtask: nothing scaled");
        assertEquals(1.0, PushDamping.scale(4, 0.12, 0), 0.0, "a column only pulled");
        assertEquals(1.0, PushDamping.scale(4, 0.0, 50), 0.0);
        assertEquals(0.25, PushDamping.scale(4, 1.0, 3), 0.0, "q = 0");
        assertEquals(0.5, PushDamping.scale(2, 0.12, 5000), 1e-12, "a popular column: the mean of the deltas");
        // n eta tiny: 1 - q would cancel in floating point; expm1 keeps s at 1 - (p - 1) n eta / 2
        assertEquals(1 - 1e-12, PushDamping.scale(2, 1e-12, 2), 1e-15);
    }

    /**
     * The bias's dynamics, x += eta (T - x): p subtasks each stepping n times from x0 and pushing their scaled
     * deltas end where one subtask stepping p n times would.
     */
    @Test
    void scaledDeltasSumToTheSequentialStep() {
        double eta = 0.07;
        double target = 3.0;
        double x0 = -1.0;
        for (int p : new int[] {2, 3, 8}) {
            for (int n : new int[] {1, 5, 40, 900}) {
                double one = x0;
                for (int i = 0; i < n; i++) {
                    one += eta * (target - one);
                }
                double sequential = x0;
                for (int i = 0; i < p * n; i++) {
                    sequential += eta * (target - sequential);
                }
                double summed = x0 + p * (one - x0) * PushDamping.scale(p, eta, n);
                assertEquals(sequential, summed, 1e-12, "p " + p + ", n " + n);
            }
        }
    }

    @Test
    void tableAgreesWithTheFormulaAndFollowsEta() {
        PushDamping d = new PushDamping(2);
        for (int n : new int[] {0, 1, 7, PushDamping.TABLE - 1, PushDamping.TABLE, 5000}) {
            assertEquals((float) PushDamping.scale(2, 0.12f, n), d.factor(0, 0.12f, n), 0f, "n " + n);
            assertEquals((float) PushDamping.scale(2, 0.06f, n), d.factor(0, 0.06f, n), 0f, "n " + n);
            assertEquals((float) PushDamping.scale(2, 0.3f, n), d.factor(3, 0.3f, n), 0f, "model 3, n " + n);
        }
    }

    @Test
    void refusesNoSubtasks() {
        assertEquals("--parallelism must be >= 1 but was 0",
                assertThrows(IllegalArgumentException.class, () -> new PushDamping(0)).getMessage());
    }
}
