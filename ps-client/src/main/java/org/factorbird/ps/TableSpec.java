package org.factorbird.ps;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * What a PS cluster stores per key for one training run: the concatenation of one or more {@link Segment}s (one
 * per model in a grid search), {@link #dim()} floats in all. A server that receives a HELLO with a new
 * {@code runId} starts a table of this model beside the runs it holds; HELLOs with the same run id join it (every
 * attempt of every job is a run of its own: jobs share a PS cluster without seeing each other's columns).
 */
public final class TableSpec implements Serializable {

    private static final long serialVersionUID = 2L;

    /**
     * {@code dim} floats of one model; positions [randomFrom, randomTo) start at {@code initStd} times a
     * standard-normal draw seeded by (seed, key, position), all others (biases, optimiser state) at 0.
     */
    public static final class Segment implements Serializable {
        private static final long serialVersionUID = 1L;

        public final int dim;
        public final int randomFrom;
        public final int randomTo;
        public final float initStd;

        public Segment(int dim, int randomFrom, int randomTo, float initStd) {
            if (dim < 1) {
                throw new IllegalArgumentException("segment dim must be >= 1 but was " + dim);
            }
            if (randomFrom < 0 || randomTo < randomFrom || randomTo > dim) {
                throw new IllegalArgumentException("random range [" + randomFrom + ", " + randomTo
                        + ") must lie in [0, " + dim + "]");
            }
            if (!(initStd >= 0f) || Float.isInfinite(initStd)) {
                throw new IllegalArgumentException("initStd must be finite and >= 0 but was " + initStd);
            }
            this.dim = dim;
            this.randomFrom = randomFrom;
            this.randomTo = randomTo;
            this.initStd = initStd;
        }

        @Override
        public String toString() {
            return "[" + dim + " floats, random " + randomFrom + ".." + randomTo + " x " + initStd + "]";
        }
    }

    private final long runId;
    private final long seed;
    private final List<Segment> segments;
    private final int dim;

    public TableSpec(long runId, long seed, List<Segment> segments) {
        if (segments == null || segments.isEmpty()) {
            throw new IllegalArgumentException("a model needs at least one segment");
        }
        long total = 0;
        for (Segment s : segments) {
            total += s.dim;
        }
        if (total > 1 << 20) {
            throw new IllegalArgumentException("a key may hold at most 2^20 floats but the segments need " + total);
        }
        this.runId = runId;
        this.seed = seed;
        this.segments = Collections.unmodifiableList(new ArrayList<>(segments));
        this.dim = (int) total;
    }

    /** One model of {@code dim} floats whose first {@code zeroPrefix} are 0 and the rest random. */
    public static TableSpec single(int dim, int zeroPrefix, long runId, long seed, float initStd) {
        return new TableSpec(runId, seed, List.of(new Segment(dim, zeroPrefix, dim, initStd)));
    }

    /** Floats per key, all segments together. */
    public int dim() {
        return dim;
    }

    public long runId() {
        return runId;
    }

    public long seed() {
        return seed;
    }

    public List<Segment> segments() {
        return segments;
    }

    /** Writes the initial values of {@code key} into {@code out[offset, offset + dim())}. */
    public void init(long key, float[] out, int offset) {
        init(seed, segments, key, out, offset);
    }

    /** The initial values of {@code key} for these segments under {@code seed} (also used for row parameters). */
    public static void init(long seed, List<Segment> segments, long key, float[] out, int offset) {
        int o = offset;
        for (Segment s : segments) {
            for (int j = 0; j < s.dim; j++) {
                out[o + j] = j >= s.randomFrom && j < s.randomTo
                        ? (float) (s.initStd * Hashing.gaussian(seed, key, j)) : 0f;
            }
            o += s.dim;
        }
    }

    @Override
    public String toString() {
        return "TableSpec{dim=" + dim + ", runId=" + Long.toHexString(runId) + ", seed=" + seed + ", segments="
                + segments + "}";
    }
}
