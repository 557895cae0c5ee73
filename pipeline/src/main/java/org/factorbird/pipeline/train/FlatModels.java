package org.factorbird.pipeline.train;

import java.util.List;

import org.factorbird.pipeline.HyperParams;

/** The models of a run as flat arrays, for the inner loop over models of every rating. */
final class FlatModels {

    final int count;
    final int width;
    final int[] offset;
    final int[] rank;
    final boolean[] adagrad;
    final float[] lambda;
    final float[] lambdaBias;
    /** Step sizes of the current epoch. */
    final float[] eta;
    private final List<HyperParams> params;

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
        for (int m = 0; m < count; m++) {
            HyperParams p = params.get(m);
            rank[m] = p.rank;
            adagrad[m] = p.schedule == HyperParams.Schedule.ADAGRAD;
            lambda[m] = p.lambda;
            lambdaBias[m] = p.lambdaBias;
        }
    }

    void startEpoch(int epoch) {
        for (int m = 0; m < count; m++) {
            eta[m] = params.get(m).eta(epoch);
        }
    }
}
