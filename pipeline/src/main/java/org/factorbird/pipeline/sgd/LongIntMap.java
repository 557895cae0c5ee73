package org.factorbird.pipeline.sgd;

import org.factorbird.ps.Hashing;

/**
 * Maps 64-bit column ids to dense indices 0, 1, 2, ... in order of first sight: the distinct columns of a batch.
 * Open addressing over primitive arrays; {@link #clear()} is O(1) (a generation stamp), so one instance serves
 * every batch without allocation once it has grown to the largest batch.
 */
public final class LongIntMap {

    private long[] keys;
    private int[] values;
    private int[] stamps;
    private int stamp = 1;
    private int mask;
    private int size;
    private long[] order; // keys by index

    public LongIntMap(int expected) {
        int cap = Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1;
        keys = new long[cap];
        values = new int[cap];
        stamps = new int[cap];
        mask = cap - 1;
        order = new long[Math.max(16, expected)];
    }

    public void clear() {
        size = 0;
        if (++stamp == Integer.MAX_VALUE) {
            java.util.Arrays.fill(stamps, 0);
            stamp = 1;
        }
    }

    public int size() {
        return size;
    }

    /** Keys in index order: {@code keys()[i]} is the key of index i, for i < size(). */
    public long[] keys() {
        return order;
    }

    /** The index of {@code key}, or -1 when it is not in the map. */
    public int find(long key) {
        int slot = (int) Hashing.mix64(key) & mask;
        while (stamps[slot] == stamp) {
            if (keys[slot] == key) {
                return values[slot];
            }
            slot = (slot + 1) & mask;
        }
        return -1;
    }

    /** The index of {@code key}, adding it with the next index if new. */
    public int indexOf(long key) {
        int slot = (int) Hashing.mix64(key) & mask;
        while (stamps[slot] == stamp) {
            if (keys[slot] == key) {
                return values[slot];
            }
            slot = (slot + 1) & mask;
        }
        if (size * 2 >= keys.length) {
            grow();
            return indexOf(key);
        }
        stamps[slot] = stamp;
        keys[slot] = key;
        values[slot] = size;
        if (size == order.length) {
            order = java.util.Arrays.copyOf(order, size * 2);
        }
        order[size] = key;
        return size++;
    }

    private void grow() {
        int n = size;
        long[] ks = java.util.Arrays.copyOf(order, n);
        int cap = keys.length * 2;
        keys = new long[cap];
        values = new int[cap];
        stamps = new int[cap];
        mask = cap - 1;
        stamp = 1;
        size = 0;
        for (int i = 0; i < n; i++) {
            indexOf(ks[i]);
        }
    }
}
