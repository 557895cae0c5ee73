package org.factorbird.pipeline.stream;

import java.io.IOException;
import java.io.Serializable;
import java.util.List;

import org.apache.flink.configuration.Configuration;
import org.factorbird.pipeline.Checks;
import org.factorbird.pipeline.FactorbirdOptions;
import org.factorbird.pipeline.PsSettings;
import org.factorbird.pipeline.model.ModelDir;
import org.factorbird.pipeline.model.ModelFile;
import org.factorbird.ps.PsClientConfig;
import org.factorbird.ps.TableSpec;

/**
 * Everything {@code factorbird stream} needs, checked once in the client (each bad value a one-line message naming
 * the option) and shipped to the subtasks: the options, and what the starting model says (rank, mu, hyper-parameters).
 */
public final class StreamConfig implements Serializable {

    private static final long serialVersionUID = 1L;

    public final String model;
    public final String input;
    public final String output;
    public final int parallelism;
    public final long seed;
    public final boolean strict;
    public final int batchRatings;
    public final long batchMs;
    public final float learningRate;
    public final float lambda;
    public final float lambdaBias;
    public final int window;
    public final double reportSeconds;
    public final int checkpointSeconds;
    public final int exportEvery;
    public final long monitorMs;
    public final int runSeconds;
    public final int maxRestarts;
    /** The model's rank, global mean, initial standard deviation of new factors and rating range. */
    public final int rank;
    public final float mu;
    public final float initStd;
    public final float[] ratingRange;
    /** The starting model's own model.json, the base of every export's. */
    public final ModelFile start;
    public final PsSettings ps;
    /** Parameter servers in shard order; empty until an embedded cluster is started. */
    public final List<String> psServers;
    /** Identifies this job on the PS cluster; each restart attempt gets a table of its own from it. */
    public final long runId;

    private StreamConfig(Configuration c, ModelFile start, List<String> psServers, long runId) {
        this.model = Checks.required(c.get(StreamOptions.MODEL), "model");
        this.input = Checks.required(c.get(StreamOptions.INPUT), "input");
        this.output = Checks.required(c.get(StreamOptions.OUTPUT), "output");
        this.parallelism = Checks.atLeast(c.get(FactorbirdOptions.PARALLELISM), 1, "parallelism");
        this.seed = c.get(FactorbirdOptions.SEED);
        this.strict = c.get(FactorbirdOptions.STRICT);
        this.batchRatings = Checks.atLeast(c.get(StreamOptions.BATCH_RATINGS), 1, "batch-ratings");
        this.batchMs = c.get(StreamOptions.BATCH_MS);
        if (batchMs < 1) {
            throw new IllegalArgumentException("--batch-ms must be >= 1 but was " + batchMs);
        }
        this.window = Checks.atLeast(c.get(StreamOptions.WINDOW), 1, "window");
        this.reportSeconds = c.get(StreamOptions.REPORT_SECONDS);
        if (!(reportSeconds >= 0.1) || Double.isInfinite(reportSeconds)) {
            throw new IllegalArgumentException("--report-seconds must be >= 0.1 but was " + reportSeconds);
        }
        this.checkpointSeconds = Checks.atLeast(c.get(StreamOptions.CHECKPOINT_SECONDS), 1, "checkpoint-seconds");
        this.exportEvery = Checks.atLeast(c.get(StreamOptions.EXPORT_EVERY), 1, "export-every");
        this.monitorMs = c.get(StreamOptions.MONITOR_MS);
        if (monitorMs < 10) {
            throw new IllegalArgumentException("--monitor-ms must be >= 10 but was " + monitorMs);
        }
        this.runSeconds = Checks.atLeast(c.get(StreamOptions.RUN_SECONDS), 0, "run-seconds");
        this.maxRestarts = Checks.atLeast(c.get(FactorbirdOptions.MAX_RESTARTS), 0, "max-restarts");
        if (start.settings() != null && start.settings().implicit()) {
            throw new IllegalArgumentException("--model " + model + " is an --implicit model; stream updates "
                    + "explicit-feedback models (ratings) only");
        }
        if (start.settings() != null && start.settings().stringIds()) {
            throw new IllegalArgumentException("--model " + model + " has string ids; stream reads numeric ids only");
        }
        ModelFile.HyperParameters hp = start.hyperParameters();
        this.start = start;
        this.rank = start.rank();
        this.mu = start.globalMean();
        this.initStd = hp == null ? 0.1f : hp.initStd();
        this.ratingRange = start.ratingRange();
        this.learningRate = positive(c.getOptional(StreamOptions.LEARNING_RATE).map(Double::floatValue)
                .orElse(lastStep(start)), "learning-rate");
        this.lambda = atLeast0(c.getOptional(StreamOptions.LAMBDA).map(Double::floatValue)
                .orElse(hp == null ? 0.05f : hp.lambda()), "lambda");
        this.lambdaBias = atLeast0(c.getOptional(StreamOptions.LAMBDA_BIAS).map(Double::floatValue)
                .orElse(hp == null ? 0.05f : hp.lambdaBias()), "lambda-bias");
        this.ps = new PsSettings(c);
        this.psServers = List.copyOf(psServers);
        this.runId = runId;
    }

    /** From the options in {@code c}, reading the starting model's model.json (a one-line IOException if absent). */
    public static StreamConfig from(Configuration c, long runId) throws IOException {
        String model = Checks.required(c.get(StreamOptions.MODEL), "model");
        return new StreamConfig(c, ModelDir.open(model).model(), Checks.psServers(c), runId);
    }

    /** This configuration with the given PS servers (an embedded cluster started for a local run). */
    public StreamConfig withPs(Configuration c, List<String> servers) {
        return new StreamConfig(c, start, servers, runId);
    }

    /** The step the model ended with: SGD goes on where training stopped. */
    static float lastStep(ModelFile m) {
        ModelFile.HyperParameters hp = m.hyperParameters();
        if (hp == null || "adagrad".equals(hp.schedule())) {
            return 0.01f;
        }
        int epochs = m.settings() == null ? 1 : m.settings().epochs();
        return "decay".equals(hp.schedule()) ? hp.learningRate() / (1f + hp.decay() * (epochs - 1)) : hp.learningRate();
    }

    /** Floats per row and per column: bias and factors. */
    public int width() {
        return rank + 1;
    }

    /** Columns on the PS: bias 0, factors N(0, initStd) for the ones the stream meets first. */
    public TableSpec columns(int attempt) {
        long run = attempt == 0 ? runId : (org.factorbird.ps.Hashing.mix64(runId + attempt) | 1);
        return new TableSpec(run, seed, List.of(new TableSpec.Segment(width(), 1, width(), initStd)));
    }

    public PsClientConfig psClientConfig(int attempt) {
        return ps.clientConfig(psServers, columns(attempt));
    }

    private static float positive(float v, String name) {
        if (!(v > 0) || Float.isInfinite(v)) {
            throw new IllegalArgumentException("--" + name + " must be a finite number > 0 but was " + v);
        }
        return v;
    }

    private static float atLeast0(float v, String name) {
        if (!(v >= 0) || Float.isInfinite(v)) {
            throw new IllegalArgumentException("--" + name + " must be a finite number >= 0 but was " + v);
        }
        return v;
    }
}
