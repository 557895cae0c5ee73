package org.factorbird.ps;

import java.io.Serializable;

/**
 * What a PS cluster stores for one training run: {@code dim} floats per key, of which the first
 * {@code zeroPrefix} start at 0 (biases) and the rest at {@code initStd} times a normal draw seeded by
 * ({@code seed}, key). A server that receives a HELLO with a new {@code runId} drops what it held and starts
 * this model; HELLOs with the same run id join it (one training run per PS cluster at a time).
 */
public final class ModelSpec implements Serializable {

    private static final long serialVersionUID = 1L;

    private final int dim;
    private final int zeroPrefix;
    private final long runId;
    private final long seed;
    private final float initStd;

    public ModelSpec(int dim, int zeroPrefix, long runId, long seed, float initStd) {
        if (dim < 1) {
            throw new IllegalArgumentException("dim must be >= 1 but was " + dim);
        }
        if (zeroPrefix < 0 || zeroPrefix > dim) {
            throw new IllegalArgumentException("zeroPrefix must be in [0, " + dim + "] but was " + zeroPrefix);
        }
        if (!(initStd >= 0f) || Float.isInfinite(initStd)) {
            throw new IllegalArgumentException("initStd must be finite and >= 0 but was " + initStd);
        }
        this.dim = dim;
        this.zeroPrefix = zeroPrefix;
        this.runId = runId;
        this.seed = seed;
        this.initStd = initStd;
    }

    public int dim() {
        return dim;
    }

    public int zeroPrefix() {
        return zeroPrefix;
    }

    public long runId() {
        return runId;
    }

    public long seed() {
        return seed;
    }

    public float initStd() {
        return initStd;
    }

    @Override
    public String toString() {
        return "ModelSpec{dim=" + dim + ", zeroPrefix=" + zeroPrefix + ", runId=" + Long.toHexString(runId)
                + ", seed=" + seed + ", initStd=" + initStd + "}";
    }
}
