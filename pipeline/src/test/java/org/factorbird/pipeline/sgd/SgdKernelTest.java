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
        assertEquals(7.25f, SgdKernel.predict(3f, row, 0, col, 2, 2));
    }

    @Test
    void stepMatchesHandComputedUpdate() {
        // mu = 3, b_i = 0.5, u = (1, 2); b_j = -0.25, v = (3, 0.5); r = 5
        // prediction 7.25, e = -2.25; eta 0.1, lambda 0.2, lambdaBias 0.1
        float[] row = {0.5f, 1f, 2f};
        float[] col = {-0.25f, 3f, 0.5f};
        float sq = SgdKernel.step(5f, 1f, 3f, row, 0, col, 0, 2, 0.1f, 0.2f, 0.1f);
        assertEquals(5.0625f, sq);
        // b_i = 0.5 + 0.1 (-2.25 - 0.1*0.5) = 0.27
        // u1 = 1 + 0.1 (-2.25*3 - 0.2*1) = 0.305 ; u2 = 2 + 0.1 (-2.25*0.5 - 0.2*2) = 1.8475
        assertArrayEquals(new float[] {0.27f, 0.305f, 1.8475f}, row, 1e-6f);
        // b_j = -0.25 + 0.1 (-2.25 + 0.1*0.25) = -0.4725
        // v1 = 3 + 0.1 (-2.25*1 - 0.2*3) = 2.715 ; v2 = 0.5 + 0.1 (-2.25*2 - 0.2*0.5) = 0.04
        assertArrayEquals(new float[] {-0.4725f, 2.715f, 0.04f}, col, 1e-6f);
    }

    @Test
    void weightScalesTheErrorTermButNotTheRegularisation() {
        // the same rating with w = 2: w e = -4.5
        float[] row = {0.5f, 1f, 2f};
        float[] col = {-0.25f, 3f, 0.5f};
        float loss = SgdKernel.step(5f, 2f, 3f, row, 0, col, 0, 2, 0.1f, 0.2f, 0.1f);
        assertEquals(2f * 5.0625f, loss);
        // b_i = 0.5 + 0.1 (-4.5 - 0.05) = 0.045 ; u1 = 1 + 0.1 (-4.5*3 - 0.2) = -0.37 ; u2 = 2 + 0.1 (-2.25 - 0.4) = 1.735
        assertArrayEquals(new float[] {0.045f, -0.37f, 1.735f}, row, 1e-6f);
        // b_j = -0.25 + 0.1 (-4.5 + 0.025) = -0.6975 ; v1 = 3 + 0.1 (-4.5 - 0.6) = 2.49 ; v2 = 0.5 + 0.1 (-9 - 0.1) = -0.41
        assertArrayEquals(new float[] {-0.6975f, 2.49f, -0.41f}, col, 1e-6f);
    }

    @Test
    void adagradStepAccumulatesSquaredGradientsPerCoordinate() {
        // layout [b, u1, u2, G_b, G_1, G_2]; the first step of every coordinate moves by eta * sign(g)
        float[] row = {0.5f, 1f, 2f, 0f, 0f, 0f};
        float[] col = {-0.25f, 3f, 0.5f, 0f, 0f, 0f};
        float loss = SgdKernel.stepAdagrad(5f, 1f, 3f, row, 0, col, 0, 2, 0.1f, 0.2f, 0.1f);
        assertEquals(5.0625f, loss);
        // g(b_i) = -2.3, g(u1) = -6.95, g(u2) = -1.525 ; g(b_j) = -2.225, g(v1) = -2.85, g(v2) = -4.6
        assertArrayEquals(new float[] {0.4f, 0.9f, 1.9f, 5.29f, 48.3025f, 2.325625f}, row, 1e-5f);
        assertArrayEquals(new float[] {-0.35f, 2.9f, 0.4f, 4.950625f, 8.1225f, 21.16f}, col, 1e-5f);
        // a second step divides by the root of the accumulated sum
        float[] r2 = row.clone();
        float[] c2 = col.clone();
        SgdKernel.stepAdagrad(5f, 1f, 3f, r2, 0, c2, 0, 2, 0.1f, 0.2f, 0.1f);
        float e = 5f - SgdKernel.predict(3f, row, 0, col, 0, 2);
        float g = e - 0.1f * row[0];
        assertEquals(row[0] + 0.1f * g / (float) Math.sqrt(row[3] + g * g + 1e-8f), r2[0], 1e-6f);
    }

    @Test
    void repeatedStepsOnOneRatingConvergeToIt() {
        float[] row = {0f, 0.1f, 0.1f};
        float[] col = {0f, 0.1f, 0.1f};
        float sq = 0;
        for (int i = 0; i < 2000; i++) {
            sq = SgdKernel.step(4f, 1f, 3f, row, 0, col, 0, 2, 0.05f, 0f, 0f);
        }
        assertEquals(0f, sq, 1e-8f);
        assertEquals(4f, SgdKernel.predict(3f, row, 0, col, 0, 2), 1e-4f);
    }

    @Test
    void logisticStepMatchesHandComputedUpdate() {
        // b_i = 0, u = (1, 0); b_j = 0, v = (0, 1): x = 0, p = 0.5; label 1, weight 2: g = 2 (1 - 0.5) = 1
        float[] row = {0f, 1f, 0f};
        float[] col = {0f, 0f, 1f};
        float loss = SgdKernel.stepLogistic(1f, 2f, row, 0, col, 0, 2, 0.1f, 0.2f, 0.5f);
        assertEquals(2 * (float) Math.log(2), loss, 1e-6f); // 2 x -log(0.5)
        // b_i = 0 + 0.1 (1 - 0) ; u1 = 1 + 0.1 (1*0 - 0.2*1) = 0.98 ; u2 = 0 + 0.1 (1*1 - 0) = 0.1
        assertArrayEquals(new float[] {0.1f, 0.98f, 0.1f}, row, 1e-6f);
        // b_j = 0.1 ; v1 = 0 + 0.1 (1*1 - 0) = 0.1 ; v2 = 1 + 0.1 (1*0 - 0.2*1) = 0.98
        assertArrayEquals(new float[] {0.1f, 0.1f, 0.98f}, col, 1e-6f);
        // a negative (label 0) at x = 0: g = -0.5, loss -log(1 - 0.5)
        float[] r0 = {0f, 0f, 0f};
        float[] c0 = {0f, 0f, 0f};
        assertEquals((float) Math.log(2), SgdKernel.stepLogistic(0f, 1f, r0, 0, c0, 0, 2, 0.1f, 0f, 0f), 1e-6f);
        assertEquals(-0.05f, r0[0], 1e-7f);
        assertEquals(-0.05f, c0[0], 1e-7f);
    }

    @Test
    void bprStepMovesThePositiveAboveTheNegative() {
        // u = (1, 0); positive at 0: b = 0, v = (0, 0); negative at 3: b = 0, v = (0, 0): x = 0, g = 0.5
        float[] row = {0f, 1f, 0f};
        float[] col = {0f, 0f, 0f, 0f, 0f, 0f};
        float loss = SgdKernel.stepBpr(1f, row, 0, col, 0, 3, 2, 0.1f, 0f, 0f);
        assertEquals((float) Math.log(2), loss, 1e-6f); // -log sigmoid(0)
        // b_p += 0.1 * 0.5, b_n -= 0.1 * 0.5; v_p += 0.1 * 0.5 * u, v_n -= 0.1 * 0.5 * u; u unchanged (v_p = v_n)
        assertArrayEquals(new float[] {0.05f, 0.05f, 0f, -0.05f, -0.05f, 0f}, col, 1e-7f);
        assertArrayEquals(new float[] {0f, 1f, 0f}, row, 0f, "the row bias is not used by BPR");
        // after the step the positive scores higher than the negative
        assertEquals(true, SgdKernel.predict(0f, row, 0, col, 0, 2) > SgdKernel.predict(0f, row, 0, col, 3, 2));
    }
}
