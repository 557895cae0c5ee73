package org.factorbird.ps.server;

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

    /**
     * The slots of {@code keys[0..n)} into {@code slots[0..n)}: created with their initial values when absent
     * ({@code create}), else -1 for them. Every key is looked up before any value is touched, so the probes, which
     * do not depend on each other, overlap their cache misses; the slots hold together until the next insertion
     * (if an insertion grew the table on the way, the earlier keys are looked up again).
     */
    public void slots(long[] keys, int n, boolean create, int[] slots) {
        int capacity = this.keys.length;
        for (int i = 0; i < n; i++) {
            slots[i] = create ? findOrCreate(keys[i]) : find(keys[i]);
        }
        if (this.keys.length != capacity) {
            for (int i = 0; i < n; i++) {
                slots[i] = find(keys[i]);
            }
        }
    }

    /**
     * A PUSH ({@code set} false: adds) or SET (overwrites) of {@code n} keys: key i's values are
     * {@code values[i * w ..]}, w the width of {@code ranges}; absent keys are created first.
     *
     * @param slots scratch of at least n ints
     */
    public void apply(long[] keys, int n, float[] values, Ranges ranges, boolean set, int[] slots) {
        slots(keys, n, true, slots);
        float[] v = this.values;
        int w = ranges.width(dim);
        for (int i = 0; i < n; i++) {
            int off = slots[i] * dim;
            int at = i * w;
            if (ranges.isAll()) {
                if (set) {
                    System.arraycopy(values, at, v, off, dim);
                } else {
                    for (int j = 0; j < dim; j++) {
                        v[off + j] += values[at + j];
                    }
                }
                continue;
            }
            for (int r = 0; r < ranges.count(); r++) {
                int o = off + ranges.from(r);
                int len = ranges.length(r);
                if (set) {
                    System.arraycopy(values, at, v, o, len);
                } else {
                    for (int j = 0; j < len; j++) {
                        v[o + j] += values[at + j];
                    }
                }
                at += len;
            }
        }
    }

    /**
     * A PULL of {@code n} keys: copies {@code ranges} of each key's values to {@code out[i * w ..]}, w the width
     * of the ranges. An absent key is created first or, when {@code readOnly}, read as zeros.
     *
     * @param slots scratch of at least n ints
     */
    public void read(long[] keys, int n, boolean readOnly, float[] out, Ranges ranges, int[] slots) {
        slots(keys, n, !readOnly, slots);
        int w = ranges.width(dim);
        for (int i = 0; i < n; i++) {
            int at = i * w;
            if (slots[i] < 0) {
                java.util.Arrays.fill(out, at, at + w, 0f);
                continue;
            }
            int off = slots[i] * dim;
            if (ranges.isAll()) {
                System.arraycopy(values, off, out, at, dim);
                continue;
            }
            for (int r = 0; r < ranges.count(); r++) {
                System.arraycopy(values, off + ranges.from(r), out, at, ranges.length(r));
                at += ranges.length(r);
            }
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
