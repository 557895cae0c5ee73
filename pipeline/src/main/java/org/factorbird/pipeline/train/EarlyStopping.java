package org.factorbird.pipeline.train;

import java.util.Locale;

/** --early-stop P: the run ends when the best held-out RMSE of any model has not improved for P epochs. */
final class EarlyStopping {

    private final int patience;
    private double best = Double.POSITIVE_INFINITY;
    private int sinceBest;

    /** @param patience epochs without improvement before stopping; 0 never stops */
    EarlyStopping(int patience) {
        if (patience < 0) {
            throw new IllegalArgumentException("--early-stop must be >= 0 but was " + patience);
        }
        this.patience = patience;
    }

    /**
     * Records the best held-out RMSE over the models after {@code epoch}; returns why the run stops now, or null
     * to go on.
     */
    String after(int epoch, double epochBest) {
        if (patience == 0) {
            return null;
        }
        if (epochBest < best) {
            best = epochBest;
            sinceBest = 0;
            return null;
        }
        if (++sinceBest < patience) {
            return null;
        }
        return String.format(Locale.ROOT, "after epoch %d: held-out RMSE %.4f has not improved for %d epochs", epoch,
                best, sinceBest);
    }
}
