package org.factorbird.pipeline.recommend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

class TopKTest {

    @Test
    void keepsTheBestKWithTiesToTheSmallerColumnWhateverTheOrder() {
        float[] scores = {0.5f, 2f, 2f, -1f, 3f, 2f, 0.5f};
        long[] cols = {10, 7, 3, 1, 9, 5, 2};
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < scores.length; i++) {
            order.add(i);
        }
        Random random = new Random(1);
        for (int trial = 0; trial < 50; trial++) {
            Collections.shuffle(order, random);
            TopK top = new TopK(2, 4);
            for (int i : order) {
                top.offer(1, scores[i], cols[i]);
            }
            long[] c = new long[4];
            float[] s = new float[4];
            assertEquals(4, top.drain(1, c, s));
            assertArrayEquals(new long[] {9, 3, 5, 7}, c, "order " + order);
            assertArrayEquals(new float[] {3f, 2f, 2f, 2f}, s);
            assertEquals(0, top.size(0), "row 0 saw nothing");
        }
    }

    @Test
    void thresholdIsTheWorstKeptScoreOnceFull() {
        TopK top = new TopK(1, 2);
        assertEquals(Float.NEGATIVE_INFINITY, top.threshold(0));
        top.offer(0, 1f, 1);
        assertEquals(Float.NEGATIVE_INFINITY, top.threshold(0));
        top.offer(0, 5f, 2);
        assertEquals(1f, top.threshold(0));
        top.offer(0, 3f, 3);
        assertEquals(3f, top.threshold(0));
    }
}
