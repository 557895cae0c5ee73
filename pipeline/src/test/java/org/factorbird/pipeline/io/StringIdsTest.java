package org.factorbird.pipeline.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

class StringIdsTest {

    @Test
    void keysAreXxh64OfTheUtf8BytesWithoutTheSignBit() {
        // XXH64 reference values (seed 0) from the xxHash project's test vectors
        assertEquals(0xEF46DB3751D8E999L & Long.MAX_VALUE, StringIds.key(""));
        assertEquals(0x44BC2CF5AD770999L & Long.MAX_VALUE, StringIds.key("abc"));
        byte[] line = "xx,u123,i7".getBytes(StandardCharsets.UTF_8);
        assertEquals(StringIds.key("u123"), StringIds.key(line, 3, 7));
        assertEquals(StringIds.key("ünïcödé"), StringIds.key("ünïcödé".getBytes(StandardCharsets.UTF_8), 0,
                "ünïcödé".getBytes(StandardCharsets.UTF_8).length));
        assertNotEquals(StringIds.key("u1"), StringIds.key("u2"));
        for (String s : new String[] {"", "a", "u123", "0123456789abcdefghijklmnopqrstuvwxyz"}) {
            assertEquals(0L, StringIds.key(s) & Long.MIN_VALUE, s);
        }
    }
}
