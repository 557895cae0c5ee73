package org.factorbird.pipeline.sgd;

import java.util.Arrays;

/**
 * Growable lists of primitives for packing rows, snapshots and recommendations without boxing. One small class per element type:
 * Java generics cannot hold primitives, and a boxed or reflective list would allocate per rating.
 */
public final class PrimitiveLists {

    private PrimitiveLists() {}

    /** Capacity for one more element: doubling, at least 4. */
    public static int grown(int length) {
        return Math.max(4, length * 2);
    }

    public static final class LongList {
        public long[] a;
        public int n;

        public LongList(int cap) {
            a = new long[Math.max(4, cap)];
        }

        public void add(long v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, grown(n));
            }
            a[n++] = v;
        }

        public void clear() {
            n = 0;
        }

        public long[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }

    public static final class IntList {
        public int[] a;
        public int n;

        public IntList(int cap) {
            a = new int[Math.max(4, cap)];
        }

        public void add(int v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, grown(n));
            }
            a[n++] = v;
        }

        public void clear() {
            n = 0;
        }

        public int[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }

    public static final class FloatList {
        public float[] a;
        public int n;

        public FloatList(int cap) {
            a = new float[Math.max(4, cap)];
        }

        public void add(float v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, grown(n));
            }
            a[n++] = v;
        }

        public void clear() {
            n = 0;
        }

        public float[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }
}
