package org.factorbird.pipeline.train;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.factorbird.pipeline.TrainConfig;

/** Global facts of a run, gathered by subtask 0 for {@code model.json}. */
final class Summary {

    final float mu;
    final long trainRatings;
    final long testRatings;
    final long skipped;
    final long rows;
    final long testOnlyRows;
    final float min;
    final float max;
    final List<EpochMetrics> epochs = new ArrayList<>();
    long rowsWritten;
    long columnsWritten;

    Summary(float mu, long trainRatings, long testRatings, long skipped, long rows, long testOnlyRows, float min,
            float max) {
        this.mu = mu;
        this.trainRatings = trainRatings;
        this.testRatings = testRatings;
        this.skipped = skipped;
        this.rows = rows;
        this.testOnlyRows = testOnlyRows;
        this.min = min;
        this.max = max;
    }

    static String num(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.6f", v) : "null";
    }

    String toJson(TrainConfig c) {
        StringBuilder sb = new StringBuilder();
        sb.append("{\n");
        sb.append("  \"format\": \"factorbird-model-1\",\n");
        sb.append("  \"globalMean\": ").append(num(mu)).append(",\n");
        sb.append("  \"rank\": ").append(c.rank).append(",\n");
        sb.append("  \"lineFormat\": \"id<TAB>bias<TAB>f1..fk\",\n");
        sb.append("  \"hyperParameters\": {")
                .append(String.format(Locale.ROOT, "\"learningRate\": %s, \"lambda\": %s, \"lambdaBias\": %s, "
                        + "\"initStd\": %s, \"epochs\": %d, \"seed\": %d, \"batchRows\": %d, \"batchRatings\": %d",
                        num(c.learningRate), num(c.lambda), num(c.lambdaBias), num(c.initStd), c.epochs, c.seed,
                        c.batchRows, c.batchRatings))
                .append("},\n");
        sb.append("  \"counts\": {")
                .append(String.format(Locale.ROOT, "\"trainRatings\": %d, \"testRatings\": %d, \"rows\": %d, "
                        + "\"columns\": %d, \"testOnlyRows\": %d, \"skippedLines\": %d",
                        trainRatings, testRatings, rowsWritten, columnsWritten, testOnlyRows, skipped))
                .append("},\n");
        sb.append("  \"ratingRange\": [").append(num(min)).append(", ").append(num(max)).append("],\n");
        sb.append("  \"parallelism\": ").append(c.parallelism).append(",\n");
        sb.append("  \"psShards\": ").append(c.psServers.size()).append(",\n");
        sb.append("  \"stateBackend\": \"").append(c.stateBackend).append("\",\n");
        EpochMetrics last = epochs.isEmpty() ? null : epochs.get(epochs.size() - 1);
        sb.append("  \"finalTestRmse\": ").append(last == null ? "null" : num(last.testRmse)).append(",\n");
        sb.append("  \"epochs\": [");
        for (int i = 0; i < epochs.size(); i++) {
            sb.append(i == 0 ? "\n    " : ",\n    ").append(epochs.get(i).json());
        }
        sb.append("\n  ]\n}\n");
        return sb.toString();
    }
}
