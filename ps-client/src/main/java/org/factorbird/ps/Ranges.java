package org.factorbird.ps;

import java.util.Arrays;

/**
 * Which floats of each key's values a pull or push carries: sorted, disjoint ranges {@code [from, from + length)}
 * of {@code [0, dim)}, laid out back to back ({@link #width} floats per key). A grid search stores M models per
 * column key back to back; once some models stop ({@code grid --prune halving}), requests name the active models'
 * ranges so that a stopped model costs no bytes on the wire. {@link #ALL}: every float of the key.
 */
public final class Ranges {

    /** Every float of each key (no ranges on the wire). */
    public static final Ranges ALL = new Ranges(new int[0], new int[0]);

    /** The most ranges one request may name. */
    public static final int MAX_RANGES = 4096;

    private final int[] from;
    private final int[] length;
    private final int width;

    private Ranges(int[] from, int[] length) {
        this.from = from;
        this.length = length;
        int w = 0;
        for (int l : length) {
            w += l;
        }
        this.width = w;
    }

    /**
     * Ranges from {@code (from, length)} pairs: sorted, disjoint, each of length at least 1. Adjacent ranges are
     * merged, so the same floats always encode the same way.
     *
     * @throws IllegalArgumentException naming the offending pair
     */
    public static Ranges of(int[] from, int[] length) {
        if (from.length != length.length) {
            throw new IllegalArgumentException("ranges need as many starts (" + from.length + ") as lengths ("
                    + length.length + ")");
        }
        if (from.length == 0) {
            throw new IllegalArgumentException("ranges must name at least one range (Ranges.ALL: every float)");
        }
        int[] f = new int[from.length];
        int[] l = new int[from.length];
        int n = 0;
        long end = 0;
        for (int i = 0; i < from.length; i++) {
            if (from[i] < 0 || length[i] < 1 || (i > 0 && from[i] < end)) {
                throw new IllegalArgumentException("range " + i + " [" + from[i] + ", +" + length[i]
                        + ") must start at or after " + end + " with a length >= 1");
            }
            if (n > 0 && from[i] == end) {
                l[n - 1] += length[i];
            } else {
                f[n] = from[i];
                l[n] = length[i];
                n++;
            }
            end = (long) from[i] + length[i];
        }
        if (end > Integer.MAX_VALUE || n > MAX_RANGES) {
            throw new IllegalArgumentException(n + " ranges ending at " + end + " exceed the limits ("
                    + MAX_RANGES + " ranges)");
        }
        return new Ranges(Arrays.copyOf(f, n), Arrays.copyOf(l, n));
    }

    public boolean isAll() {
        return from.length == 0;
    }

    /** Ranges on the wire; 0 for {@link #ALL}. */
    public int count() {
        return from.length;
    }

    public int from(int i) {
        return from[i];
    }

    public int length(int i) {
        return length[i];
    }

    /** Floats per key a request with these ranges carries, for keys of {@code dim} floats. */
    public int width(int dim) {
        return isAll() ? dim : width;
    }

    /** Whether every range lies within {@code [0, dim)}. */
    public boolean fits(int dim) {
        return isAll() || from[from.length - 1] + length[length.length - 1] <= dim;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Ranges r && Arrays.equals(from, r.from) && Arrays.equals(length, r.length);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(from) + Arrays.hashCode(length);
    }

    @Override
    public String toString() {
        if (isAll()) {
            return "all";
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < from.length; i++) {
            sb.append(i == 0 ? "" : ",").append('[').append(from[i]).append(',').append(from[i] + length[i])
                    .append(')');
        }
        return sb.toString();
    }
}
