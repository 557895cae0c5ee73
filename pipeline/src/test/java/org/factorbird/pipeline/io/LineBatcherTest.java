package org.factorbird.pipeline.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;

/** Lines joined per bucket into records of ~64k characters: every line once, in order, per bucket. */
class LineBatcherTest {

    @Test
    void joinsLinesPerBucketAndHandsOnTheRestAtFlush() {
        List<OutLine> out = new ArrayList<>();
        LineBatcher b = new LineBatcher(out::add);
        b.add("rows", "1\t0.5");
        b.add("columns", "7\t0.25");
        b.add("rows", "2\t-1.0");
        assertEquals(0, out.size(), "nothing before a record is full or flushed");
        b.flush();
        assertEquals(2, out.size());
        assertEquals("rows", out.get(0).bucket);
        assertEquals("1\t0.5\n2\t-1.0", out.get(0).line);
        assertEquals("columns", out.get(1).bucket);
        assertEquals("7\t0.25", out.get(1).line);
        b.flush();
        assertEquals(2, out.size(), "an empty bucket hands on nothing");
    }

    @Test
    void aRecordIsHandedOnOnceItReachesItsSizeAndNoLineIsSplit() {
        List<OutLine> out = new ArrayList<>();
        LineBatcher b = new LineBatcher(out::add);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            String line = i + "\t" + (i * 0.5f) + "\t" + (-i * 0.25f);
            lines.add(line);
            b.add("rows", line);
        }
        int before = out.size();
        b.flush();
        assertEquals(before + 1, out.size(), "the rest in one record");
        List<String> back = new ArrayList<>();
        for (int r = 0; r < out.size(); r++) {
            String text = out.get(r).line;
            if (r < before) {
                assertTrue(text.length() >= LineBatcher.RECORD_CHARS
                        && text.length() < LineBatcher.RECORD_CHARS + 64, "record " + r + ": " + text.length());
            }
            assertTrue(!text.startsWith("\n") && !text.endsWith("\n"), "record " + r);
            back.addAll(Arrays.asList(text.split("\n")));
        }
        assertEquals(lines, back);
        assertTrue(before >= 5, "records: " + before);
    }
}
