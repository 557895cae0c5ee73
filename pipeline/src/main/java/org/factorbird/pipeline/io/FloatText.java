package org.factorbird.pipeline.io;

import com.fasterxml.jackson.core.io.NumberOutput;

/**
 * Floats as text in the output files (factors, recommendation scores, predictions): the shortest decimal that
 * reads back as the same float, in {@link Float#toString}'s notation, by Jackson's port of Giulietti's Schubfach.
 * JDK 17's own {@code Float.toString} (FloatingDecimal) took 15% of the samples of a 100M-rating run's epochs and
 * output together, 11 floats per row. From JDK 19 the JDK's method is Schubfach too (and JDK 21 appends without a
 * String): there this class could go; the project targets JDK 17.
 */
public final class FloatText {

    private FloatText() {}

    /** Appends {@code v} to {@code sb}. */
    public static StringBuilder append(StringBuilder sb, float v) {
        return sb.append(NumberOutput.toString(v, true));
    }
}
