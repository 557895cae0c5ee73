package org.factorbird.pipeline;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

import org.junit.jupiter.api.Assumptions;

/**
 * The shared MovieLens split ({@code ../shared/data/ml-latest-small/train.csv, test.csv}, beside the project). Its
 * licence forbids committing it here; a test that needs it is skipped, with a line saying why and where it looked,
 * when it is absent.
 */
public final class MovieLens {

    private MovieLens() {}

    /** The directory holding train.csv and test.csv; skips the calling test when they are absent. */
    public static Path require() {
        Path ml = Paths.get("..", "..", "shared", "data", "ml-latest-small").toAbsolutePath().normalize();
        boolean present = Files.isRegularFile(ml.resolve("train.csv")) && Files.isRegularFile(ml.resolve("test.csv"));
        if (!present) {
            String why = "SKIPPED: MovieLens ml-latest-small is not at " + ml + " (train.csv and test.csv; see "
                    + "README, 'Data'): the MovieLens checks did not run";
            System.err.println(why);
            Assumptions.abort(why);
        }
        return ml;
    }
}
