package org.factorbird.pipeline;

import static org.factorbird.pipeline.ModelFiles.model;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.factorbird.pipeline.model.ModelFile;
import org.factorbird.ps.server.PsServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A corpus of hostile input files, each with a clear outcome: skipped and counted (with file and line), kept as
 * data where it is valid (duplicates, CRLF), or, with --strict, one error naming the file and line.
 */
class HostileInputITCase {

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2)
                    .build());

    @TempDir
    static Path tmp;
    static Path corpus;
    static PsServer ps;

    /** Good lines: 30 rows x 10 columns, every pair once, values 1..5. */
    static String good(int rowOffset) {
        StringBuilder sb = new StringBuilder();
        for (int r = 0; r < 30; r++) {
            for (int c = 0; c < 10; c++) {
                sb.append(r + rowOffset).append(',').append(c).append(',').append(1 + (r * c) % 5).append('\n');
            }
        }
        return sb.toString();
    }

    @BeforeAll
    static void setUp() throws IOException {
        corpus = Files.createDirectories(tmp.resolve("corpus"));
        Files.writeString(corpus.resolve("a-good.csv"), "user,item,rating\n" + good(0));
        // 4 malformed lines: too few fields, text id, empty field, text value
        Files.writeString(corpus.resolve("b-malformed.csv"), "1,2\nabc,1,3\n3,,4\n4,5,five\n" + "5,1,2.5\n");
        // 3 non-finite values
        Files.writeString(corpus.resolve("c-nonfinite.tsv"), "1\t1\tNaN\n2\t2\tInfinity\n3\t3\t-Infinity\n6\t1\t1\n");
        // huge and negative ids: 2 bad; the largest valid id is fine
        Files.writeString(corpus.resolve("d-ids.txt"),
                "99999999999999999999 1 3\n-7 1 3\n9223372036854775807 1 4\n1 -2 3\n");
        // duplicate (row, col) pairs are ratings like any other: both are trained on
        Files.writeString(corpus.resolve("e-duplicates.csv"), "7,3,1\n7,3,5\n");
        Files.writeString(corpus.resolve("f-empty.csv"), "");
        Files.writeString(corpus.resolve("g-crlf.csv"), "row,col,value\r\n8,4,2\r\n8,5,3\r\n");
        // one line of 10 MB, between two good lines
        try (OutputStream out = Files.newOutputStream(corpus.resolve("h-long-line.csv"))) {
            out.write("9,1,4\n".getBytes(StandardCharsets.US_ASCII));
            byte[] chunk = new byte[1 << 20];
            java.util.Arrays.fill(chunk, (byte) '7');
            for (int i = 0; i < 10; i++) {
                out.write(chunk);
            }
            out.write(",1,2\n9,2,5\n".getBytes(StandardCharsets.US_ASCII));
        }
        ps = PsServer.startLocal(0, 1);
    }

    @AfterAll
    static void tearDown() {
        ps.close();
    }

    static void run(String input, Path out, boolean strict) throws Exception {
        Map<String, String> m = new HashMap<>(Map.of("input", input, "output", out.toString(), "ps", ps.address(),
                "parallelism", "2", "epochs", "2", "rank", "3"));
        if (strict) {
            m.put("strict", "true");
        }
        TrainConfig cfg = TrainConfig.from(Configuration.fromMap(m), System.nanoTime() | 1);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(
                FactorbirdJob.flinkConfig(cfg));
        FactorbirdJob.build(env, cfg);
        env.execute("hostile");
    }

    @Test
    void everyHostileFileHasAClearOutcome() throws Exception {
        Path out = tmp.resolve("out");
        run(corpus.toString(), out, false);
        ModelFile model = model(out);
        // skipped: 4 malformed + 3 non-finite + 3 bad ids + 1 long line
        assertEquals(11, model.counts().skippedLines());
        // kept: 300 good + 1 (b) + 1 (c) + 1 (d) + 2 duplicates + 2 CRLF + 2 around the long line
        assertEquals(309, model.counts().trainRatings());
        List<String> skipped = Files.readAllLines(out.resolve("skipped-lines.txt"));
        assertEquals(11, skipped.size());
        String all = String.join("\n", skipped);
        for (String expect : List.of("b-malformed.csv:1: expected 3 fields", "b-malformed.csv:2: row id 'abc'",
                "b-malformed.csv:3: missing column id", "b-malformed.csv:4: rating value 'five' is not a number",
                "c-nonfinite.tsv:1: rating value 'NaN' is not finite", "c-nonfinite.tsv:3: rating value '-Infinity'",
                "d-ids.txt:1: row id '99999999999999999999' is larger than 2^63-1",
                "d-ids.txt:2: row id '-7' is not a non-negative integer",
                "d-ids.txt:4: column id '-2' is not a non-negative integer",
                "h-long-line.csv:2: line is longer than 65536 bytes")) {
            assertTrue(all.contains(expect), "missing '" + expect + "' in\n" + all);
        }
        // the huge-but-valid id made it to the output
        Map<Long, float[]> rows = ModelFiles.readFactors(out.resolve("rows"));
        assertTrue(rows.containsKey(Long.MAX_VALUE));
    }

    @Test
    void strictModeNamesTheFirstBadLine() throws Exception {
        for (String[] c : new String[][] {{"c-nonfinite.tsv", "c-nonfinite.tsv:1: rating value 'NaN' is not finite"},
            {"h-long-line.csv", "h-long-line.csv:2: line is longer than 65536 bytes"}}) {
            Path dir = Files.createDirectories(tmp.resolve("strict-" + c[0]));
            Files.copy(corpus.resolve(c[0]), dir.resolve(c[0]));
            Exception e = assertThrows(Exception.class, () -> run(dir.toString(), tmp.resolve("o-" + c[0]), true));
            String root = "";
            for (Throwable t = e; t != null; t = t.getCause()) {
                root = t.getMessage();
            }
            assertTrue(root.contains(c[1]) && root.endsWith("(--strict)"), root);
        }
    }

    @Test
    void onlyEmptyFilesIsOneClearError() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("empty-only"));
        Files.writeString(dir.resolve("x.csv"), "");
        Files.writeString(dir.resolve("y.csv"), "row,col,rating\n");
        Exception e = assertThrows(Exception.class, () -> run(dir.toString(), tmp.resolve("o-empty"), false));
        String root = "";
        for (Throwable t = e; t != null; t = t.getCause()) {
            root = t.getMessage();
        }
        assertEquals("no valid training ratings in " + dir + " (the input is empty)", root);
    }
}
