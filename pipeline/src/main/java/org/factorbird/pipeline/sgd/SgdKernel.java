package org.factorbird.pipeline.sgd;

/**
 * The SGD step of Factorbird's model, r_ij ~ mu + b_i + b_j + u_i . v_j, for squared loss with L2 on
 * factors and biases. Parameters live in flat float arrays laid out as {@code [bias, f_1 .. f_k]}, so a row's
 * and a column's parameters are each one contiguous run ({@code dim = k + 1}).
 *
 * <p>The step for a rating r with error e = r - prediction (both updates use the old values):
 * <pre>
 *   b_i += eta (e - lambdaBias b_i)        u_i += eta (e v_j - lambda u_i)
 *   b_j += eta (e - lambdaBias b_j)        v_j += eta (e u_i - lambda v_j)
 * </pre>
 * No allocation, no boxing: this is the per-rating hot path.
 */
public final class SgdKernel {

    private SgdKernel() {}

    /** mu + b_i + b_j + u_i . v_j. */
    public static float predict(float mu, float[] row, int ro, float[] col, int co, int dim) {
        float dot = 0f;
        for (int f = 1; f < dim; f++) {
            dot += row[ro + f] * col[co + f];
        }
        return mu + row[ro] + col[co] + dot;
    }

    /**
     * One SGD step on rating {@code r}; updates {@code row[ro..ro+dim)} and {@code col[co..co+dim)} in place.
     *
     * @return the squared error before the step
     */
    public static float step(float r, float mu, float[] row, int ro, float[] col, int co, int dim, float eta,
            float lambda, float lambdaBias) {
        float e = r - predict(mu, row, ro, col, co, dim);
        float bi = row[ro];
        float bj = col[co];
        row[ro] = bi + eta * (e - lambdaBias * bi);
        col[co] = bj + eta * (e - lambdaBias * bj);
        for (int f = 1; f < dim; f++) {
            float u = row[ro + f];
            float v = col[co + f];
            row[ro + f] = u + eta * (e * v - lambda * u);
            col[co + f] = v + eta * (e * u - lambda * v);
        }
        return e * e;
    }
}
