package org.factorbird.pipeline.train;

import java.util.Arrays;

import org.factorbird.pipeline.Checks;
import org.factorbird.pipeline.HyperParams;
import org.factorbird.pipeline.TrainConfig;

/**
 * Scales the summed delta a batch pushes for a column by how far the other subtasks move the same column at the
 * same time (--push-damping).
 *
 * <p>Every subtask trains a batch against its own pulled copy of the columns and pushes the summed deltas, so a
 * column that p subtasks' batches touch together moves by the sum of p trajectories that all started from one
 * value. A column stepped n times with step size eta contracts towards its target by q = (1 - eta)^n in one batch
 * (the bias exactly; the factors at about that rate once |u| ~ 1), so one subtask's delta is (1 - q) of the way
 * there. Sequential SGD over all p n steps would have gone (1 - q^p) of the way; the p summed deltas go p (1 - q).
 * For a rarely seen column (n eta small) the two agree; for a popular one (q near 0) the sum overshoots the target
 * by p - 1 times its distance, which at p = 2 is an undamped oscillation and beyond it a divergence: the limit on
 * --batch-rows measured at 100M ratings. Each subtask therefore scales its delta by
 * <pre>
 *   s(n) = (1 - q^p) / (p (1 - q)),   q = (1 - eta)^n
 * </pre>
 * (1 for n eta -> 0, 1/p for q -> 0), from what it knows alone: its own count n of the column's ratings in the batch,
 * assuming the others saw about as many (rows are hashed to subtasks, so a popular column's count is about the same
 * everywhere). With rating weights n is the column's sum of weights (a step of weight w contracts by 1 - eta w, about
 * (1 - eta)^w). Not scaled: AdaGrad models (their steps shrink per coordinate, not by eta) and implicit feedback
 * (its negatives step pool columns inside the kernel, uncounted; its batches default to 64 rows). With one
 * subtask s = 1: nothing changes.
 */
final class PushDamping {

    /** Counts below this are looked up in a per-model table; larger ones (a few popular columns) are computed. */
    static final int TABLE = 1024;

    private final int subtasks;
    private float[] tableEta = new float[0];
    private float[][] tables = new float[0][];
    /** Scratch of {@link #deltas}: ratings (or weights) per column, and per live model its table and end. */
    private int[] counts = new int[0];
    private float[] weightSums = new float[0];
    private float[][] liveTables = new float[0][];
    private int[] segEnd = new int[0];

    /** @param subtasks the training subtasks that push concurrently (the job's parallelism) */
    /**
     * Whether every model of {@code cfg} has its pushes scaled: --push-damping, no implicit feedback and no AdaGrad
     * model (the exceptions above). Only then may a subtask's batches grow without the undamped runs' limits.
     */
    static boolean dampsEveryModel(TrainConfig cfg) {
        return cfg.pushDamping && !cfg.implicit
                && cfg.models.stream().noneMatch(m -> m.schedule == HyperParams.Schedule.ADAGRAD);
    }

    PushDamping(int subtasks) {
        this.subtasks = Checks.atLeast(subtasks, 1, "parallelism");
    }

    /** Whether any scaling happens at all: not with one subtask. */
    boolean active() {
        return subtasks > 1;
    }

    /** s(n) for step size {@code eta}; 1 for n = 0 and for eta <= 0. */
    static double scale(int subtasks, double eta, int n) {
        if (n == 0 || eta <= 0 || subtasks == 1) {
            return 1;
        }
        if (eta >= 1) {
            return 1.0 / subtasks; // q = 0: each subtask goes all the way
        }
        double logQ = n * Math.log1p(-eta);
        // 1 - q = -expm1(log q): exact also when n eta is tiny, where 1 - q would cancel to 0
        return Math.expm1(subtasks * logQ) / (subtasks * Math.expm1(logQ));
    }

    /** s(n) for model m at step size {@code eta}, from a table rebuilt when eta changes (once per epoch). */
    float factor(int m, float eta, int n) {
        return n < TABLE ? table(m, eta)[n] : (float) scale(subtasks, eta, n);
    }

    /** s(n) for n < {@link #TABLE}, model m at step size {@code eta}; fetch once per push, not per column. */
    float[] table(int m, float eta) {
        if (m >= tables.length) {
            tables = Arrays.copyOf(tables, m + 1);
            tableEta = Arrays.copyOf(tableEta, m + 1);
        }
        float[] t = tables[m];
        if (t == null || tableEta[m] != eta) {
            t = new float[TABLE];
            for (int i = 0; i < TABLE; i++) {
                t[i] = (float) scale(subtasks, eta, i);
            }
            tables[m] = t;
            tableEta[m] = eta;
        }
        return t;
    }

    /**
     * A batch's deltas to push: {@code orig[i] = (params[i] - orig[i]) * s} over its {@code cols} pulled columns of
     * {@code colWidth} floats, s for each column's count of the batch's ratings ({@code colIdx[0..ratings)}, with
     * {@code weights} their sum of weights) and for each live model's step (AdaGrad's floats unscaled), in one pass
     * (a second pass over the deltas cost as much as the first). Returns whether every delta is finite.
     *
     * @param counted each column's count of ratings when the caller has it (unweighted: {@link Batch#train} counts
     *     as it steps, chunk by chunk, where a pass here reads the counts in random order); null: counted here
     */
    boolean deltas(float[] params, float[] orig, int[] counted, int[] colIdx, float[] weights, int ratings, int cols,
            int colWidth, FlatModels md) {
        if (counted != null) {
            return deltas(params, orig, counted, cols, colWidth, md);
        }
        if (counts.length < cols) {
            counts = new int[Math.max(cols, counts.length * 2)];
        }
        if (weights == null) {
            Arrays.fill(counts, 0, cols, 0);
            for (int t = 0; t < ratings; t++) {
                counts[colIdx[t]]++;
            }
        } else {
            // a step of weight w contracts by (1 - eta w) ~ (1 - eta)^w: n is the column's sum of weights, rounded
            if (weightSums.length < cols) {
                weightSums = new float[counts.length];
            }
            Arrays.fill(weightSums, 0, cols, 0f);
            for (int t = 0; t < ratings; t++) {
                weightSums[colIdx[t]] += weights[t];
            }
            for (int c = 0; c < cols; c++) {
                counts[c] = (int) Math.min(Integer.MAX_VALUE, Math.round((double) weightSums[c]));
            }
        }
        return deltas(params, orig, counts, cols, colWidth, md);
    }

    /** {@link #deltas} from each column's count {@code counts[c]}. */
    private boolean deltas(float[] params, float[] orig, int[] counts, int cols, int colWidth, FlatModels md) {
        int models = md.liveCount;
        if (liveTables.length < models) {
            liveTables = new float[models][];
            segEnd = new int[models];
        }
        for (int i = 0; i < models; i++) {
            int m = md.live[i];
            // AdaGrad's steps shrink per coordinate with the squared gradients: eta says little, so no scaling
            liveTables[i] = md.adagrad[m] ? null : table(m, md.eta[m]);
            segEnd[i] = md.colOffset[m] + md.offset[m + 1] - md.offset[m];
        }
        boolean finite = true;
        for (int c = 0; c < cols; c++) {
            int count = counts[c];
            int at = c * colWidth;
            for (int i = 0; i < models; i++) {
                float[] table = liveTables[i];
                float f = table == null ? 1f
                        : count < table.length ? table[count] : factor(md.live[i], md.eta[md.live[i]], count);
                for (int end = c * colWidth + segEnd[i]; at < end; at++) {
                    float d = (params[at] - orig[at]) * f;
                    orig[at] = d;
                    finite &= Float.isFinite(d);
                }
            }
        }
        return finite;
    }
}
