package org.factorbird.pipeline.train;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;

import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.factorbird.pipeline.TrainConfig;
import org.factorbird.pipeline.model.GridFile;
import org.factorbird.pipeline.model.Json;
import org.factorbird.pipeline.model.ModelFile;
import org.factorbird.pipeline.report.Report;

/**
 * What a run tells its user: progress lines and warnings about its settings (printed by subtask 0 only, the
 * numbers are global), the malformed lines a subtask skipped ({@code OUT/skipped-lines.txt}), and the files
 * {@code model.json} and {@code grid.json}.
 */
final class RunReport {

    private static final Logger LOG = LoggerFactory.getLogger(RunReport.class);
    private static final int PRINTED_BAD_SAMPLES = 5;

    private final TrainConfig cfg;
    private final boolean leader;

    RunReport(TrainConfig cfg, int subtask) {
        this.cfg = cfg;
        this.leader = subtask == 0;
    }

    boolean leader() {
        return leader;
    }

    /** A progress line on stdout and in the log, from subtask 0 only. */
    void progress(String line) {
        if (leader) {
            LOG.info(line);
            System.out.println(line);
        }
    }

    /** A warning on stderr and in the log, from subtask 0 only. */
    void warning(String line) {
        if (leader) {
            LOG.warn(line);
            System.err.println("warning: " + line);
        }
    }

    void loaded(LoadStats load, int models, boolean heap) {
        progress(String.format(Locale.ROOT, "loaded %,d training%s and %,d held-out ratings of %,d rows "
                + "(%,d malformed lines skipped) in %.1f s (%.2fM lines/s); global mean %.4f; %d model(s); "
                + "keyed state %.1f MB in the largest subtask (%s)",
                load.trainRatings(), load.validationRatings() == 0 ? ""
                        : String.format(Locale.ROOT, ", %,d validation", load.validationRatings()),
                load.testRatings(), load.trainRows(), load.skipped(), load.loadSeconds(),
                load.lines() / load.loadSeconds() / 1e6, load.mu(), models, load.stateBytes() / 1e6,
                heap ? "heap" : "RocksDB"));
    }

    /** This subtask's skipped lines: a warning with the first few, and {@code OUT/skipped-lines.txt}. */
    void badLines(long skipped, List<String> samples) {
        StringBuilder sb = new StringBuilder();
        sb.append("skipped ").append(skipped).append(" malformed input line(s); the first:");
        for (int i = 0; i < Math.min(PRINTED_BAD_SAMPLES, samples.size()); i++) {
            sb.append("\n  ").append(samples.get(i));
        }
        LOG.warn(sb.toString());
        System.err.println(sb);
        try {
            writeFile("skipped-lines.txt", String.join("\n", samples) + "\n");
        } catch (IOException e) {
            LOG.warn("cannot write skipped-lines.txt in {}: {}", cfg.output, e.toString());
        }
    }

    /**
     * model.json of the best model, report.html and metrics.csv, and for a grid grid.json, the ranking and with
     * --keep-all every model.json.
     */
    void finished(Summary summary, int best) throws IOException {
        if (!leader) {
            return;
        }
        ModelFile model = summary.modelFile(cfg, best);
        GridFile grid = cfg.grid ? summary.gridFile(cfg) : null;
        Json.write(new Path(cfg.output, "model.json"), model);
        // the pictures of the run, from the same records (factorbird report rebuilds them from the JSON)
        Report.write(cfg.output, model, grid);
        if (cfg.grid) {
            Json.write(new Path(cfg.output, "grid.json"), grid);
            progress("grid of " + cfg.models.size() + " models, best first:\n" + summary.table(cfg).stripTrailing());
            if (cfg.keepAll) {
                for (int m = 0; m < cfg.models.size(); m++) {
                    Json.write(new Path(cfg.output, "models/" + m + "/model.json"), summary.modelFile(cfg, m));
                }
            }
        }
    }

    private void writeFile(String relative, String content) throws IOException {
        Path p = new Path(cfg.output, relative);
        FileSystem fs = p.getFileSystem();
        try (OutputStream out = fs.create(p, FileSystem.WriteMode.OVERWRITE)) {
            out.write(content.getBytes(StandardCharsets.UTF_8));
        }
    }
}
