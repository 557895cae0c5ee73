package org.factorbird.pipeline.train;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.factorbird.pipeline.TrainConfig;
import org.factorbird.pipeline.model.EpochRecord;
import org.factorbird.pipeline.model.GridFile;
import org.factorbird.pipeline.model.Json;
import org.factorbird.pipeline.model.ModelFile;

/** Global facts of a run, gathered by every subtask from the aggregates, for model.json and grid.json. */
final class Summary {

    final float mu;
    final long trainRatings;
    final long testRatings;
    final long validationRatings;
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
    /** Seconds of each phase of the run, the slowest subtask's ({@link Phases}). */
    Map<String, Double> phases;
    /** Warnings about the run's settings, for model.json (see {@link ModelFile#warnings}). */
    final List<String> warnings = new ArrayList<>();
    /** Bytes of packed keyed state in the largest subtask. */
    long stateBytesPerSubtask;
    /** Per model, the epoch after which --prune stopped it; 0 for a model trained to the end. */
    int[] stoppedAt;
    /** Per model of a grid: whether its updates stopped being finite (it ranks last). */
    final boolean[] diverged;

    /** --select-by ndcg: see {@link #score}. */
    final boolean selectByNdcg;

    Summary(LoadStats load, int models, boolean selectByNdcg) {
        this.selectByNdcg = selectByNdcg;
        this.mu = load.mu();
        this.trainRatings = load.trainRatings();
        this.testRatings = load.testRatings();
        this.validationRatings = load.validationRatings();
        this.skipped = load.skipped();
        this.rows = load.trainRows();
        this.testOnlyRows = load.testOnlyRows();
        this.min = load.min();
        this.max = load.max();
        this.loadSeconds = load.loadSeconds();
        this.stateBytesPerSubtask = load.stateBytes();
        for (int m = 0; m < models; m++) {
            epochs.add(new ArrayList<>());
        }
        this.stoppedAt = new int[models];
        this.diverged = new boolean[models];
    }

    EpochMetrics last(int model) {
        List<EpochMetrics> e = epochs.get(model);
        return e.isEmpty() ? null : e.get(e.size() - 1);
    }

    /**
     * What ranks models, lower first: with --select-by ndcg minus the last measured NDCG@K; else the final held-out
     * RMSE, else the final training loss.
     */
    double score(int model) {
        EpochMetrics l = last(model);
        if (l == null || diverged[model]) {
            return Double.POSITIVE_INFINITY;
        }
        if (selectByNdcg) {
            List<EpochMetrics> e = epochs.get(model);
            for (int i = e.size() - 1; i >= 0; i--) {
                if (!Double.isNaN(e.get(i).ndcg())) {
                    return -e.get(i).ndcg();
                }
            }
            return Double.POSITIVE_INFINITY;
        }
        // validation decides when there is any: the test data is then only reported
        double s = !Double.isNaN(l.validationRmse) ? l.validationRmse
                : Double.isNaN(l.testRmse) ? l.trainRmse() : l.testRmse;
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

    /** model.json of {@code model}. */
    ModelFile modelFile(TrainConfig c, int model) {
        EpochMetrics last = last(model);
        return new ModelFile(ModelFile.FORMAT, mu, c.models.get(model).rank, ModelFile.LINE_FORMAT,
                c.input, c.test, c.grid ? model : null, c.models.get(model).toRecord(), c.settings(),
                new ModelFile.Counts(trainRatings, testRatings, rowsWritten, columnsWritten, testOnlyRows, skipped,
                        validationRatings),
                new float[] {min, max}, Json.round(loadSeconds, 6), stateBytesPerSubtask, c.parallelism,
                c.psServers.size(), c.stateBackend, resumedFrom > 0 ? resumedFrom : null, stoppedEarly,
                last == null ? null : Json.round(last.testRmse, 6), last == null ? null : Json.round(last.trainRmse(), 6),
                last == null ? null : Json.round(last.validationRmse, 6),
                phases, records(model), warnings.isEmpty() ? null : List.copyOf(warnings));
    }

    private List<EpochRecord> records(int model) {
        List<EpochRecord> out = new ArrayList<>();
        epochs.get(model).forEach(e -> out.add(e.record()));
        return out;
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

    /** grid.json: every model, best first. */
    GridFile gridFile(TrainConfig c) {
        List<GridFile.Entry> entries = new ArrayList<>();
        List<Integer> order = ranking();
        for (int k = 0; k < order.size(); k++) {
            int m = order.get(k);
            EpochMetrics l = last(m);
            entries.add(new GridFile.Entry(m, k + 1, c.models.get(m).toRecord(),
                    l == null ? null : Json.round(l.testRmse, 6), l == null ? null : Json.round(l.testMae, 6),
                    l == null ? null : Json.round(l.trainRmse(), 6), l == null ? null : Json.round(l.validationRmse, 6),
                    stoppedAt[m] > 0 ? stoppedAt[m] : null, diverged[m] ? Boolean.TRUE : null, records(m)));
        }
        return new GridFile(best(), entries, mu, trainRatings, testRatings, validationRatings,
                c.prune ? String.format(Locale.ROOT, "halving every %d epochs, keep %s", c.pruneEvery, c.keep)
                        + (c.rungs.count() == 0 ? "" : ", after rung passes on " + c.rungs
                        + " of the rows (epochs 1-" + c.rungs.count() + ")") : null);
    }

    String table(TrainConfig c) {
        StringBuilder sb = new StringBuilder();
        String ndcgHeader = c.rankingK > 0 ? String.format(Locale.ROOT, "%-10s ", "ndcg@" + c.rankingK) : "";
        sb.append(String.format(Locale.ROOT, "%-5s %-6s %-10s %-10s %-10s %-6s %s%-65s%n", "place", "index",
                "val-rmse", "test-rmse", "train-rmse", "epochs", ndcgHeader, "hyper-parameters"));
        List<Integer> order = ranking();
        for (int k = 0; k < order.size(); k++) {
            int m = order.get(k);
            EpochMetrics l = last(m);
            String ndcg = c.rankingK == 0 ? "" : String.format(Locale.ROOT, "%-10s ",
                    l == null || Double.isNaN(l.ndcg()) ? "-" : String.format(Locale.ROOT, "%.4f", l.ndcg()));
            sb.append(String.format(Locale.ROOT, "%-5d %-6d %-10s %-10s %-10s %-6s %s%s%n", k + 1, m,
                    l == null || Double.isNaN(l.validationRmse) ? "-"
                            : String.format(Locale.ROOT, "%.4f", l.validationRmse),
                    l == null ? "-" : String.format(Locale.ROOT, "%.4f", l.testRmse),
                    l == null ? "-" : String.format(Locale.ROOT, "%.4f", l.trainRmse()),
                    l == null ? "-" : String.valueOf(l.epoch), ndcg,
                    c.models.get(m).describe()));
        }
        return sb.toString();
    }
}
