package org.factorbird.ps;

/**
 * The hash functions that place keys: on PS shards, in output slices, and in deterministic initial values.
 * Client, server and job all use these, so a key lands on the same shard from every process.
 */
public final class Hashing {

    private static final long SLICE_SALT = 0x5DEECE66DL;

    private Hashing() {}

    /** SplitMix64's finaliser: a bijective 64-bit mix with good avalanche. */
    public static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** The PS shard that owns {@code key}. */
    public static int shardOf(long key, int shards) {
        return (int) Long.remainderUnsigned(mix64(key), shards);
    }

    /**
     * The output slice of {@code key}: after training, subtask {@code s} of {@code P} writes the column keys of
     * slice {@code s}. Independent of {@link #shardOf} so that every subtask reads from every shard evenly.
     */
    public static int sliceOf(long key, int slices) {
        return (int) Long.remainderUnsigned(mix64(key ^ SLICE_SALT), slices);
    }

    /**
     * A uniform int in [0, bound) from a 64-bit hash by multiply-shift of its high half (Lemire): no division,
     * which matters in per-rating shuffles. The bias is below bound / 2^32.
     */
    public static int below(long hash, int bound) {
        return (int) (((hash >>> 32) * bound) >>> 32);
    }

    /** A uniform double in [0, 1) from a 64-bit hash. */
    public static double unit(long hash) {
        return (hash >>> 11) * 0x1.0p-53;
    }

    /**
     * Standard-normal value number {@code j} for {@code id} under {@code seed}: the same on every machine and
     * in every order of arrival (Box-Muller over two hashed uniforms).
     */
    public static double gaussian(long seed, long id, int j) {
        long h = mix64(mix64(seed ^ mix64(id)) + j * 0x9E3779B97F4A7C15L);
        double u1 = unit(h);
        double u2 = unit(mix64(h + 0x632BE59BD9B4E019L));
        // log(1 - u1), not log1p(-u1): 1 - u1 is exact for u1 = k / 2^53, and Math.log is a JIT intrinsic where
        // log1p is a native call (6.5% of the CPU samples of a 100M-rating load, one call per row value)
        return Math.sqrt(-2.0 * Math.log(1.0 - u1)) * Math.cos(2.0 * Math.PI * u2);
    }
}
