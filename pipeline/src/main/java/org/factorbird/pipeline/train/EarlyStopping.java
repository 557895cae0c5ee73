package org.factorbird.pipeline.train;

import java.util.Locale;

/**
 * --early-stop P: the run ends when the best value of the selection metric over the models (held-out RMSE, lower
 * is better; or NDCG@K with --select-by ndcg, higher is better) has not improved for P measurements.
 */
final class EarlyStopping {

    private final int patience;
    private final String metric;
    private final boolean higherIsBetter;
    private double best;
    private int sinceBest;

    /**
     * @param patience measurements without improvement before stopping; 0 never stops
     * @param metric its name in the message, e.g. "held-out RMSE"
     */
    EarlyStopping(int patience, String metric, boolean higherIsBetter) {
        if (patience < 0) {
            throw new IllegalArgumentException("--early-stop must be >= 0 but was " + patience);
        }
        this.patience = patience;
        this.metric = metric;
        this.higherIsBetter = higherIsBetter;
        this.best = higherIsBetter ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
    }

    /**
     * Records the best value over the models measured after {@code epoch}; returns why the run stops now, or null
     * to go on.
     */
    String after(int epoch, double epochBest) {
        if (patience == 0) {
            return null;
        }
        if (higherIsBetter ? epochBest > best : epochBest < best) {
            best = epochBest;
            sinceBest = 0;
            return null;
        }
        if (++sinceBest < patience) {
            return null;
        }
        return String.format(Locale.ROOT, "after epoch %d: %s %.4f has not improved for %d %s", epoch, metric, best,
                sinceBest, higherIsBetter ? "measurements" : "epochs");
    }
}
