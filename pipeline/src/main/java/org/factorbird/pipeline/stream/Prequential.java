package org.factorbird.pipeline.stream;

/**
 * Prequential ("predict, then train") error of a stream: every rating's error before its own SGD step, over a
 * sliding window of the last {@code size} ratings (a ring buffer; the sums are kept exact by subtracting what
 * leaves) and over everything since the start.
 */
final class Prequential {

    private final float[] errors;
    private int next;
    private int count;
    private double windowSq;
    private double windowAbs;
    private long total;
    private double totalSq;
    private double totalAbs;

    Prequential(int size) {
        if (size < 1) {
            throw new IllegalArgumentException("the window must hold >= 1 rating but was " + size);
        }
        this.errors = new float[size];
    }

    /** Records the error {@code e = r - prediction} of one rating. */
    void add(float e) {
        if (count == errors.length) {
            float old = errors[next];
            windowSq -= (double) old * old;
            windowAbs -= Math.abs(old);
        } else {
            count++;
        }
        errors[next] = e;
        next = next + 1 == errors.length ? 0 : next + 1;
        windowSq += (double) e * e;
        windowAbs += Math.abs(e);
        total++;
        totalSq += (double) e * e;
        totalAbs += Math.abs(e);
    }

    /** Adds totals restored from a checkpoint (the window starts empty). */
    void restoreTotals(long n, double squares, double absolutes) {
        total += n;
        totalSq += squares;
        totalAbs += absolutes;
    }

    int windowCount() {
        return count;
    }

    /** Sum of squared errors in the window (never below 0 after rounding). */
    double windowSquares() {
        return Math.max(0, windowSq);
    }

    double windowAbsolutes() {
        return Math.max(0, windowAbs);
    }

    long total() {
        return total;
    }

    double totalSquares() {
        return totalSq;
    }

    double totalAbsolutes() {
        return totalAbs;
    }
}
