package org.factorbird.pipeline.train;

import java.util.List;

import org.factorbird.pipeline.HyperParams;
import org.factorbird.ps.Ranges;

/**
 * The models of a run as flat arrays, for the inner loop over models of every rating, and which of them still
 * train. A row's parameters hold every model back to back ({@link #offset}); a pulled column holds only the
 * active models' floats back to back ({@link #colOffset}, {@link #colWidth}), the PS being asked for just those
 * ({@link #ranges}): a model stopped by {@code --prune halving} costs no arithmetic and no bytes afterwards.
 */
final class FlatModels {

    final int count;
    /** Floats per row and per stored column, all models. */
    final int width;
    final int[] offset;
    final int[] rank;
    final boolean[] adagrad;
    final float[] lambda;
    final float[] lambdaBias;
    /** Step sizes of the current epoch. */
    final float[] eta;
    private final List<HyperParams> params;

    /** The epoch after which model m stopped training; 0 while it trains. */
    final int[] stoppedAt;
    /** The active models, in index order: {@code live[0..liveCount)}. */
    final int[] live;
    int liveCount;
    /** Where model m's floats start in a pulled column; meaningless for a stopped model. */
    final int[] colOffset;
    /** Floats per pulled column: the active models'. */
    int colWidth;
    /** The floats of a stored column that pulls and pushes carry; {@link Ranges#ALL} while every model trains. */
    Ranges ranges = Ranges.ALL;

    FlatModels(List<HyperParams> params, int[] offsets) {
        this.params = params;
        this.count = params.size();
        this.width = offsets[count];
        this.offset = offsets.clone();
        this.rank = new int[count];
        this.adagrad = new boolean[count];
        this.lambda = new float[count];
        this.lambdaBias = new float[count];
        this.eta = new float[count];
        this.stoppedAt = new int[count];
        this.live = new int[count];
        this.colOffset = new int[count];
        for (int m = 0; m < count; m++) {
            HyperParams p = params.get(m);
            rank[m] = p.rank;
            adagrad[m] = p.schedule == HyperParams.Schedule.ADAGRAD;
            lambda[m] = p.lambda;
            lambdaBias[m] = p.lambdaBias;
        }
        layOut();
    }

    /** Sets the step sizes for an epoch after {@code passes} passes over the training data. */
    void startEpoch(double passes) {
        for (int m = 0; m < count; m++) {
            eta[m] = params.get(m).etaAfter(passes);
        }
    }

    boolean active(int m) {
        return stoppedAt[m] == 0;
    }

    /** Stops model m after {@code epoch}: its parameters stay as they are, on the PS and in the rows. */
    void stop(int m, int epoch) {
        if (epoch < 1 || !active(m)) {
            throw new IllegalArgumentException("model " + m + " cannot stop after epoch " + epoch
                    + (active(m) ? "" : ": it stopped after epoch " + stoppedAt[m]));
        }
        stoppedAt[m] = epoch;
        layOut();
    }

    /** The live model whose floats hold position {@code pos} of a pulled column. */
    int modelAt(int pos) {
        int m = live[0];
        for (int i = 1; i < liveCount && colOffset[live[i]] <= pos; i++) {
            m = live[i];
        }
        return m;
    }

    private void layOut() {
        int n = 0;
        int w = 0;
        int[] from = new int[count];
        int[] length = new int[count];
        for (int m = 0; m < count; m++) {
            if (active(m)) {
                colOffset[m] = w;
                from[n] = offset[m];
                length[n] = offset[m + 1] - offset[m];
                w += length[n];
                live[n++] = m;
            }
        }
        liveCount = n;
        colWidth = w;
        ranges = n == count ? Ranges.ALL : Ranges.of(java.util.Arrays.copyOf(from, n),
                java.util.Arrays.copyOf(length, n));
    }
}
