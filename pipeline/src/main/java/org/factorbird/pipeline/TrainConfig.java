package org.factorbird.pipeline;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.apache.flink.configuration.Configuration;
import org.factorbird.ps.ModelSpec;
import org.factorbird.ps.PsClientConfig;

/**
 * A checked, immutable training configuration, built from {@link FactorbirdOptions}. Shipped to every subtask.
 * Every check names the option and the bad value.
 */
public final class TrainConfig implements Serializable {

    private static final long serialVersionUID = 1L;

    public final String input;
    public final String output;
    public final String test;
    public final int rank;
    public final int epochs;
    public final float learningRate;
    public final float lambda;
    public final float lambdaBias;
    public final float initStd;
    public final long seed;
    public final int parallelism;
    public final String stateBackend;
    public final boolean strict;
    public final int batchRows;
    public final int batchRatings;
    public final int psMaxInFlight;
    public final long psTimeoutMs;
    /** Parameter servers in shard order; empty until an embedded cluster is started. */
    public final List<String> psServers;
    /** Identifies this run on the PS cluster; fresh for every submission. */
    public final long runId;

    private TrainConfig(Configuration c, List<String> psServers, long runId) {
        this.input = required(c.get(FactorbirdOptions.INPUT), "input");
        this.output = required(c.get(FactorbirdOptions.OUTPUT), "output");
        this.test = c.get(FactorbirdOptions.TEST);
        this.rank = atLeast(c.get(FactorbirdOptions.RANK), 1, "rank");
        this.epochs = atLeast(c.get(FactorbirdOptions.EPOCHS), 1, "epochs");
        this.learningRate = positive(c.get(FactorbirdOptions.LEARNING_RATE), "learning-rate");
        this.lambda = nonNegative(c.get(FactorbirdOptions.LAMBDA), "lambda");
        this.lambdaBias = nonNegative(c.get(FactorbirdOptions.LAMBDA_BIAS), "lambda-bias");
        this.initStd = nonNegative(c.get(FactorbirdOptions.INIT_STD), "init-std");
        this.seed = c.get(FactorbirdOptions.SEED);
        this.parallelism = atLeast(c.get(FactorbirdOptions.PARALLELISM), 1, "parallelism");
        String backend = c.get(FactorbirdOptions.STATE_BACKEND);
        if (!backend.equals("heap") && !backend.equals("rocksdb")) {
            throw new IllegalArgumentException("--state-backend must be 'heap' or 'rocksdb' but was '" + backend + "'");
        }
        this.stateBackend = backend;
        this.strict = c.get(FactorbirdOptions.STRICT);
        this.batchRows = atLeast(c.get(FactorbirdOptions.BATCH_ROWS), 1, "batch-rows");
        this.batchRatings = atLeast(c.get(FactorbirdOptions.BATCH_RATINGS), 1, "batch-ratings");
        this.psMaxInFlight = atLeast(c.get(FactorbirdOptions.PS_MAX_IN_FLIGHT), 1, "ps-max-in-flight");
        long timeout = c.get(FactorbirdOptions.PS_TIMEOUT_MS);
        if (timeout < 1) {
            throw new IllegalArgumentException("--ps-timeout-ms must be >= 1 but was " + timeout);
        }
        this.psTimeoutMs = timeout;
        for (String s : psServers) {
            PsClientConfig.parseAddress(s);
        }
        this.psServers = List.copyOf(psServers);
        this.runId = runId;
    }

    /** Checks {@code c}; the PS servers come from {@code --ps} (empty if it is not set). */
    public static TrainConfig from(Configuration c, long runId) {
        String ps = c.get(FactorbirdOptions.PS);
        List<String> servers = new ArrayList<>();
        if (ps != null && !ps.isBlank()) {
            Arrays.stream(ps.split(",")).map(String::trim).filter(s -> !s.isEmpty()).forEach(servers::add);
        }
        return new TrainConfig(c, servers, runId);
    }

    /** The same configuration with these parameter servers. */
    public TrainConfig withPsServers(List<String> servers, Configuration c) {
        return new TrainConfig(c, servers, runId);
    }

    public int dim() {
        return rank + 1;
    }

    /** What the PS stores per column: [b_j, v_j] with b_j starting at 0. */
    public ModelSpec columnModel() {
        return new ModelSpec(dim(), 1, runId, seed, initStd);
    }

    public PsClientConfig psClientConfig() {
        if (psServers.isEmpty()) {
            throw new IllegalStateException("no parameter servers configured");
        }
        return new PsClientConfig(psServers, columnModel()).maxInFlight(psMaxInFlight).requestTimeoutMs(psTimeoutMs);
    }

    private static String required(String v, String name) {
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException("--" + name + " is required");
        }
        return v;
    }

    private static int atLeast(int v, int min, String name) {
        if (v < min) {
            throw new IllegalArgumentException("--" + name + " must be >= " + min + " but was " + v);
        }
        return v;
    }

    private static float positive(double v, String name) {
        if (!(v > 0) || Double.isInfinite(v)) {
            throw new IllegalArgumentException("--" + name + " must be a positive number but was " + v);
        }
        return (float) v;
    }

    private static float nonNegative(double v, String name) {
        if (!(v >= 0) || Double.isInfinite(v)) {
            throw new IllegalArgumentException("--" + name + " must be a finite number >= 0 but was " + v);
        }
        return (float) v;
    }
}
