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
 * Implicit feedback adds the logistic loss ({@link #stepLogistic}) and BPR ({@link #stepBpr}).
 * No allocation, no boxing: this is the per-rating hot path.
 */
public final class SgdKernel {

    private static final float ADAGRAD_EPS = 1e-8f;

    private SgdKernel() {}

    /**
     * mu + b_i + b_j + u_i . v_j for a model of rank k. The dot product runs in four independent partial sums:
     * one running sum makes every add wait for the one before (k adds' latency in a row), and at rank 10 that
     * chain was a quarter of an SGD step (JMH, KernelBenchmark: 51 vs 39 ns per step at rank 10, 131 vs 118 at 40).
     * Each term is a fused multiply-add ({@link Math#fma}, one instruction where the CPU has FMA, as x86 has
     * since 2013; exact, so it rounds once where a multiply and an add round twice).
     */
    public static float predict(float mu, float[] row, int ro, float[] col, int co, int k) {
        float d0 = 0f;
        float d1 = 0f;
        float d2 = 0f;
        float d3 = 0f;
        int f = 1;
        for (; f + 3 <= k; f += 4) {
            d0 = Math.fma(row[ro + f], col[co + f], d0);
            d1 = Math.fma(row[ro + f + 1], col[co + f + 1], d1);
            d2 = Math.fma(row[ro + f + 2], col[co + f + 2], d2);
            d3 = Math.fma(row[ro + f + 3], col[co + f + 3], d3);
        }
        for (; f <= k; f++) {
            d0 = Math.fma(row[ro + f], col[co + f], d0);
        }
        return mu + row[ro] + col[co] + ((d0 + d1) + (d2 + d3));
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
        // u + eta (we v - lambda u) as (1 - eta lambda) u + (eta we) v: one multiply and one fused multiply-add per
        // coordinate instead of three multiplies and two adds. With the fused dot product, JMH BatchTrainBenchmark
        // (chunked, trainOnly), interleaved: 29.7 / 37.7 / 30.9 ms per batch against 40.1 / 38.3 / 38.8 before
        float decay = 1f - eta * lambda;
        float ewe = eta * we;
        for (int f = 1; f <= k; f++) {
            float u = row[ro + f];
            float v = col[co + f];
            row[ro + f] = Math.fma(ewe, v, decay * u);
            col[co + f] = Math.fma(ewe, u, decay * v);
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

    /**
     * One step of the logistic loss on label {@code y} (1: a positive interaction, 0: a sampled negative) with
     * weight {@code w}: x = b_i + b_j + u_i . v_j, p = sigmoid(x), g = w (y - p) in place of w e above.
     *
     * @return the weighted log loss before the step
     */
    public static float stepLogistic(float y, float w, float[] row, int ro, float[] col, int co, int k, float eta,
            float lambda, float lambdaBias) {
        float x = predict(0f, row, ro, col, co, k);
        float p = sigmoid(x);
        float g = w * (y - p);
        float bi = row[ro];
        float bj = col[co];
        row[ro] = bi + eta * (g - lambdaBias * bi);
        col[co] = bj + eta * (g - lambdaBias * bj);
        for (int f = 1; f <= k; f++) {
            float u = row[ro + f];
            float v = col[co + f];
            row[ro + f] = u + eta * (g * v - lambda * u);
            col[co + f] = v + eta * (g * u - lambda * v);
        }
        // -log(p) for y = 1, -log(1 - p) for y = 0, computed without overflow: log(1 + e^-x) = softplus(-x)
        return w * softplus(y > 0.5f ? -x : x);
    }

    /**
     * One BPR step (Rendle et al.): row i should prefer its positive column p to the sampled column n. x = b_p - b_n
     * + u_i . (v_p - v_n), g = w sigmoid(-x); the row bias is not used (it cancels).
     *
     * @return the weighted BPR loss -log sigmoid(x) before the step
     */
    public static float stepBpr(float w, float[] row, int ro, float[] col, int cp, int cn, int k, float eta,
            float lambda, float lambdaBias) {
        float x = col[cp] - col[cn];
        for (int f = 1; f <= k; f++) {
            x += row[ro + f] * (col[cp + f] - col[cn + f]);
        }
        float g = w * sigmoid(-x);
        float bp = col[cp];
        float bn = col[cn];
        col[cp] = bp + eta * (g - lambdaBias * bp);
        col[cn] = bn + eta * (-g - lambdaBias * bn);
        for (int f = 1; f <= k; f++) {
            float u = row[ro + f];
            float vp = col[cp + f];
            float vn = col[cn + f];
            row[ro + f] = u + eta * (g * (vp - vn) - lambda * u);
            col[cp + f] = vp + eta * (g * u - lambda * vp);
            col[cn + f] = vn + eta * (-g * u - lambda * vn);
        }
        return w * softplus(-x);
    }

    static float sigmoid(float x) {
        return 1f / (1f + (float) Math.exp(-x));
    }

    /** log(1 + e^x), exact for large |x|. */
    static float softplus(float x) {
        return x > 0 ? x + (float) Math.log1p(Math.exp(-x)) : (float) Math.log1p(Math.exp(x));
    }

    private static float adagrad(float[] acc, int at, float g, float eta) {
        float sum = acc[at] + g * g;
        acc[at] = sum;
        return eta * g / (float) Math.sqrt(sum + ADAGRAD_EPS);
    }
}
