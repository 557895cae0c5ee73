package org.factorbird.pipeline.train;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.factorbird.pipeline.ModelParams;
import org.factorbird.pipeline.TrainConfig;

/** Global facts of a run, gathered by every subtask from the aggregates, for model.json and grid.json. */
final class Summary {

    final float mu;
    final long trainRatings;
    final long testRatings;
    final long skipped;
    final long rows;
    final long testOnlyRows;
    final float min;
    final float max;
    /** Per model, per epoch. */
    final List<List<EpochMetrics>> epochs = new ArrayList<>();
    long rowsWritten;
    long columnsWritten;
    String stoppedEarly;
    /** Epoch of the snapshot the run resumed from; 0 for a fresh start. */
    int resumedFrom;
    /** Seconds from the operator's start to the end of packing (reading, parsing, keying, packing rows). */
    double loadSeconds;
    /** Bytes of packed keyed state in the largest subtask. */
    long stateBytesPerSubtask;

    Summary(float mu, long trainRatings, long testRatings, long skipped, long rows, long testOnlyRows, float min,
            float max, int models) {
        this.mu = mu;
        this.trainRatings = trainRatings;
        this.testRatings = testRatings;
        this.skipped = skipped;
        this.rows = rows;
        this.testOnlyRows = testOnlyRows;
        this.min = min;
        this.max = max;
        for (int m = 0; m < models; m++) {
            epochs.add(new ArrayList<>());
        }
    }

    static String num(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.6f", v) : "null";
    }

    EpochMetrics last(int model) {
        List<EpochMetrics> e = epochs.get(model);
        return e.isEmpty() ? null : e.get(e.size() - 1);
    }

    /** What ranks models: final held-out RMSE, else the final training loss. */
    double score(int model) {
        EpochMetrics l = last(model);
        if (l == null) {
            return Double.POSITIVE_INFINITY;
        }
        double s = Double.isNaN(l.testRmse) ? l.trainRmse() : l.testRmse;
        return Double.isNaN(s) ? Double.POSITIVE_INFINITY : s;
    }

    int best() {
        int best = 0;
        for (int m = 1; m < epochs.size(); m++) {
            if (score(m) < score(best)) {
                best = m;
            }
        }
        return best;
    }

    String modelJson(TrainConfig c, int model) {
        ModelParams p = c.models.get(model);
        StringBuilder sb = new StringBuilder();
        sb.append("{\n");
        sb.append("  \"format\": \"factorbird-model-1\",\n");
        sb.append("  \"globalMean\": ").append(num(mu)).append(",\n");
        sb.append("  \"rank\": ").append(p.rank).append(",\n");
        sb.append("  \"lineFormat\": \"id<TAB>bias<TAB>f1..fk\",\n");
        if (c.grid) {
            sb.append("  \"gridIndex\": ").append(model).append(",\n");
        }
        sb.append("  \"hyperParameters\": ").append(p.json()).append(",\n");
        sb.append("  \"settings\": {");
        int i = 0;
        for (Map.Entry<String, Object> e : c.settings().entrySet()) {
            sb.append(i++ == 0 ? "" : ", ").append('"').append(e.getKey()).append("\": ").append(e.getValue());
        }
        sb.append("},\n");
        sb.append("  \"counts\": {")
                .append(String.format(Locale.ROOT, "\"trainRatings\": %d, \"testRatings\": %d, \"rows\": %d, "
                        + "\"columns\": %d, \"testOnlyRows\": %d, \"skippedLines\": %d",
                        trainRatings, testRatings, rowsWritten, columnsWritten, testOnlyRows, skipped))
                .append("},\n");
        sb.append("  \"ratingRange\": [").append(num(min)).append(", ").append(num(max)).append("],\n");
        sb.append("  \"loadSeconds\": ").append(num(loadSeconds)).append(",\n");
        sb.append("  \"stateBytesPerSubtask\": ").append(stateBytesPerSubtask).append(",\n");
        sb.append("  \"parallelism\": ").append(c.parallelism).append(",\n");
        sb.append("  \"psShards\": ").append(c.psServers.size()).append(",\n");
        sb.append("  \"stateBackend\": \"").append(c.stateBackend).append("\",\n");
        if (resumedFrom > 0) {
            sb.append("  \"resumedFromEpoch\": ").append(resumedFrom).append(",\n");
        }
        if (stoppedEarly != null) {
            sb.append("  \"stoppedEarly\": \"").append(stoppedEarly).append("\",\n");
        }
        EpochMetrics last = last(model);
        sb.append("  \"finalTestRmse\": ").append(last == null ? "null" : num(last.testRmse)).append(",\n");
        sb.append("  \"finalTrainRmse\": ").append(last == null ? "null" : num(last.trainRmse())).append(",\n");
        sb.append("  \"epochs\": [");
        List<EpochMetrics> e = epochs.get(model);
        for (int k = 0; k < e.size(); k++) {
            sb.append(k == 0 ? "\n    " : ",\n    ").append(e.get(k).json());
        }
        sb.append("\n  ]\n}\n");
        return sb.toString();
    }

    /** Models ranked best first. */
    List<Integer> ranking() {
        List<Integer> order = new ArrayList<>();
        for (int m = 0; m < epochs.size(); m++) {
            order.add(m);
        }
        order.sort((a, b) -> Double.compare(score(a), score(b)));
        return order;
    }

    String gridJson(TrainConfig c) {
        StringBuilder sb = new StringBuilder("{\n  \"best\": ").append(best()).append(",\n  \"models\": [");
        List<Integer> order = ranking();
        for (int k = 0; k < order.size(); k++) {
            int m = order.get(k);
            EpochMetrics l = last(m);
            sb.append(k == 0 ? "\n    " : ",\n    ");
            sb.append("{\"index\": ").append(m).append(", \"place\": ").append(k + 1)
                    .append(", \"hyperParameters\": ").append(c.models.get(m).json())
                    .append(", \"finalTestRmse\": ").append(l == null ? "null" : num(l.testRmse))
                    .append(", \"finalTestMae\": ").append(l == null ? "null" : num(l.testMae))
                    .append(", \"finalTrainRmse\": ").append(l == null ? "null" : num(l.trainRmse()))
                    .append(", \"epochs\": [");
            List<EpochMetrics> e = epochs.get(m);
            for (int q = 0; q < e.size(); q++) {
                sb.append(q == 0 ? "" : ", ").append(e.get(q).json());
            }
            sb.append("]}");
        }
        sb.append("\n  ],\n  \"globalMean\": ").append(num(mu)).append(",\n  \"trainRatings\": ").append(trainRatings)
                .append(",\n  \"testRatings\": ").append(testRatings).append("\n}\n");
        return sb.toString();
    }

    String table(TrainConfig c) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%-5s %-6s %-10s %-10s %-65s%n", "place", "index", "test-rmse",
                "train-rmse", "hyper-parameters"));
        List<Integer> order = ranking();
        for (int k = 0; k < order.size(); k++) {
            int m = order.get(k);
            EpochMetrics l = last(m);
            sb.append(String.format(Locale.ROOT, "%-5d %-6d %-10s %-10s %s%n", k + 1, m,
                    l == null ? "-" : String.format(Locale.ROOT, "%.4f", l.testRmse),
                    l == null ? "-" : String.format(Locale.ROOT, "%.4f", l.trainRmse()), c.models.get(m).describe()));
        }
        return sb.toString();
    }
}
