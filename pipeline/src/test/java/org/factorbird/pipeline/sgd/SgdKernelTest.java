package org.factorbird.pipeline.sgd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class SgdKernelTest {

    @Test
    void predictionIsMeanPlusBiasesPlusDot() {
        float[] row = {0.5f, 1f, 2f};
        float[] col = {9f, 9f, -0.25f, 3f, 0.5f};
        // mu 3 + b_i 0.5 + b_j -0.25 + (1*3 + 2*0.5) = 7.25, column at offset 2
        assertEquals(7.25f, SgdKernel.predict(3f, row, 0, col, 2, 3));
    }

    @Test
    void stepMatchesHandComputedUpdate() {
        // mu = 3, b_i = 0.5, u = (1, 2); b_j = -0.25, v = (3, 0.5); r = 5
        // prediction 7.25, e = -2.25; eta 0.1, lambda 0.2, lambdaBias 0.1
        float[] row = {0.5f, 1f, 2f};
        float[] col = {-0.25f, 3f, 0.5f};
        float sq = SgdKernel.step(5f, 3f, row, 0, col, 0, 3, 0.1f, 0.2f, 0.1f);
        assertEquals(5.0625f, sq);
        // b_i = 0.5 + 0.1 (-2.25 - 0.1*0.5) = 0.27
        // u1 = 1 + 0.1 (-2.25*3 - 0.2*1) = 0.305 ; u2 = 2 + 0.1 (-2.25*0.5 - 0.2*2) = 1.8475
        assertArrayEquals(new float[] {0.27f, 0.305f, 1.8475f}, row, 1e-6f);
        // b_j = -0.25 + 0.1 (-2.25 + 0.1*0.25) = -0.4725
        // v1 = 3 + 0.1 (-2.25*1 - 0.2*3) = 2.715 ; v2 = 0.5 + 0.1 (-2.25*2 - 0.2*0.5) = 0.04
        assertArrayEquals(new float[] {-0.4725f, 2.715f, 0.04f}, col, 1e-6f);
    }

    @Test
    void repeatedStepsOnOneRatingConvergeToIt() {
        float[] row = {0f, 0.1f, 0.1f};
        float[] col = {0f, 0.1f, 0.1f};
        float sq = 0;
        for (int i = 0; i < 2000; i++) {
            sq = SgdKernel.step(4f, 3f, row, 0, col, 0, 3, 0.05f, 0f, 0f);
        }
        assertEquals(0f, sq, 1e-8f);
        assertEquals(4f, SgdKernel.predict(3f, row, 0, col, 0, 3), 1e-4f);
    }
}
