package org.factorbird.pipeline.tune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SearchSpaceTest {

    @TempDir
    Path tmp;

    @Test
    void denseStarRatingsGetEveryRankAndScaleFreeRates() {
        SearchSpace s = SearchSpace.derive(new DataProfile(90_000, 600, 9000, 3.5, 1.0, true), 27, Map.of());
        assertEquals(27, s.models);
        assertEquals("8,32,128", s.options.get("rank"));
        assertEquals("0.0500,0.100,0.150", s.options.get("lambda"));
        assertEquals("0.0100,0.0200,0.0400", s.options.get("learning-rate"));
        assertEquals("40", s.options.get("epochs"));
        assertEquals("halving", s.options.get("prune"));
        assertEquals("5", s.options.get("prune-every"));
    }

    @Test
    void ratingsTenTimesLargerScaleLambdaUpAndTheLearningRateDown() {
        SearchSpace s = SearchSpace.derive(new DataProfile(90_000, 600, 9000, 35, 10.0, true), 27, Map.of());
        assertEquals("0.500,1.00,1.50", s.options.get("lambda"));
        assertEquals("0.00100,0.00200,0.00400", s.options.get("learning-rate"));
    }

    @Test
    void sparseRowsCapTheRankAndTheBudgetAndTheUserTrimTheRest() {
        SearchSpace sparse = SearchSpace.derive(new DataProfile(10_000_000, 1_000_000, 100_000, 3, 1, false), 27,
                Map.of());
        assertEquals("8,32", sparse.options.get("rank"), "10 ratings per row: at most rank 40");
        assertEquals(18, sparse.models);
        SearchSpace small = SearchSpace.derive(new DataProfile(90_000, 600, 9000, 3.5, 1.0, true), 8, Map.of());
        // 27 > 8: the largest learning rate goes, then the smallest lambda, then the smallest rank ...
        assertEquals(8, small.models);
        assertEquals("32,128", small.options.get("rank"));
        assertEquals("0.100,0.150", small.options.get("lambda"));
        assertEquals("0.0100,0.0200", small.options.get("learning-rate"));
        SearchSpace fixed = SearchSpace.derive(new DataProfile(90_000, 600, 9000, 3.5, 1.0, true), 27,
                Map.of("rank", "50", "epochs", "16"));
        assertEquals("50", fixed.options.get("rank"));
        assertEquals(9, fixed.models);
        assertEquals("2", fixed.options.get("prune-every"));
        SearchSpace one = SearchSpace.derive(new DataProfile(90_000, 600, 9000, 3.5, 1.0, true), 1, Map.of());
        assertEquals(1, one.models);
        assertFalse(one.options.containsKey("prune"), "one model has nothing to prune");
        assertEquals("--epochs must be a whole number but was 'ten'", assertThrows(IllegalArgumentException.class,
                () -> SearchSpace.derive(new DataProfile(1, 1, 1, 1, 1, true), 27, Map.of("epochs", "ten")))
                .getMessage());
        assertEquals("--budget-models must be >= 1 but was 0", assertThrows(IllegalArgumentException.class,
                () -> SearchSpace.derive(new DataProfile(1, 1, 1, 1, 1, true), 0, Map.of())).getMessage());
    }

    @Test
    void profileCountsTheWholeInputExactlyAndExtrapolatesFromAHead() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("in"));
        StringBuilder sb = new StringBuilder("row,col,rating\n"); // a header: not a rating, skipped
        for (int i = 0; i < 1000; i++) {
            sb.append(i % 100).append(',').append(i % 37).append(',').append(i % 2 == 0 ? "2" : "4").append('\n');
        }
        Files.writeString(dir.resolve("part-0.csv"), sb);
        try (OutputStream o = new GZIPOutputStream(Files.newOutputStream(dir.resolve("part-1.csv.gz")))) {
            o.write("500,1,3\n501,2,3".getBytes(StandardCharsets.UTF_8)); // no final newline
        }
        Files.writeString(dir.resolve("_SUCCESS"), "");
        DataProfile all = DataProfile.of(dir.toString(), 10_000);
        assertTrue(all.exact());
        assertEquals(new DataProfile(1002, 102, 37, 3.0, Math.sqrt(1000.0 / 1002), true).toString(), all.toString());
        assertEquals(1002, all.ratings());
        assertEquals(102, all.rows());
        assertEquals(37, all.columns());
        DataProfile head = DataProfile.of(dir.resolve("part-0.csv").toString(), 100);
        assertFalse(head.exact());
        // 100 of 1000 lines of about the same length: about 10x the ratings
        assertTrue(head.ratings() > 900 && head.ratings() < 1100, "" + head);
    }
}
