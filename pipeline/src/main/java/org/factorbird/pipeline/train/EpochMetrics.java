package org.factorbird.pipeline.train;

import java.util.Locale;

/** The numbers one epoch reports, aggregated over all subtasks. */
final class EpochMetrics {

    final int epoch;
    /** Root of the mean squared error of the training ratings, each measured just before its own SGD step. */
    final double trainRmse;
    final double testRmse;
    final double testMae;
    final double ratingsPerSecond;
    final double seconds;

    EpochMetrics(int epoch, double trainRmse, double testRmse, double testMae, double ratingsPerSecond,
            double seconds) {
        this.epoch = epoch;
        this.trainRmse = trainRmse;
        this.testRmse = testRmse;
        this.testMae = testMae;
        this.ratingsPerSecond = ratingsPerSecond;
        this.seconds = seconds;
    }

    String line(int epochs) {
        String test = Double.isNaN(testRmse) ? "" : String.format(Locale.ROOT, "  test-rmse %.4f  test-mae %.4f",
                testRmse, testMae);
        return String.format(Locale.ROOT, "epoch %d/%d  train-rmse %.4f%s  %.2fM ratings/s  %.2f s", epoch, epochs,
                trainRmse, test, ratingsPerSecond / 1e6, seconds);
    }

    String json() {
        return String.format(Locale.ROOT, "{\"epoch\": %d, \"trainRmse\": %s, \"testRmse\": %s, \"testMae\": %s, "
                + "\"ratingsPerSecond\": %.0f, \"seconds\": %.3f}", epoch, Summary.num(trainRmse),
                Summary.num(testRmse), Summary.num(testMae), ratingsPerSecond, seconds);
    }
}
