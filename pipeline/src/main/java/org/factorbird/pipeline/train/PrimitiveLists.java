package org.factorbird.pipeline.train;

import java.util.Arrays;

/**
 * Growable lists of primitives for packing rows and snapshots without boxing. One small class per element type:
 * Java generics cannot hold primitives, and a boxed or reflective list would allocate per rating.
 */
final class PrimitiveLists {

    private PrimitiveLists() {}

    /** Capacity for one more element: doubling, at least 4. */
    static int grown(int length) {
        return Math.max(4, length * 2);
    }

    static final class LongList {
        long[] a;
        int n;

        LongList(int cap) {
            a = new long[Math.max(4, cap)];
        }

        void add(long v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, grown(n));
            }
            a[n++] = v;
        }

        void clear() {
            n = 0;
        }

        long[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }

    static final class IntList {
        int[] a;
        int n;

        IntList(int cap) {
            a = new int[Math.max(4, cap)];
        }

        void add(int v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, grown(n));
            }
            a[n++] = v;
        }

        void clear() {
            n = 0;
        }

        int[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }

    static final class FloatList {
        float[] a;
        int n;

        FloatList(int cap) {
            a = new float[Math.max(4, cap)];
        }

        void add(float v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, grown(n));
            }
            a[n++] = v;
        }

        void clear() {
            n = 0;
        }

        float[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }
}
