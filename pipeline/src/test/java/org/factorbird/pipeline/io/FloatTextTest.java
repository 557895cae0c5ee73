package org.factorbird.pipeline.io;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

class FloatTextTest {

    private static String text(float v) {
        return FloatText.append(new StringBuilder(), v).toString();
    }

    @Test
    void everyFloatReadsBackExactly() {
        SplittableRandom r = new SplittableRandom(5);
        for (int i = 0; i < 1_000_000; i++) {
            float v = Float.intBitsToFloat(r.nextInt());
            if (Float.isNaN(v)) {
                continue;
            }
            String s = text(v);
            assertEquals(Float.floatToIntBits(v), Float.floatToIntBits(Float.parseFloat(s)), s);
        }
    }

    @Test
    void theNotationIsTheJdks() {
        for (float v : new float[] {0f, -0f, 1f, 0.5f, -2.25f, 1.0E-5f, 1.0E7f, 9999999f, 0.001f, 1.5E-45f,
                Float.MAX_VALUE, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN}) {
            assertEquals(Float.toString(v), text(v));
        }
        assertEquals("2.0E-4", text(0.0002f));
        assertEquals("1.0E7", text(1.0E7f));
        assertEquals("-0.123", text(-0.123f));
    }
}
