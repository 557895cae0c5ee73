package org.factorbird.pipeline.train;

import java.util.Arrays;
import java.util.Locale;

import org.factorbird.pipeline.model.EpochRecord;
import org.factorbird.pipeline.model.Json;

/** The numbers one epoch reports for one model, aggregated over all subtasks. */
final class EpochMetrics {

    final int epoch;
    /** Weighted RMSE of the training ratings, each measured just before its own SGD step. */
    final double trainRmseDuringEpoch;
    /** Weighted RMSE on the fixed training sample after the epoch (Factorbird's sampled loss); NaN without one. */
    final double sampleRmse;
    final double testRmse;
    /** RMSE on the --validation ratings; NaN without them. */
    final double validationRmse;
    final double testMae;
    final double ratingsPerSecond;
    final double seconds;
    /** Requests and bytes (both directions) exchanged with each PS shard during the epoch, by all subtasks. */
    final double[] psRequests;
    final double[] psBytes;
    /**
     * {precision, recall, NDCG, MAP, catalog coverage} at {@link #rankingK}; null without ranking metrics, NaN where
     * not measured.
     */
    final double[] ranking;
    final int rankingK;

    EpochMetrics(int epoch, double trainRmseDuringEpoch, double sampleRmse, double testRmse, double testMae,
            double ratingsPerSecond, double seconds, double[] psRequests, double[] psBytes, double[] ranking,
            int rankingK, double validationRmse) {
        this.validationRmse = validationRmse;
        this.ranking = ranking;
        this.rankingK = rankingK;
        this.psRequests = psRequests;
        this.psBytes = psBytes;
        this.epoch = epoch;
        this.trainRmseDuringEpoch = trainRmseDuringEpoch;
        this.sampleRmse = sampleRmse;
        this.testRmse = testRmse;
        this.testMae = testMae;
        this.ratingsPerSecond = ratingsPerSecond;
        this.seconds = seconds;
    }

    /** The training loss to show: the sampled one when there is a sample. */
    double trainRmse() {
        return Double.isNaN(sampleRmse) ? trainRmseDuringEpoch : sampleRmse;
    }

    String line(int epochs, String prefix) {
        String test = Double.isNaN(testRmse) ? "" : String.format(Locale.ROOT, "  test-rmse %.4f  test-mae %.4f",
                testRmse, testMae);
        if (!Double.isNaN(validationRmse)) {
            test = String.format(Locale.ROOT, "  val-rmse %.4f", validationRmse) + test;
        }
        if (ranking != null && !Double.isNaN(ranking[2])) {
            test += String.format(Locale.ROOT, "  ndcg@%d %.4f  p@%d %.4f  coverage %.3f", rankingK, ranking[2],
                    rankingK, ranking[0], ranking[4]);
        }
        double bytes = Arrays.stream(psBytes).sum();
        double requests = Arrays.stream(psRequests).sum();
        return String.format(Locale.ROOT, "%sepoch %d/%d  train-rmse %.4f%s  %.2fM ratings/s  %.2f s  ps %.1f MB "
                + "%,.0f req", prefix, epoch, epochs, trainRmse(), test, ratingsPerSecond / 1e6, seconds, bytes / 1e6,
                requests);
    }

    EpochRecord record() {
        return new EpochRecord(epoch, Json.round(trainRmse(), 6), Json.round(trainRmseDuringEpoch, 6),
                Json.round(testRmse, 6), Json.round(testMae, 6), Math.round(ratingsPerSecond),
                Math.round(seconds * 1000) / 1000.0, longs(psRequests), longs(psBytes), ranking(0), ranking(1),
                ranking(2), ranking(3), ranking(4), Json.round(validationRmse, 6));
    }

    /** NDCG@K when measured after this epoch, else NaN. */
    double ndcg() {
        return ranking == null ? Double.NaN : ranking[2];
    }

    private Double ranking(int i) {
        return ranking == null ? null : Json.round(ranking[i], 9);
    }

    private static long[] longs(double[] v) {
        long[] out = new long[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (long) v[i];
        }
        return out;
    }
}
