package org.factorbird.pipeline.io;

import org.factorbird.ps.Hashing;

/**
 * The deterministic split of {@code --holdout} and of the training-loss sample: a function of (seed, row, col)
 * only, so the same ratings are held out on any machine, in any order, at any parallelism.
 */
public final class HoldoutSplit {

    /** Salt that makes the loss sample independent of the held-out split. */
    public static final long LOSS_SAMPLE_SALT = 0x6C6F7373L;
    /** Salt that makes the validation split independent of the held-out split. */
    public static final long VALIDATION_SALT = 0x76616C69L;

    private HoldoutSplit() {}

    /** A uniform number in [0, 1) for the rating (row, col). */
    public static double unit(long seed, long row, long col) {
        return Hashing.unit(Hashing.mix64(Hashing.mix64(seed ^ Hashing.mix64(row)) + col));
    }

    public static boolean isHeldOut(long seed, long row, long col, double fraction) {
        return unit(seed, row, col) < fraction;
    }
}
