package org.factorbird.pipeline.train;

import java.util.Arrays;
import java.util.Locale;

import org.factorbird.pipeline.TrainConfig;

/**
 * {@code grid --prune halving}: successive halving inside the one pass. After every rung pass of
 * {@code --first-rung} (partial epochs over growing shares of the rows, see {@link org.factorbird.pipeline.Rungs}) and
 * then after every {@code --prune-every} full epochs (not after the last), the models still training are ranked by
 * their validation RMSE of that epoch (ties to the smaller index) and all but the best {@code --keep} share (rounded
 * up, at least one) stop ({@link FlatModels#stop}). Every subtask decides alike from the same aggregated metrics,
 * so no decision crosses the network.
 */
final class Pruning {

    private final boolean enabled;
    private final int every;
    private final double keep;
    private final int epochs;
    private final int rungs;

    Pruning(TrainConfig cfg) {
        this.enabled = cfg.prune;
        this.every = cfg.pruneEvery;
        this.keep = cfg.keep;
        this.epochs = cfg.epochs;
        this.rungs = cfg.rungs.count();
    }

    /** How many of {@code n} training models go on at a pruning. */
    static int kept(int n, double keep) {
        return Math.max(1, Math.min(n, (int) Math.ceil(n * keep - 1e-9)));
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
        int go = kept(n, keep);
        if (go == n) {
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
        for (int k = go; k < n; k++) {
            models.stop(order[k], epoch);
        }
        return String.format(Locale.ROOT, "halving after epoch %d: %d of %d models go on (validation RMSE %.4f to "
                + "%.4f); stopped: %s", epoch, go, n, summary.score(order[0]), summary.score(order[go - 1]),
                Arrays.toString(Arrays.copyOfRange(order, go, n)));
    }
}
