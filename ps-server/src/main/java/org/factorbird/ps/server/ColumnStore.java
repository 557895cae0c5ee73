package org.factorbird.ps.server;

import java.nio.FloatBuffer;

import org.factorbird.ps.Hashing;
import org.factorbird.ps.Ranges;
import org.factorbird.ps.TableSpec;

/**
 * One shard's parameters: an open-addressing hash table from 64-bit key to {@code dim} floats, stored in two
 * primitive arrays (keys, and values at {@code slot * dim}); no object per entry. Linear probing, grown at 70%
 * load. Unknown keys are created on first use with {@link TableSpec#init} values, so the stored numbers do
 * not depend on the order in which keys arrive.
 *
 * <p>Not thread-safe: the server touches it from its single event-loop thread only. Hogwild! races happen between
 * workers (stale pulls, deltas summed against old copies), not inside the store.
 */
public final class ColumnStore {

    /** Marks a free slot; the one key the store cannot hold. */
    public static final long EMPTY = org.factorbird.ps.protocol.Requests.RESERVED_KEY;
    private static final int MIN_CAPACITY = 1024;

    private final TableSpec spec;
    private final int dim;
    private long[] keys;
    private float[] values;
    private int mask;
    private int size;
    private int growAt;

    public ColumnStore(TableSpec spec) {
        this(spec, MIN_CAPACITY);
    }

    public ColumnStore(TableSpec spec, int expectedKeys) {
        if (expectedKeys < 0) {
            throw new IllegalArgumentException("expectedKeys must be >= 0 but was " + expectedKeys);
        }
        this.spec = spec;
        this.dim = spec.dim();
        allocate(Math.max(MIN_CAPACITY, Integer.highestOneBit(Math.max(1, (int) (expectedKeys / 0.7))) << 1));
    }

    private void allocate(int capacity) {
        if ((long) capacity * dim > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("shard is full: " + capacity + " slots x dim " + dim
                    + " exceed one Java array; use more PS shards");
        }
        keys = new long[capacity];
        java.util.Arrays.fill(keys, EMPTY);
        values = new float[capacity * dim];
        mask = capacity - 1;
        growAt = (int) (capacity * 0.7);
    }

    public TableSpec spec() {
        return spec;
    }

    public int dim() {
        return dim;
    }

    public int size() {
        return size;
    }

    public int capacity() {
        return keys.length;
    }

    /** The backing value array; a key's values start at {@code slot * dim}. */
    public float[] values() {
        return values;
    }

    /** The slot of {@code key}, or -1 if absent. */
    public int find(long key) {
        int slot = (int) Hashing.mix64(key) & mask;
        while (true) {
            long k = keys[slot];
            if (k == key) {
                return slot;
            }
            if (k == EMPTY) {
                return -1;
            }
            slot = (slot + 1) & mask;
        }
    }

    /** The slot of {@code key}, creating it with its initial values if absent. */
    public int findOrCreate(long key) {
        if (key == EMPTY) {
            throw new IllegalArgumentException("key " + EMPTY + " is reserved");
        }
        int slot = (int) Hashing.mix64(key) & mask;
        while (true) {
            long k = keys[slot];
            if (k == key) {
                return slot;
            }
            if (k == EMPTY) {
                break;
            }
            slot = (slot + 1) & mask;
        }
        if (size >= growAt) {
            grow();
            return findOrCreate(key);
        }
        keys[slot] = key;
        size++;
        spec.init(key, values, slot * dim);
        return slot;
    }

    /** Adds {@code deltas[from..from+dim)} to the values of {@code key} (created first if absent): a PUSH. */
    public void add(long key, FloatBuffer deltas, int from) {
        add(key, deltas, from, Ranges.ALL);
    }

    /** Adds {@code deltas[from..)} to {@code ranges} of the values of {@code key} (created first if absent). */
    public void add(long key, FloatBuffer deltas, int from, Ranges ranges) {
        int off = findOrCreate(key) * dim;
        float[] v = values; // after findOrCreate: it may have grown the table
        if (ranges.isAll()) {
            for (int j = 0; j < dim; j++) {
                v[off + j] += deltas.get(from + j);
            }
            return;
        }
        int at = from;
        for (int r = 0; r < ranges.count(); r++) {
            int o = off + ranges.from(r);
            for (int j = 0, len = ranges.length(r); j < len; j++) {
                v[o + j] += deltas.get(at++);
            }
        }
    }

    /** Overwrites the values of {@code key} (created first if absent) with {@code src[from..from+dim)}: a SET. */
    public void set(long key, FloatBuffer src, int from) {
        set(key, src, from, Ranges.ALL);
    }

    /** Overwrites {@code ranges} of the values of {@code key} (created first if absent) with {@code src[from..)}. */
    public void set(long key, FloatBuffer src, int from, Ranges ranges) {
        int off = findOrCreate(key) * dim;
        if (ranges.isAll()) {
            src.position(from);
            src.get(values, off, dim);
            return;
        }
        int at = from;
        for (int r = 0; r < ranges.count(); r++) {
            src.position(at);
            src.get(values, off + ranges.from(r), ranges.length(r));
            at += ranges.length(r);
        }
    }

    /**
     * Copies the values of {@code key} to {@code out} at its position {@code at}; an absent key is created first
     * (a training pull) or, when {@code readOnly}, left out, so {@code out} keeps its zeros there.
     */
    public void read(long key, boolean readOnly, FloatBuffer out, int at) {
        read(key, readOnly, out, at, Ranges.ALL);
    }

    /** Like {@link #read(long, boolean, FloatBuffer, int)}, for {@code ranges} of the values, back to back. */
    public void read(long key, boolean readOnly, FloatBuffer out, int at, Ranges ranges) {
        int slot = readOnly ? find(key) : findOrCreate(key);
        if (slot < 0) {
            return;
        }
        out.position(at);
        if (ranges.isAll()) {
            out.put(values, slot * dim, dim);
            return;
        }
        for (int r = 0; r < ranges.count(); r++) {
            out.put(values, slot * dim + ranges.from(r), ranges.length(r));
        }
    }

    /** One page of a {@link #scan}: table slots of the keys found, and where the next page starts. */
    public record ScanPage(int[] slots, int count, long nextCursor) {}

    /**
     * The keys of {@code slice} of {@code slices} ({@link Hashing#sliceOf}) in table slots {@code cursor, ...}, at
     * most {@code limit}; {@code nextCursor} is -1 after the last slot. Slots are stable while nothing is inserted.
     */
    public ScanPage scan(int slice, int slices, long cursor, int limit) {
        int[] slots = new int[Math.min(limit, size)];
        int n = 0;
        long next = cursor;
        while (next < keys.length && n < slots.length) {
            long key = keys[(int) next];
            if (key != EMPTY && Hashing.sliceOf(key, slices) == slice) {
                slots[n++] = (int) next;
            }
            next++;
        }
        return new ScanPage(slots, n, next >= keys.length ? -1 : next);
    }

    /** Copies the values of {@code key} into {@code out[from..from+dim)}: zeros when absent. */
    public boolean get(long key, float[] out, int from) {
        int slot = find(key);
        if (slot < 0) {
            java.util.Arrays.fill(out, from, from + dim, 0f);
            return false;
        }
        System.arraycopy(values, slot * dim, out, from, dim);
        return true;
    }

    /** The key in {@code slot}, or {@link #EMPTY}. Slots are stable while no key is inserted. */
    public long keyAt(int slot) {
        return keys[slot];
    }

    private void grow() {
        long[] oldKeys = keys;
        float[] oldValues = values;
        allocate(oldKeys.length * 2);
        for (int s = 0; s < oldKeys.length; s++) {
            long k = oldKeys[s];
            if (k != EMPTY) {
                int slot = (int) Hashing.mix64(k) & mask;
                while (keys[slot] != EMPTY) {
                    slot = (slot + 1) & mask;
                }
                keys[slot] = k;
                System.arraycopy(oldValues, s * dim, values, slot * dim, dim);
            }
        }
    }
}
