package org.factorbird.jobs;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.factorbird.pipeline.data.PlantedData;

/** {@code factorbird generate}: a planted data set with a known noise floor. */
final class Generate {

    private Generate() {}

    static final List<String> FLAGS = List.of("rows", "cols", "ratings", "rank", "noise", "skew", "output",
            "test-fraction", "seed", "files");

    static final String HELP = String.join("\n",
            "usage: factorbird generate --output DIR [options]",
            "  --rows R            rows (users) [default: 2000]",
            "  --cols C            columns (items) [default: 1000]",
            "  --ratings N         ratings in all, train + held-out [default: 600000]",
            "  --rank K            rank of the planted factors [default: 8]",
            "  --noise SIGMA       std of the Gaussian noise: the best reachable RMSE [default: 0.3]",
            "  --skew S            Zipf exponent of row activity and column popularity, 0 = uniform [default: 0]",
            "  --test-fraction F   share of ratings held out [default: 0.1]",
            "  --seed S            seed [default: 7]",
            "  --files N           part files per set, read in parallel [default: 1]",
            "  --output DIR        writes DIR/train/, DIR/test/ and DIR/planted.json (required)");

    static void run(Map<String, String> f, PrintStream out) {
        String dir = f.get("output");
        if (dir == null) {
            throw new Factorbird.CliException("--output is required", 2);
        }
        PlantedData data;
        try {
            data = new PlantedData(intOf(f, "rows", 2000), intOf(f, "cols", 1000), longOf(f, "ratings", 600_000),
                    intOf(f, "rank", 8), doubleOf(f, "noise", 0.3), doubleOf(f, "skew", 0),
                    doubleOf(f, "test-fraction", 0.1), longOf(f, "seed", 7), intOf(f, "files", 1));
        } catch (IllegalArgumentException e) {
            throw new Factorbird.CliException(e.getMessage(), 2);
        }
        try {
            if (Files.exists(Paths.get(dir, "planted.json"))) {
                throw new Factorbird.CliException("--output " + dir + " already holds a data set", 1);
            }
            long t0 = System.nanoTime();
            data.write(Paths.get(dir));
            out.printf(Locale.ROOT, "wrote %,d training and %,d held-out ratings to %s in %.1f s; "
                    + "noise sigma %.4f (held-out RMSE of the true model %.4f)%n", data.trainWritten,
                    data.testWritten, dir, (System.nanoTime() - t0) / 1e9, data.sigma, data.oracleTestRmse);
        } catch (IOException e) {
            throw new Factorbird.CliException("cannot write " + dir + ": " + e.getMessage(), 1);
        }
    }

    private static int intOf(Map<String, String> f, String k, int def) {
        return (int) longOf(f, k, def);
    }

    private static long longOf(Map<String, String> f, String k, long def) {
        String v = f.get(k);
        try {
            return v == null ? def : Long.parseLong(v.replace("_", ""));
        } catch (NumberFormatException e) {
            throw new Factorbird.CliException("--" + k + " must be an integer but was '" + v + "'", 2);
        }
    }

    private static double doubleOf(Map<String, String> f, String k, double def) {
        String v = f.get(k);
        try {
            return v == null ? def : Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new Factorbird.CliException("--" + k + " must be a number but was '" + v + "'", 2);
        }
    }
}
