package org.factorbird.pipeline.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

class ChunkOperatorTest {

    @Test
    void aRowGoesToTheSubtaskFlinksKeyByWouldSendIt() {
        for (int p : new int[] {1, 2, 3, 7, 64}) {
            int max = KeyGroupRangeAssignment.computeDefaultMaxParallelism(p);
            for (long row = -5000; row < 5000; row += 7) {
                long key = row * 0x9E3779B97F4A7C15L;
                assertEquals(KeyGroupRangeAssignment.assignKeyToParallelOperator(key, max, p),
                        ChunkOperator.subtaskOf(key, p, max), "row " + key + ", parallelism " + p);
            }
        }
    }

    @Test
    void recordsLeaveInFullChunksPerSubtaskAndTheRestAtTheEnd() throws Exception {
        int p = 3;
        int max = KeyGroupRangeAssignment.computeDefaultMaxParallelism(p);
        int n = 5000;
        try (OneInputStreamOperatorTestHarness<Rating, RatingChunk> h =
                new OneInputStreamOperatorTestHarness<>(new ChunkOperator(p, max))) {
            h.open();
            for (int i = 0; i < n; i++) {
                h.processElement(new StreamRecord<>(new Rating(i, 10_000 + i, i % 5, 1f, Rating.TRAIN)));
            }
            h.processElement(new StreamRecord<>(Rating.bad("f.csv:9: no rating")));
            int beforeEnd = h.extractOutputValues().size();
            h.endInput();
            List<RatingChunk> chunks = h.extractOutputValues();
            assertEquals(beforeEnd + p, chunks.size(), "one partial chunk per subtask at the end");
            long[] seen = new long[n];
            int bad = 0;
            for (int k = 0; k < chunks.size(); k++) {
                RatingChunk c = chunks.get(k);
                assertTrue(k >= beforeEnd || c.size == RatingChunk.CAPACITY, "chunk " + k + " left full");
                int subtask = ChunkOperator.subtaskOf(c.key, p, max);
                assertEquals(c.rows[0], c.key);
                for (int i = 0; i < c.size; i++) {
                    assertEquals(subtask, ChunkOperator.subtaskOf(c.rows[i], p, max));
                    if (c.kinds[i] == Rating.BAD) {
                        assertEquals("f.csv:9: no rating", c.notes[i]);
                        bad++;
                    } else {
                        assertEquals(10_000 + c.rows[i], c.cols[i]);
                        assertEquals(c.rows[i] % 5, c.values[i], 0f);
                        seen[(int) c.rows[i]]++;
                    }
                }
            }
            assertEquals(1, bad);
            for (int i = 0; i < n; i++) {
                assertEquals(1, seen[i], "rating of row " + i);
            }
        }
    }
}
