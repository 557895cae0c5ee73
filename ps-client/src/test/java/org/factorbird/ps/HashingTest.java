package org.factorbird.ps;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class HashingTest {

    @Test
    void initialValuesAreDeterministicWithZeroBiases() {
        float[] a = new float[11];
        float[] b = new float[11];
        TableSpec.single(11, 1, 1L, 42, 0.1f).init(123456789L, a, 0);
        TableSpec.single(11, 1, 1L, 42, 0.1f).init(123456789L, b, 0);
        assertArrayEquals(a, b);
        assertEquals(0f, a[0]);
        float[] other = new float[11];
        TableSpec.single(11, 1, 1L, 43, 0.1f).init(123456789L, other, 0);
        assertTrue(a[1] != other[1]);
    }

    @Test
    void gaussianHasUnitMomentsAndShardsAreBalanced() {
        int n = 200_000;
        double sum = 0;
        double sq = 0;
        int[] shards = new int[3];
        for (int i = 0; i < n; i++) {
            double g = Hashing.gaussian(7, i, 1);
            sum += g;
            sq += g * g;
            shards[Hashing.shardOf(i, 3)]++;
        }
        assertEquals(0.0, sum / n, 0.01);
        assertEquals(1.0, sq / n, 0.02);
        for (int s : shards) {
            assertEquals(n / 3.0, s, n * 0.01);
        }
    }

    @Test
    void belowStaysInRangeAndIsUniform() {
        assertEquals(0, Hashing.below(0L, 7));
        assertEquals(6, Hashing.below(-1L, 7)); // the largest hash maps to bound - 1
        assertEquals(3, Hashing.below(0x8000_0000_0000_0000L, 7)); // half of 2^64 -> floor(7 / 2)
        int[] counts = new int[10];
        int n = 1_000_000;
        for (int i = 0; i < n; i++) {
            int b = Hashing.below(Hashing.mix64(i), 10);
            assertTrue(b >= 0 && b < 10, "below(.., 10) = " + b);
            counts[b]++;
        }
        for (int c : counts) {
            assertEquals(n / 10.0, c, n * 0.002);
        }
    }
}
