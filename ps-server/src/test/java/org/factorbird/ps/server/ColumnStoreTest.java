package org.factorbird.ps.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.FloatBuffer;

import org.factorbird.ps.Hashing;
import org.factorbird.ps.Ranges;
import org.factorbird.ps.TableSpec;
import org.junit.jupiter.api.Test;

class ColumnStoreTest {

    private static final TableSpec SPEC = TableSpec.single(4, 1, 1L, 99L, 0.1f);

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
        store.add(3, FloatBuffer.wrap(new float[] {0.5f, -1.25f}), 0);
        store.add(3, FloatBuffer.wrap(new float[] {9f, 0.5f, 0.25f}), 1);
        float[] out = new float[2];
        store.get(3, out, 0);
        assertArrayEquals(new float[] {1.0f, -1.0f}, out);
    }

    @Test
    void rangesAddSetAndReadOnlyTheirFloats() {
        ColumnStore store = new ColumnStore(TableSpec.single(5, 5, 1L, 0L, 0f)); // 5 floats per key, all 0
        Ranges r = Ranges.of(new int[] {1, 4}, new int[] {2, 1});
        store.add(8, FloatBuffer.wrap(new float[] {7f, 1f, 2f, 3f}), 1, r);
        float[] out = new float[5];
        store.get(8, out, 0);
        assertArrayEquals(new float[] {0f, 1f, 2f, 0f, 3f}, out);
        store.set(8, FloatBuffer.wrap(new float[] {-1f, -2f, -3f}), 0, r);
        store.get(8, out, 0);
        assertArrayEquals(new float[] {0f, -1f, -2f, 0f, -3f}, out);
        FloatBuffer read = FloatBuffer.allocate(4);
        store.read(8, true, read, 1, r);
        assertArrayEquals(new float[] {0f, -1f, -2f, -3f}, read.array());
    }

    @Test
    void growingKeepsEveryValueAndOrderDoesNotMatter() {
        ColumnStore forward = new ColumnStore(SPEC);
        ColumnStore backward = new ColumnStore(SPEC);
        int n = 50_000;
        for (int i = 0; i < n; i++) {
            forward.add(i * 7919L, FloatBuffer.wrap(new float[] {i, 0, 0, 1}), 0);
        }
        for (int i = n - 1; i >= 0; i--) {
            backward.add(i * 7919L, FloatBuffer.wrap(new float[] {i, 0, 0, 1}), 0);
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
        store.set(8, FloatBuffer.wrap(new float[] {7f, 1.5f, -2f}), 1);
        FloatBuffer out = FloatBuffer.allocate(6);
        store.read(8, false, out, 0);
        store.read(9, true, out, 2); // unknown, read-only: not created, zeros stay
        store.read(10, false, out, 4); // unknown: created with its initial values (0 here)
        assertArrayEquals(new float[] {1.5f, -2f, 0f, 0f, 0f, 0f}, out.array());
        assertEquals(2, store.size());
        assertTrue(store.find(9) < 0);
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
