package org.factorbird.jobs;

import java.io.IOException;
import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;

import org.apache.flink.core.fs.Path;
import org.factorbird.pipeline.model.EpochRecord;
import org.factorbird.pipeline.model.GridFile;
import org.factorbird.pipeline.model.Json;
import org.factorbird.pipeline.model.ModelFile;
import org.factorbird.pipeline.report.Report;

/**
 * The lines that end a run, local or on a cluster ({@code submit.sh}): held-out metrics, where the model is, the
 * grid's ranking, where the report is, where the time went, and the run's warnings. Read from the run's model.json
 * and grid.json.
 */
final class RunSummary {

    /** Grid models listed at most. */
    static final int RANKING_LINES = 10;

    private RunSummary() {}

    static void print(PrintStream out, String output, double seconds, int rankingK) {
        ModelFile model;
        GridFile grid = null;
        try {
            model = Json.read(new Path(output, "model.json"), ModelFile.class);
            Path gridPath = new Path(output, "grid.json");
            if (gridPath.getFileSystem().exists(gridPath)) {
                grid = Json.read(gridPath, GridFile.class);
            }
        } catch (IOException e) {
            out.printf(Locale.ROOT, "finished in %.1f s; output in %s%n", seconds, output);
            return;
        }
        if (grid != null) {
            ranking(out, grid);
        }
        EpochRecord last = model.lastEpoch();
        String test = model.finalTestRmse() == null ? ""
                : String.format(Locale.ROOT, "held-out RMSE %.6f, ", model.finalTestRmse());
        Double ndcg = null;
        for (EpochRecord e : model.epochs()) {
            ndcg = e.ndcgAtK() != null ? e.ndcgAtK() : ndcg;
        }
        if (ndcg != null) {
            test += String.format(Locale.ROOT, "NDCG@%d %.4f, ", rankingK, ndcg);
        }
        int epochs = last == null ? 0 : last.epoch();
        out.printf(Locale.ROOT, "finished in %.1f s: %s%d epoch%s, rank %d; %s in %s%n", seconds, test, epochs,
                epochs == 1 ? "" : "s", model.rank(), grid != null ? "best model" : "model", output);
        out.println("report: " + new Path(output, Report.HTML) + " (charts), " + new Path(output, Report.CSV));
        if (model.phases() != null) {
            // the slowest subtask's phases; the rest of the wall time is JVM and Flink start-up and waits for it
            Map<String, Double> p = model.phases();
            double known = p.values().stream().mapToDouble(Double::doubleValue).sum();
            double barriers = p.getOrDefault("trainingBarrier", 0.0) + p.getOrDefault("evaluationBarrier", 0.0);
            out.printf(Locale.ROOT, "time: start-up and other %.1f s, load %.1f s (packing %.1f s), training %.1f s, "
                    + "evaluation %.1f s, barriers %.1f s, snapshots %.1f s, output %.1f s%n",
                    Math.max(0, seconds - known), p.getOrDefault("load", 0.0) + p.getOrDefault("pack", 0.0)
                            + p.getOrDefault("restore", 0.0), p.getOrDefault("pack", 0.0),
                    p.getOrDefault("training", 0.0),
                    p.getOrDefault("evaluation", 0.0), barriers, p.getOrDefault("snapshots", 0.0),
                    p.getOrDefault("output", 0.0));
        }
        if (model.warnings() != null) {
            // printed while the run started too, but on a cluster that line went to a TaskManager's log
            for (String w : model.warnings()) {
                out.println("warning: " + w);
            }
        }
    }

    /** The grid's best models, best first, as grid.json ranks them. */
    static void ranking(PrintStream out, GridFile grid) {
        out.printf(Locale.ROOT, "grid of %d models%s, best first:%n", grid.models().size(),
                grid.pruning() == null ? "" : " (" + grid.pruning() + ")");
        out.printf(Locale.ROOT, "%-5s %-6s %-10s %-10s %-6s %s%n", "place", "index", "val-rmse", "test-rmse", "epochs",
                "hyper-parameters");
        for (GridFile.Entry e : grid.models().subList(0, Math.min(RANKING_LINES, grid.models().size()))) {
            ModelFile.HyperParameters h = e.hyperParameters();
            out.printf(Locale.ROOT, "%-5d %-6d %-10s %-10s %-6d rank=%d learning-rate=%s lambda=%s schedule=%s%n",
                    e.place(), e.index(), num(e.finalValidationRmse()), num(e.finalTestRmse()), e.epochs().size(),
                    h.rank(), h.learningRate(), h.lambda(), h.schedule());
        }
        if (grid.models().size() > RANKING_LINES) {
            out.println("... and " + (grid.models().size() - RANKING_LINES) + " more in grid.json");
        }
    }

    private static String num(Double v) {
        return v == null ? "-" : String.format(Locale.ROOT, "%.4f", v);
    }
}
