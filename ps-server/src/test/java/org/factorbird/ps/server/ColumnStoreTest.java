package org.factorbird.ps.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.factorbird.ps.Hashing;
import org.factorbird.ps.Ranges;
import org.factorbird.ps.TableSpec;
import org.junit.jupiter.api.Test;

class ColumnStoreTest {

    private static final TableSpec SPEC = TableSpec.single(4, 1, 1L, 99L, 0.1f);

    /** A PUSH of one key: adds {@code v} to {@code ranges} of its values. */
    private static void add(ColumnStore store, long key, Ranges ranges, float... v) {
        store.apply(new long[] {key}, 1, v, ranges, false, new int[1]);
    }

    /** A SET of one key. */
    private static void set(ColumnStore store, long key, Ranges ranges, float... v) {
        store.apply(new long[] {key}, 1, v, ranges, true, new int[1]);
    }

    @Test
    void createdKeysStartAtTheirDeterministicValues() {
        ColumnStore store = new ColumnStore(SPEC);
        float[] out = new float[4];
        assertFalse(store.get(5, out, 0));
        assertArrayEquals(new float[4], out);
        store.findOrCreate(5);
        store.get(5, out, 0);
        float[] expect = new float[4];
        SPEC.init(5, expect, 0);
        assertArrayEquals(expect, out);
        assertEquals(0f, out[0]);
    }

    @Test
    void addAccumulatesExactly() {
        ColumnStore store = new ColumnStore(TableSpec.single(2, 2, 1L, 0L, 0f));
        add(store, 3, Ranges.ALL, 0.5f, -1.25f);
        add(store, 3, Ranges.ALL, 0.5f, 0.25f);
        float[] out = new float[2];
        store.get(3, out, 0);
        assertArrayEquals(new float[] {1.0f, -1.0f}, out);
    }

    @Test
    void rangesAddSetAndReadOnlyTheirFloats() {
        ColumnStore store = new ColumnStore(TableSpec.single(5, 5, 1L, 0L, 0f)); // 5 floats per key, all 0
        Ranges r = Ranges.of(new int[] {1, 4}, new int[] {2, 1});
        add(store, 8, r, 1f, 2f, 3f);
        float[] out = new float[5];
        store.get(8, out, 0);
        assertArrayEquals(new float[] {0f, 1f, 2f, 0f, 3f}, out);
        set(store, 8, r, -1f, -2f, -3f);
        store.get(8, out, 0);
        assertArrayEquals(new float[] {0f, -1f, -2f, 0f, -3f}, out);
        float[] read = new float[3];
        store.read(new long[] {8}, 1, true, read, r, new int[1]);
        assertArrayEquals(new float[] {-1f, -2f, -3f}, read);
    }

    @Test
    void growingKeepsEveryValueAndOrderDoesNotMatter() {
        ColumnStore forward = new ColumnStore(SPEC);
        ColumnStore backward = new ColumnStore(SPEC);
        int n = 50_000;
        // forward: one PUSH of every key, so the table grows (six times) in the middle of one request
        long[] keys = new long[n];
        float[] deltas = new float[4 * n];
        for (int i = 0; i < n; i++) {
            keys[i] = i * 7919L;
            deltas[4 * i] = i;
            deltas[4 * i + 3] = 1;
        }
        forward.apply(keys, n, deltas, Ranges.ALL, false, new int[n]);
        for (int i = n - 1; i >= 0; i--) {
            add(backward, i * 7919L, Ranges.ALL, i, 0, 0, 1);
        }
        assertEquals(n, forward.size());
        assertTrue(forward.capacity() >= n / 0.7);
        float[] a = new float[4];
        float[] b = new float[4];
        for (int i = 0; i < n; i++) {
            forward.get(i * 7919L, a, 0);
            backward.get(i * 7919L, b, 0);
            assertArrayEquals(a, b);
            assertEquals(i, a[0]);
        }
    }

    @Test
    void segmentsStartWithTheirOwnZerosAndDraws() {
        TableSpec two = new TableSpec(1L, 99L, java.util.List.of(new TableSpec.Segment(4, 1, 4, 0.1f),
                new TableSpec.Segment(6, 1, 3, 0.5f)));
        ColumnStore store = new ColumnStore(two);
        float[] out = new float[10];
        store.findOrCreate(5);
        store.get(5, out, 0);
        float[] first = new float[4];
        SPEC.init(5, first, 0); // the same seed and layout as the first segment
        assertArrayEquals(first, java.util.Arrays.copyOf(out, 4));
        assertEquals(0f, out[4]);
        assertEquals((float) (0.5 * Hashing.gaussian(99L, 5, 1)), out[5]);
        assertEquals((float) (0.5 * Hashing.gaussian(99L, 5, 2)), out[6]);
        assertArrayEquals(new float[3], java.util.Arrays.copyOfRange(out, 7, 10));
    }

    @Test
    void reservedKeyIsRefused() {
        ColumnStore store = new ColumnStore(SPEC);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> store.findOrCreate(ColumnStore.EMPTY));
        assertEquals("key -9223372036854775808 is reserved", e.getMessage());
    }

    @Test
    void setOverwritesAndReadCopiesOrLeavesZerosForUnknownKeysWhenReadOnly() {
        ColumnStore store = new ColumnStore(TableSpec.single(2, 2, 1L, 0L, 0f));
        set(store, 8, Ranges.ALL, 1.5f, -2f);
        float[] out = {5f, 5f, 5f, 5f};
        store.read(new long[] {8, 9}, 2, true, out, Ranges.ALL, new int[2]); // 9 unknown, read-only: zeros
        assertArrayEquals(new float[] {1.5f, -2f, 0f, 0f}, out);
        assertTrue(store.find(9) < 0, "a read-only pull creates nothing");
        out = new float[] {5f, 5f, 5f, 5f};
        store.read(new long[] {10, 8}, 2, false, out, Ranges.ALL, new int[2]); // 10: created, initial values (0)
        assertArrayEquals(new float[] {0f, 0f, 1.5f, -2f}, out);
        assertEquals(2, store.size());
    }

    @Test
    void scanPagesVisitEachKeyOfASliceOnce() {
        ColumnStore store = new ColumnStore(SPEC);
        for (long k = 0; k < 5000; k++) {
            store.findOrCreate(k);
        }
        int slices = 3;
        long[] seen = new long[slices];
        java.util.Set<Long> keys = new java.util.HashSet<>();
        for (int slice = 0; slice < slices; slice++) {
            long cursor = 0;
            while (cursor >= 0) {
                ColumnStore.ScanPage page = store.scan(slice, slices, cursor, 700);
                assertTrue(page.count() <= 700);
                for (int i = 0; i < page.count(); i++) {
                    long key = store.keyAt(page.slots()[i]);
                    assertEquals(slice, Hashing.sliceOf(key, slices));
                    assertTrue(keys.add(key), "key " + key + " twice");
                    seen[slice]++;
                }
                cursor = page.nextCursor();
            }
        }
        assertEquals(5000, keys.size());
        for (int slice = 0; slice < slices; slice++) {
            assertTrue(seen[slice] > 1400, "slice " + slice + ": " + seen[slice]);
        }
    }
}
