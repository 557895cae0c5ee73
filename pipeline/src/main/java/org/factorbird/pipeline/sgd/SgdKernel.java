package org.factorbird.pipeline.sgd;

/**
 * The SGD steps of Factorbird's model, r_ij ~ mu + b_i + b_j + u_i . v_j, for the weighted squared loss
 * w_ij (prediction - r_ij)^2 with L2 on factors and biases. A model's parameters are one contiguous run of a flat
 * float array, {@code [b, f_1 .. f_k]}, followed for AdaGrad by {@code [G_b, G_1 .. G_k]}.
 *
 * <p>With e = r - prediction, the (half) negative gradients use the old values of both sides:
 * <pre>
 *   g(b_i) = w e - lambdaBias b_i        g(u_i) = w e v_j - lambda u_i
 *   g(b_j) = w e - lambdaBias b_j        g(v_j) = w e u_i - lambda v_j
 * </pre>
 * Plain SGD adds eta g; AdaGrad adds G += g^2 first, then eta g / sqrt(G + 1e-8) per coordinate.
 * No allocation, no boxing: this is the per-rating hot path.
 */
public final class SgdKernel {

    private static final float ADAGRAD_EPS = 1e-8f;

    private SgdKernel() {}

    /** mu + b_i + b_j + u_i . v_j for a model of rank k. */
    public static float predict(float mu, float[] row, int ro, float[] col, int co, int k) {
        float dot = 0f;
        for (int f = 1; f <= k; f++) {
            dot += row[ro + f] * col[co + f];
        }
        return mu + row[ro] + col[co] + dot;
    }

    /**
     * One plain SGD step on rating {@code r} of weight {@code w}; updates both sides in place.
     *
     * @return the weighted squared error before the step
     */
    public static float step(float r, float w, float mu, float[] row, int ro, float[] col, int co, int k,
            float eta, float lambda, float lambdaBias) {
        float e = r - predict(mu, row, ro, col, co, k);
        float we = w * e;
        float bi = row[ro];
        float bj = col[co];
        row[ro] = bi + eta * (we - lambdaBias * bi);
        col[co] = bj + eta * (we - lambdaBias * bj);
        for (int f = 1; f <= k; f++) {
            float u = row[ro + f];
            float v = col[co + f];
            row[ro + f] = u + eta * (we * v - lambda * u);
            col[co + f] = v + eta * (we * u - lambda * v);
        }
        return we * e;
    }

    /**
     * One AdaGrad step; the accumulators of row and column follow their k + 1 parameters.
     *
     * @return the weighted squared error before the step
     */
    public static float stepAdagrad(float r, float w, float mu, float[] row, int ro, float[] col, int co, int k,
            float eta, float lambda, float lambdaBias) {
        float e = r - predict(mu, row, ro, col, co, k);
        float we = w * e;
        int ga = ro + k + 1;
        int gb = co + k + 1;
        float bi = row[ro];
        float bj = col[co];
        row[ro] = bi + adagrad(row, ga, we - lambdaBias * bi, eta);
        col[co] = bj + adagrad(col, gb, we - lambdaBias * bj, eta);
        for (int f = 1; f <= k; f++) {
            float u = row[ro + f];
            float v = col[co + f];
            row[ro + f] = u + adagrad(row, ga + f, we * v - lambda * u, eta);
            col[co + f] = v + adagrad(col, gb + f, we * u - lambda * v, eta);
        }
        return we * e;
    }

    private static float adagrad(float[] acc, int at, float g, float eta) {
        float sum = acc[at] + g * g;
        acc[at] = sum;
        return eta * g / (float) Math.sqrt(sum + ADAGRAD_EPS);
    }
}
