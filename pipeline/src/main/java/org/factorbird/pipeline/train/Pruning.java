package org.factorbird.pipeline.train;

import java.util.Arrays;
import java.util.Locale;

import org.factorbird.pipeline.TrainConfig;

/**
 * {@code grid --prune halving}: successive halving inside the one pass. After every rung pass of
 * {@code --first-rung} (partial epochs over growing shares of the rows, see {@link org.factorbird.pipeline.Rungs}) and
 * then after every {@code --prune-every} full epochs (not after the last), the models still training are ranked by
 * their validation RMSE of that epoch (ties to the smaller index) and all but the best {@code --keep} share (rounded
 * up, at least one) stop ({@link FlatModels#stop}). Models within {@code --prune-tie} of the last one kept go on
 * too: every subtask decides alike from the same aggregated metrics, so no decision crosses the network, but two
 * runs of one search differ by Hogwild's timing, and a cut between two models closer than that noise picks the
 * winner by chance. Repeated {@code tune} runs on MovieLens differed by up to 2e-4 (relative) in a model's validation
 * RMSE, and a cut after epoch 15 that fell between two models 2e-5 apart sent the search to a different winner
 * (held-out 0.8606 instead of 0.8570); the default 0.001 (0.1%) keeps one model more at two of tune's five cuts
 * there.
 */
final class Pruning {

    private final boolean enabled;
    private final int every;
    private final double keep;
    private final double tie;
    private final int epochs;
    private final int rungs;

    Pruning(TrainConfig cfg) {
        this.enabled = cfg.prune;
        this.every = cfg.pruneEvery;
        this.keep = cfg.keep;
        this.tie = cfg.pruneTie;
        this.epochs = cfg.epochs;
        this.rungs = cfg.rungs.count();
    }

    /** How many of {@code n} training models go on at a pruning. */
    static int kept(int n, double keep) {
        return Math.max(1, Math.min(n, (int) Math.ceil(n * keep - 1e-9)));
    }

    /**
     * How many of the models whose validation RMSEs are {@code sorted} (ascending) go on: the {@code keep} share,
     * and any after it within {@code tie} (relative) of the last of that share.
     */
    static int goOn(double[] sorted, double keep, double tie) {
        int go = kept(sorted.length, keep);
        double cut = sorted[go - 1] * (1 + tie);
        while (tie > 0 && go < sorted.length && sorted[go] <= cut) {
            go++;
        }
        return go;
    }

    /**
     * Stops the models that fall out after {@code epoch}, whose metrics {@code summary} holds; returns the progress
     * line saying so, or null when none stops.
     */
    String after(int epoch, FlatModels models, Summary summary) {
        int n = models.liveCount;
        boolean due = epoch <= rungs || (epoch - rungs) % every == 0;
        if (!enabled || !due || epoch >= epochs || n <= 1) {
            return null;
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = models.live[i];
        }
        Arrays.sort(order, (a, b) -> {
            int c = Double.compare(summary.score(a), summary.score(b));
            return c != 0 ? c : Integer.compare(a, b);
        });
        double[] scores = new double[n];
        for (int i = 0; i < n; i++) {
            scores[i] = summary.score(order[i]);
        }
        int go = goOn(scores, keep, tie);
        if (go == n) {
            return null;
        }
        for (int k = go; k < n; k++) {
            models.stop(order[k], epoch);
        }
        return String.format(Locale.ROOT, "halving after epoch %d: %d of %d models go on (validation RMSE %.4f to "
                + "%.4f); stopped: %s", epoch, go, n, summary.score(order[0]), summary.score(order[go - 1]),
                Arrays.toString(Arrays.copyOfRange(order, go, n)));
    }
}
