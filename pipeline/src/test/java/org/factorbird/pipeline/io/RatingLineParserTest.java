package org.factorbird.pipeline.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RatingLineParserTest {

    private static boolean parse(RatingLineParser p, String line) {
        byte[] b = line.getBytes(StandardCharsets.UTF_8);
        return p.parse(b, 0, b.length);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "1,2,3.5|1|2|3.5",
        "1\t2\t4|1|2|4.0",
        "  17   42   -0.25  |17|42|-0.25",
        "1,2,3.5,964982703|1|2|3.5",
        "1,2,3.5\r|1|2|3.5",
        "9223372036854775807,0,1e-3|9223372036854775807|0|0.001",
        "5, 6, +2.125|5|6|2.125",
        "3;4;1.0|3|4|1.0",
        "0 0 123456.789|0|0|123456.79",
    })
    void parsesGoodLines(String line, long row, long col, float value) {
        RatingLineParser p = new RatingLineParser();
        assertTrue(parse(p, line), () -> p.error());
        assertEquals(row, p.row);
        assertEquals(col, p.col);
        assertEquals(value, p.value, Math.ulp(value));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "userId,movieId,rating|row id 'userId' is not a non-negative integer (string ids need --ids string)",
        "-1,2,3|row id '-1' is not a non-negative integer",
        "1,x2,3|column id 'x2' is not a non-negative integer (string ids need --ids string)",
        "99999999999999999999,1,1|row id '99999999999999999999' is larger than 2^63-1",
        "1,2|expected 3 fields (row, column, value) but the line ends early",
        "1,2,|expected 3 fields (row, column, value) but the line ends early",
        "1,2,NaN|rating value 'NaN' is not finite",
        "1,2,Infinity|rating value 'Infinity' is not finite",
        "1,2,1e39|rating value '1e39' is not finite",
        "1,2,abc|rating value 'abc' is not a number",
        "'   '|empty line",
        ",1,2|missing row id",
    })
    void rejectsBadLinesWithAReason(String line, String reason) {
        RatingLineParser p = new RatingLineParser();
        assertFalse(parse(p, line));
        assertEquals(reason, p.error());
    }

    @Test
    void stringIdsAreHashedAndTheirBytesLocated() {
        RatingLineParser p = new RatingLineParser(0, true);
        String line = "  u123, item-7 ;4.5,964982703";
        assertTrue(parse(p, line), () -> p.error());
        assertEquals(StringIds.key("u123"), p.row);
        assertEquals(StringIds.key("item-7"), p.col);
        assertEquals(4.5f, p.value);
        assertEquals("u123", line.substring(p.rowFrom, p.rowTo));
        assertEquals("item-7", line.substring(p.colFrom, p.colTo));
        assertTrue(parse(p, "42,42,1"), () -> p.error()); // digits are text too
        assertEquals(StringIds.key("42"), p.row);
        assertFalse(parse(p, "u1,,3"));
        assertEquals("missing column id", p.error());
        assertFalse(parse(p, "u1,i1,x"));
        assertEquals("rating value 'x' is not a number", p.error());

        RatingLineParser numeric = new RatingLineParser();
        assertFalse(parse(numeric, "u123,5,1"));
        assertEquals("row id 'u123' is not a non-negative integer (string ids need --ids string)", numeric.error());
    }
}
