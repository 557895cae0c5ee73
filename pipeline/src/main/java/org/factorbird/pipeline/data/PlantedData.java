package org.factorbird.pipeline.data;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Locale;

import org.factorbird.pipeline.model.Json;
import org.factorbird.ps.Hashing;

/**
 * Writes a planted low-rank rating set whose best achievable RMSE is known: r_ij = mu + b_i + b_j + u_i . v_j +
 * noise, noise ~ N(0, sigma^2), so a perfect model's held-out RMSE is sigma. Biases ~ N(0, 0.5^2); factors ~
 * N(0, 1/sqrt(k)) so that u_i . v_j has unit variance whatever the rank.
 *
 * <p>Degrees are skewed like real data: row activity and column popularity follow Zipf-like weights
 * {@code rank^-skew} over a seeded permutation of the ids (skew 0 is uniform); a row never rates a column twice
 * and rates at most half of the columns. Each rating goes to the held-out set with probability
 * {@code testFraction} by a hash of (seed, row, col). Output: {@code DIR/train/part-NNNNN.csv},
 * {@code DIR/test/part-NNNNN.csv} (header {@code row,col,rating}) and {@code DIR/planted.json}.
 */
public final class PlantedData {

    public static final float MU = 3.0f;

    public final int rows;
    public final int cols;
    public final long ratings;
    public final int rank;
    public final double sigma;
    public final double skew;
    public final double testFraction;
    public final long seed;
    public final int files;

    public long trainWritten;
    public long testWritten;
    /** RMSE of the true model on the held-out ratings: the noise floor actually drawn. */
    public double oracleTestRmse;

    public PlantedData(int rows, int cols, long ratings, int rank, double sigma, double skew, double testFraction,
            long seed, int files) {
        check(rows >= 1, "rows must be >= 1 but was " + rows);
        check(cols >= 2, "cols must be >= 2 but was " + cols);
        check(ratings >= rows, "ratings must be >= rows (" + rows + ") but was " + ratings);
        check(ratings <= (long) rows * (cols / 2), "ratings must be <= rows * cols / 2 = " + (long) rows * (cols / 2)
                + " but was " + ratings);
        check(rank >= 1, "rank must be >= 1 but was " + rank);
        check(sigma >= 0 && Double.isFinite(sigma), "noise must be finite and >= 0 but was " + sigma);
        check(skew >= 0 && skew <= 3, "skew must be in [0, 3] but was " + skew);
        check(testFraction >= 0 && testFraction < 1, "test-fraction must be in [0, 1) but was " + testFraction);
        check(files >= 1, "files must be >= 1 but was " + files);
        this.rows = rows;
        this.cols = cols;
        this.ratings = ratings;
        this.rank = rank;
        this.sigma = sigma;
        this.skew = skew;
        this.testFraction = testFraction;
        this.seed = seed;
        this.files = files;
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** Writes the data set under {@code dir} (created if needed). */
    public void write(java.nio.file.Path dir) throws IOException {
        Files.createDirectories(dir.resolve("train"));
        Files.createDirectories(dir.resolve("test"));
        float[] rowParams = params(rows, seed ^ 0x1111);
        float[] colParams = params(cols, seed ^ 0x2222);
        int[] degree = degrees();
        double[] colCdf = columnCdf();
        int[] used = new int[cols];
        int dim = rank + 1;
        double oracleSq = 0;
        int rowsPerFile = (rows + files - 1) / files;
        long noiseState = Hashing.mix64(seed ^ 0x3333);
        long pickState = Hashing.mix64(seed ^ 0x4444);
        byte[] line = new byte[64];
        for (int f = 0; f < files; f++) {
            String name = String.format(Locale.ROOT, "part-%05d.csv", f);
            try (OutputStream train = new BufferedOutputStream(Files.newOutputStream(dir.resolve("train").resolve(name)), 1 << 16);
                    OutputStream test = new BufferedOutputStream(Files.newOutputStream(dir.resolve("test").resolve(name)), 1 << 16)) {
                byte[] header = "row,col,rating\n".getBytes(StandardCharsets.US_ASCII);
                train.write(header);
                test.write(header);
                for (int i = f * rowsPerFile; i < Math.min(rows, (f + 1) * rowsPerFile); i++) {
                    for (int t = 0; t < degree[i]; t++) {
                        int j;
                        do {
                            pickState += 0x9E3779B97F4A7C15L;
                            j = pick(colCdf, Hashing.unit(Hashing.mix64(pickState)));
                        } while (used[j] == i + 1);
                        used[j] = i + 1;
                        float truth = MU + rowParams[i * dim] + colParams[j * dim];
                        for (int q = 1; q < dim; q++) {
                            truth += rowParams[i * dim + q] * colParams[j * dim + q];
                        }
                        noiseState += 0x9E3779B97F4A7C15L;
                        double noise = sigma * Hashing.gaussian(seed, noiseState, 7);
                        float value = (float) (truth + noise);
                        boolean isTest = Hashing.unit(Hashing.mix64(seed ^ Hashing.mix64(i * 0x100000001L + j)))
                                < testFraction;
                        int len = format(line, i, j, value);
                        if (isTest) {
                            test.write(line, 0, len);
                            testWritten++;
                            double e = value - truth;
                            oracleSq += e * e;
                        } else {
                            train.write(line, 0, len);
                            trainWritten++;
                        }
                    }
                }
            }
        }
        oracleTestRmse = testWritten == 0 ? Double.NaN : Math.sqrt(oracleSq / testWritten);
        Files.writeString(dir.resolve("planted.json"), Json.write(new Manifest(rows, cols, ratings, rank, sigma, skew,
                testFraction, seed, trainWritten, testWritten, Json.round(oracleTestRmse, 6))));
    }

    /**
     * {@code DIR/planted.json}: how the set was made and its noise floor.
     *
     * @param oracleTestRmse held-out RMSE of the planted model itself (the noise floor actually drawn)
     */
    public record Manifest(int rows, int cols, long ratings, int rank, double noise, double skew, double testFraction,
            long seed, long trainRatings, long testRatings, Double oracleTestRmse) {}

    private float[] params(int n, long s) {
        int dim = rank + 1;
        float[] p = new float[n * dim];
        double factorStd = Math.pow(rank, -0.25);
        for (int i = 0; i < n; i++) {
            p[i * dim] = (float) (0.5 * Hashing.gaussian(s, i, 0));
            for (int q = 1; q < dim; q++) {
                p[i * dim + q] = (float) (factorStd * Hashing.gaussian(s, i, q));
            }
        }
        return p;
    }

    /** Zipf-like weights over a seeded permutation of 0..n-1. */
    private double[] weights(int n, long s) {
        int[] perm = new int[n];
        for (int i = 0; i < n; i++) {
            perm[i] = i;
        }
        long st = s;
        for (int i = n - 1; i > 0; i--) {
            st += 0x9E3779B97F4A7C15L;
            int k = (int) Long.remainderUnsigned(Hashing.mix64(st), i + 1);
            int t = perm[i];
            perm[i] = perm[k];
            perm[k] = t;
        }
        double[] w = new double[n];
        for (int i = 0; i < n; i++) {
            w[perm[i]] = Math.pow(i + 1, -skew);
        }
        return w;
    }

    /** Row degrees summing to {@code ratings}, each in [1, cols / 2], proportional to the weights elsewhere. */
    int[] degrees() {
        double[] w = weights(rows, seed ^ 0x5555);
        int cap = cols / 2;
        int[] d = new int[rows];
        boolean[] capped = new boolean[rows];
        long budget = ratings;
        // water-filling: rows whose share exceeds the cap get the cap; the rest share what is left
        while (true) {
            double total = 0;
            for (int i = 0; i < rows; i++) {
                if (!capped[i]) {
                    total += w[i];
                }
            }
            boolean changed = false;
            for (int i = 0; i < rows; i++) {
                if (!capped[i] && budget * w[i] / total > cap) {
                    capped[i] = true;
                    d[i] = cap;
                    budget -= cap;
                    changed = true;
                }
            }
            if (!changed) {
                long assigned = 0;
                double carry = 0;
                for (int i = 0; i < rows; i++) {
                    if (!capped[i]) {
                        double share = budget * w[i] / total + carry;
                        d[i] = (int) Math.max(1, Math.min(cap, Math.floor(share)));
                        carry = share - d[i];
                        assigned += d[i];
                    }
                }
                return d;
            }
        }
    }

    private double[] columnCdf() {
        double[] w = weights(cols, seed ^ 0x6666);
        double[] cdf = new double[cols];
        double acc = 0;
        for (int j = 0; j < cols; j++) {
            acc += w[j];
            cdf[j] = acc;
        }
        for (int j = 0; j < cols; j++) {
            cdf[j] /= acc;
        }
        return cdf;
    }

    private static int pick(double[] cdf, double u) {
        int lo = 0;
        int hi = cdf.length - 1;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (cdf[mid] < u) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** "row,col,value\n" with the value to 4 decimals, ASCII, no allocation. */
    static int format(byte[] out, long row, long col, float value) {
        int p = writeLong(out, 0, row);
        out[p++] = ',';
        p = writeLong(out, p, col);
        out[p++] = ',';
        long scaled = Math.round(value * 10000.0);
        if (scaled < 0) {
            out[p++] = '-';
            scaled = -scaled;
        }
        p = writeLong(out, p, scaled / 10000);
        out[p++] = '.';
        long frac = scaled % 10000;
        out[p++] = (byte) ('0' + frac / 1000);
        out[p++] = (byte) ('0' + frac / 100 % 10);
        out[p++] = (byte) ('0' + frac / 10 % 10);
        out[p++] = (byte) ('0' + frac % 10);
        out[p++] = '\n';
        return p;
    }

    private static int writeLong(byte[] out, int p, long v) {
        if (v == 0) {
            out[p] = '0';
            return p + 1;
        }
        int start = p;
        while (v > 0) {
            out[p++] = (byte) ('0' + v % 10);
            v /= 10;
        }
        for (int a = start, b = p - 1; a < b; a++, b--) {
            byte t = out[a];
            out[a] = out[b];
            out[b] = t;
        }
        return p;
    }
}
