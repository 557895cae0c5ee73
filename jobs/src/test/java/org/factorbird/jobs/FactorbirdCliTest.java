package org.factorbird.jobs;

import static org.factorbird.pipeline.ModelFiles.model;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.flink.configuration.ConfigOption;
import org.factorbird.pipeline.model.EpochRecord;
import org.factorbird.pipeline.model.GridFile;
import org.factorbird.pipeline.model.ModelFile;
import org.factorbird.pipeline.FactorbirdOptions;
import org.factorbird.pipeline.ModelFiles;
import org.factorbird.ps.cli.Cli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line as a user meets it: help, one-line errors, and a whole local run. */
class FactorbirdCliTest {

    @TempDir
    Path tmp;

    static String run(String... args) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Factorbird.run(args, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private static String error(String... args) {
        return assertThrows(Cli.Failure.class, () -> run(args)).getMessage();
    }

    @Test
    void helpListsEveryOptionWithItsDefault() {
        String help = run("train", "--help");
        for (ConfigOption<?> o : FactorbirdOptions.all()) {
            String def = o.hasDefaultValue() ? String.valueOf(o.defaultValue()) : "(none)";
            assertTrue(help.contains("--" + o.key()) || help.contains("--[no-]" + o.key()), "missing --" + o.key());
            // picocli wraps the descriptions (also inside dotted words): compare without whitespace
            String flat = help.replaceAll("\\s+", "");
            assertTrue(flat.contains("[default:" + def + "]"), "missing default of --" + o.key());
            assertTrue(flat.contains(FactorbirdOptions.text(o).replaceAll("\\s+", "")),
                    "missing description of --" + o.key());
        }
        assertTrue(run("generate", "--help").contains("--noise=SIGMA"));
    }

    @Test
    void readmeListsEveryTrainOptionWithItsDefault() throws IOException {
        String readme = Files.readString(Paths.get("..", "README.md"));
        for (ConfigOption<?> o : FactorbirdOptions.all()) {
            String def = o.hasDefaultValue() ? String.valueOf(o.defaultValue()) : "";
            Matcher m = Pattern.compile("\\| `--" + Pattern.quote(o.key()) + "` \\| `?([^|`]*)`? \\|").matcher(readme);
            assertTrue(m.find(), "README lacks a row for --" + o.key());
            assertEquals(def, m.group(1).trim(), "README default of --" + o.key());
        }
    }

    @Test
    void readmeListsEveryStreamOptionWithItsDefaultInTheStreamingSection() throws IOException {
        String readme = Files.readString(Paths.get("..", "README.md"));
        String section = readme.substring(readme.indexOf("## Streaming"), readme.indexOf("## Recommendations"));
        for (ConfigOption<?> o : org.factorbird.pipeline.stream.StreamOptions.all()) {
            String def = o.hasDefaultValue() ? String.valueOf(o.defaultValue()) : "";
            Matcher m = Pattern.compile("\\| `--" + Pattern.quote(o.key()) + "` \\| `?([^|`]*)`? \\|").matcher(section);
            assertTrue(m.find(), "README's streaming section lacks a row for --" + o.key());
            assertEquals(def, m.group(1).trim(), "README default of stream --" + o.key());
        }
        String help = run("stream", "--help");
        for (ConfigOption<?> o : org.factorbird.pipeline.stream.StreamOptions.all()) {
            assertTrue(help.contains("--" + o.key()), "stream --help lacks --" + o.key());
        }
    }

    @Test
    void streamRefusesBadInputInOneLine() throws IOException {
        Path in = Files.createDirectories(tmp.resolve("stream-in"));
        assertEquals("--model is required", error("stream", "--input", in.toString(), "--output", "x"));
        assertEquals("--model " + tmp.resolve("nothing") + " has no model.json (not the output directory of a "
                + "training run?)", error("stream", "--model", tmp.resolve("nothing").toString(), "--input",
                in.toString(), "--output", "x"));
        // a job that fails (here: --strict on a malformed line, no restarts) ends in its reason, not a silent exit
        Path data = tmp.resolve("stream-data");
        run("generate", "--output", data.toString(), "--rows", "50", "--cols", "40", "--ratings", "1000",
                "--seed", "4");
        Path model = tmp.resolve("stream-model");
        run("train", "--input", data.resolve("train").toString(), "--output", model.toString(), "--epochs", "1");
        Files.writeString(in.resolve("bad.csv"), "1,2,3\n4,x,5\n");
        String e = error("stream", "--model", model.toString(), "--input", in.toString(), "--output",
                tmp.resolve("stream-live").toString(), "--strict", "--max-restarts", "0", "--run-seconds", "60",
                "--monitor-ms", "100");
        assertTrue(e.endsWith("bad.csv:2: column id 'x' is not a non-negative integer (string ids need --ids "
                + "string) in '4,x,5' (--strict)"), e);
    }

    @Test
    void estimatePrintsMemoryPerShardSubtaskAndTaskManagerAndRefusesBadValues() {
        String out = run("estimate", "--rows", "200000", "--cols", "100000", "--ratings", "10000000", "--slots", "2",
                "--state-backend", "rocksdb", "--rocksdb-memory", "256m");
        // 50,000 columns per shard -> 131,072 slots x (8 + 4 x 11) bytes
        assertTrue(out.contains("per PS shard:        6.8 MB of parameters"), out);
        // 5M ratings x 8 B (column number, value) + 45k sample indices x 4 B + 100k rows x (20 + 44) B per subtask
        assertTrue(out.contains("per subtask:         46.6 MB of keyed state after loading (on disk)"), out);
        // 2 slots x 256 MiB of RocksDB memory, 2 x 46.6 MB of state
        assertTrue(out.contains("536.9 MB of RocksDB memory outside the heap, 93.2 MB of state on local disk"), out);
        // 20 epochs (train's default) at parallelism 2 (train's default): see TimeEstimateTest for the arithmetic
        assertTrue(out.contains("wall time:           about 4"), out);
        String[] shape = {"estimate", "--rows", "10", "--cols", "10", "--ratings", "50"};
        assertEquals("--slots must be >= 1 but was 0", error(concat(shape, "--slots", "0")));
        assertEquals("--state-backend must be 'heap' or 'rocksdb' but was 'disk'",
                error(concat(shape, "--state-backend", "disk")));
        assertEquals("Invalid value for option '--slots': 'two' is not an int (see --help)",
                error(concat(shape, "--slots", "two")));
        assertEquals("--schedule must be constant, decay or adagrad but was 'adagrd'",
                error(concat(shape, "--schedule", "adagrd")));
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void everyCommandAnswersHelpAndRefusesAnUnknownOptionInOneLineWithExitCode2() {
        for (String command : List.of("train", "grid", "tune", "recommend", "predict", "generate", "estimate",
                "field")) {
            String help = run(command, "--help");
            assertTrue(help.startsWith("Usage: factorbird " + command), help);
            // the command's required arguments, so that the unknown option is the only mistake
            String[] required = switch (command) {
                case "generate" -> new String[] {"--output", "x"};
                case "estimate" -> new String[] {"--rows", "1", "--cols", "1", "--ratings", "1"};
                case "field" -> new String[] {"f.json", "a"};
                case "recommend" -> new String[] {"--model", "m", "--k", "3", "--output", "o"};
                case "predict" -> new String[] {"--model", "m", "--input", "i", "--output", "o"};
                default -> new String[0];
            };
            Cli.Failure f = assertThrows(Cli.Failure.class, () -> run(concat(concat(new String[] {command},
                    required), "--bogus-option")));
            assertEquals(2, f.exitCode, command);
            assertTrue(f.getMessage().startsWith("Unknown option: '--bogus-option'"), f.getMessage());
            assertFalse(f.getMessage().contains("\n"), f.getMessage());
        }
        assertTrue(run().contains("train") && run("--help").contains("estimate"));
        // a typo of a required option is reported as the typo, not as the missing option; --no- forms are suggested
        assertEquals("Unknown options: '--kk', '3'; did you mean --k? (see --help)",
                error("recommend", "--model", "m", "--kk", "3", "--output", "o"));
        assertEquals("Unknown option: '--no-clipp'; did you mean --no-clip? (see --help)",
                error("predict", "--model", "m", "--input", "i", "--output", "o", "--no-clipp"));
        assertTrue(run("help", "train").startsWith("Usage: factorbird train"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        assertEquals(0, Cli.create(new PsLoad(), o, e).execute("--help"));
        assertTrue(out.toString(StandardCharsets.UTF_8).replaceAll("\\s+", " ")
                .contains("Concurrent clients, 1-256. Default: 16"), out.toString(StandardCharsets.UTF_8));
        assertEquals(2, Cli.create(new PsLoad(), o, e).execute("--clinets", "3"));
        assertEquals("ps-load: error: Unknown options: '--clinets', '3'; did you mean --clients? (see --help)\n",
                err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void recommendAndPredictRefuseBadInputInOneLine() throws IOException {
        Path data = tmp.resolve("data");
        run("generate", "--output", data.toString(), "--rows", "100", "--cols", "80", "--ratings", "3000",
                "--rank", "2", "--seed", "5");
        Path model = tmp.resolve("model");
        run("train", "--input", data.resolve("train").toString(), "--output", model.toString(), "--epochs", "2",
                "--rank", "2", "--parallelism", "1");
        Cli.Failure k = assertThrows(Cli.Failure.class, () -> run("recommend", "--model", model.toString(), "--k",
                "0", "--output", tmp.resolve("r0").toString()));
        assertEquals("--k must be >= 1 but was 0", k.getMessage());
        assertEquals(2, k.exitCode);
        Cli.Failure none = assertThrows(Cli.Failure.class, () -> run("recommend", "--model", data.toString(), "--k",
                "3", "--output", tmp.resolve("r1").toString()));
        assertEquals("--model " + data + " has no model.json (not the output directory of a training run?)",
                none.getMessage());
        assertEquals(1, none.exitCode);
        Path ids = tmp.resolve("ids.txt");
        Files.writeString(ids, "1\nx7\n");
        Cli.Failure badIds = assertThrows(Cli.Failure.class, () -> run("recommend", "--model", model.toString(),
                "--k", "3", "--rows", ids.toString(), "--output", tmp.resolve("r2").toString()));
        assertEquals("--rows " + ids + " line 2: 'x7' is not a row id (a non-negative integer)", badIds.getMessage());
        assertEquals(1, badIds.exitCode);
        // a model whose column lines are one value short of its rank (rows and columns of different runs, say)
        Path broken = tmp.resolve("broken");
        Files.createDirectories(broken.resolve("columns"));
        Files.copy(model.resolve("model.json"), broken.resolve("model.json"));
        try (Stream<Path> rowFiles = Files.walk(model.resolve("rows"))) {
            Path rowsDir = Files.createDirectories(broken.resolve("rows"));
            for (Path f : (Iterable<Path>) rowFiles.filter(Files::isRegularFile)::iterator) {
                Files.copy(f, rowsDir.resolve(f.getFileName()));
            }
        }
        Files.writeString(broken.resolve("columns/part-0.tsv"), "1\t0.1\t0.2\n");
        Cli.Failure rank = assertThrows(Cli.Failure.class, () -> run("recommend", "--model", broken.toString(),
                "--k", "3", "--output", tmp.resolve("r3").toString()));
        assertTrue(rank.getMessage().endsWith("part-0.tsv:1: 2 values, the model's rank needs 3 (bias and 2 factors)"),
                rank.getMessage());
        assertFalse(rank.getMessage().contains("\n"), rank.getMessage());
        assertEquals(1, rank.exitCode);
        Path pairs = tmp.resolve("pairs.csv");
        Files.writeString(pairs, "1,2\n3,4,extra\n");
        String out = run("predict", "--model", model.toString(), "--input", pairs.toString(), "--output",
                tmp.resolve("pred").toString());
        assertTrue(out.contains("2 predictions ("), out);
    }

    @Test
    void fieldPrintsOneValueOfAJsonFile() throws IOException {
        Path f = tmp.resolve("m.json");
        Files.writeString(f, "{\"counts\": {\"trainRatings\": 12}, \"epochs\": [{\"testRmse\": 0.5}], \"s\": \"a\\\"b\"}");
        assertEquals("12\n", run("field", f.toString(), "counts.trainRatings"));
        assertEquals("0.5\n", run("field", f.toString(), "epochs.0.testRmse"));
        assertEquals("a\"b\n", run("field", f.toString(), "s"));
        assertEquals(f + " has no field counts.rows", error("field", f.toString(), "counts.rows"));
    }

    @Test
    void badOptionsGiveOneClearLine() {
        assertEquals("Unknown options: '--rnak', '5'; did you mean --rank? (see --help)",
                error("train", "--rnak", "5"));
        assertEquals("--rank has an invalid value 'abc'", error("train", "--input", "x", "--output", "y",
                "--rank", "abc"));
        assertEquals("--rank must be >= 1 but was 0", error("train", "--input", "x", "--output", "y",
                "--rank", "0"));
        assertEquals("--input is required", error("train", "--output", "y"));
        assertEquals("--loss bpr needs --implicit (explicit ratings use squared)", error("train", "--input", "x",
                "--output", "y", "--loss", "bpr"));
        assertEquals("--state-backend must be 'heap' or 'rocksdb' but was 'disk'", error("train", "--input", "x",
                "--output", "y", "--state-backend", "disk"));
        assertEquals("Missing required parameter for option '--epochs' (EPOCHS) (see --help)",
                error("train", "--epochs"));
        assertEquals("--ids must be numeric or string but was 'text'", error("train", "--input", "x",
                "--output", "y", "--ids", "text"));
        assertEquals("--recommend is not available with --ids string: run 'factorbird recommend --model OUT' on the "
                + "trained model instead", error("train", "--input", "x", "--output", "y", "--ids", "string",
                "--recommend", "5"));
    }

    @Test
    void missingOrEmptyInputIsReportedBeforeAnythingStarts() throws IOException {
        Path missing = tmp.resolve("nope.csv");
        assertEquals("--input " + missing + " does not exist", error("train", "--input", missing.toString(),
                "--output", tmp.resolve("o").toString()));
        Path empty = Files.createFile(tmp.resolve("empty.csv"));
        assertEquals("--input " + empty + " is empty", error("train", "--input", empty.toString(),
                "--output", tmp.resolve("o").toString()));
        Path full = Files.createDirectories(tmp.resolve("full"));
        Files.writeString(full.resolve("x"), "x");
        Files.writeString(tmp.resolve("r.csv"), "1,2,3\n");
        assertTrue(error("train", "--input", tmp.resolve("r.csv").toString(), "--output", full.toString())
                .contains("already exists and is not empty"));
        // --overwrite deletes the leftovers first (the run then fails on the one-rating input for another reason)
        assertEquals("no valid training ratings in " + tmp.resolve("empty2.csv") + " (1 malformed lines skipped)",
                error("train", "--input", Files.writeString(tmp.resolve("empty2.csv"), "1,2\n").toString(),
                        "--output", full.toString(), "--overwrite", "--epochs", "1"));
        assertFalse(Files.exists(full.resolve("x")), "--overwrite deleted the old content");
    }

    @Test
    void unreachableParameterServerIsOneLine() throws IOException {
        Files.writeString(tmp.resolve("r.csv"), "1,2,3\n");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String e = error("train", "--input", tmp.resolve("r.csv").toString(), "--output",
                tmp.resolve("o").toString(), "--ps", "127.0.0.1:" + port);
        assertTrue(e.startsWith("cannot reach parameter server shard 0 at 127.0.0.1:" + port + ": "), e);
        assertTrue(!e.contains("\n"), e);
    }

    @Test
    void inputWithoutAnyValidRatingFailsWithOneLine() throws IOException {
        Path in = Files.createDirectories(tmp.resolve("in"));
        Files.writeString(in.resolve("junk.csv"), "a,b,c\nx,y,z\n");
        String e = error("train", "--input", in.toString(), "--output", tmp.resolve("o").toString(),
                "--epochs", "1");
        assertEquals("no valid training ratings in " + in + " (1 malformed lines skipped)", e);
    }

    @Test
    void aGzipFileWithoutItsSuffixIsRefusedInOneLine() throws IOException {
        Path in = Files.createDirectories(tmp.resolve("gz-in"));
        try (java.io.OutputStream o = new java.util.zip.GZIPOutputStream(Files.newOutputStream(
                in.resolve("ratings.csv")))) {
            o.write("1,2,3\n4,5,6\n".getBytes(StandardCharsets.UTF_8));
        }
        String e = error("train", "--input", in.toString(), "--output", tmp.resolve("gz-out").toString(),
                "--epochs", "1");
        assertTrue(e.endsWith("ratings.csv: gzip data where text lines were expected; compressed input is read by "
                + "its file name (.gz, .bz2, .xz, .zst, .deflate)"), e);
        assertFalse(e.contains("\n"), e);
    }

    @Test
    void generateThenTrainLocallyPrintsProgressAndBeatsTheNoiseFloorBar() {
        Path data = tmp.resolve("data");
        String gen = run("generate", "--output", data.toString(), "--rows", "600", "--cols", "400", "--ratings",
                "120000", "--rank", "4", "--noise", "0.25", "--seed", "3");
        assertTrue(gen.contains("noise sigma 0.2500"), gen);
        // progress lines come from the training operator (subtask 0) on the process's stdout
        PrintStream stdout = System.out;
        ByteArrayOutputStream progress = new ByteArrayOutputStream();
        String out;
        try {
            System.setOut(new PrintStream(progress, true, StandardCharsets.UTF_8));
            out = run("train", "--input", data.resolve("train").toString(), "--test",
                    data.resolve("test").toString(), "--output", tmp.resolve("model").toString(), "--epochs", "15",
                    "--rank", "6", "--lambda", "0.02", "--schedule", "constant", "--learning-rate", "0.01",
                    "--init-std", "0.1"); // this bar was set for these settings (the defaults: 1.23x here)
        } finally {
            System.setOut(stdout);
        }
        String lines = progress.toString(StandardCharsets.UTF_8);
        assertTrue(lines.contains("epoch 15/15  train-rmse"), lines);
        assertTrue(lines.contains("loaded 1"), lines);
        Matcher m = Pattern.compile("held-out RMSE ([0-9.]+)").matcher(out);
        assertTrue(m.find(), out);
        double rmse = Double.parseDouble(m.group(1));
        assertTrue(rmse < 1.15 * 0.25, "held-out RMSE " + rmse);
        assertTrue(Files.exists(tmp.resolve("model").resolve("model.json")));
    }

    @Test
    void aLocalRunPrintsTheLoadsProgressSummedOverItsSubtasks() {
        Path data = tmp.resolve("load-data");
        run("generate", "--output", data.toString(), "--rows", "20000", "--cols", "2000", "--ratings", "1500000",
                "--rank", "2", "--seed", "5", "--test-fraction", "0");
        long interval = LoadProgress.intervalMillis;
        LoadProgress.intervalMillis = 100; // every 5 s otherwise: this load takes about one
        String out;
        try {
            out = run("train", "--input", data.resolve("train").toString(), "--output",
                    tmp.resolve("load-model").toString(), "--epochs", "1", "--parallelism", "2");
        } finally {
            LoadProgress.intervalMillis = interval;
        }
        Matcher m = Pattern.compile("loading: ([0-9,]+) lines read by 2 subtasks in ([0-9.]+) s \\(([0-9.]+)M "
                + "lines/s\\)").matcher(out);
        assertTrue(m.find(), out);
        long lines = Long.parseLong(m.group(1).replace(",", ""));
        // the subtasks report every 64k lines; the sum never exceeds the input (1.5M lines)
        assertTrue(lines >= 65_536 && lines <= 1_500_000, out);
        assertTrue(Double.parseDouble(m.group(2)) > 0, out);
    }

    @Test
    void gridTakesListsAndWritesTheRankingAndEveryModel() throws IOException {
        Path data = tmp.resolve("gdata");
        run("generate", "--output", data.toString(), "--rows", "200", "--cols", "100", "--ratings", "10000",
                "--rank", "3", "--seed", "9");
        assertEquals("--rank has a list of values ('4,6'); lists are for 'factorbird grid'", error("train",
                "--input", data.resolve("train").toString(), "--output", tmp.resolve("x").toString(), "--rank", "4,6"));
        assertTrue(run("grid", "--help").replaceAll("\\s+", " ")
                .contains("--rank --learning-rate --lambda --lambda-bias --schedule"));
        Path out = tmp.resolve("grid");
        String text = run("grid", "--input", data.resolve("train").toString(), "--holdout", "0.1", "--output",
                out.toString(), "--epochs", "3", "--rank", "4,6", "--schedule", "constant,adagrad", "--keep-all",
                "--no-clip");
        assertTrue(text.contains("grid search: 4 models in one pass"), text);
        GridFile grid = ModelFiles.grid(out);
        assertEquals(4, grid.models().size());
        for (int m = 0; m < 4; m++) {
            int index = m;
            assertTrue(grid.models().stream().anyMatch(e -> e.index() == index && e.place() >= 1), "" + grid);
            assertTrue(Files.exists(out.resolve("models").resolve(String.valueOf(m)).resolve("model.json")));
        }
        ModelFile model = model(out);
        assertFalse(model.settings().clip(), "" + model);
        assertEquals(0.1f, model.settings().holdout(), "" + model);
    }

    @Test
    void tuneOnMovieLensNeedsNoHyperParametersChoosesOnValidationAndBeatsLibmf() throws IOException {
        Path ml = org.factorbird.pipeline.MovieLens.require();
        Path out = tmp.resolve("tuned");
        String text = run("tune", "--input", ml.resolve("train.csv").toString(), "--test",
                ml.resolve("test.csv").toString(), "--output", out.toString());
        assertTrue(text.contains("tune: 90,752 ratings of 610 rows x 9,374 columns"), text);
        assertTrue(text.contains("tune: searching 27 models: --rank 8,32,128"), text);
        GridFile search = ModelFiles.grid(out); // the search's grid.json, copied beside the model
        assertEquals(27, search.models().size());
        assertTrue(search.validationRatings() > 4000, "the search ranked on a validation split: " + search.validationRatings());
        assertEquals("halving every 5 epochs, keep 0.5", search.pruning());
        GridFile.Entry winner = search.models().get(0);
        double bestValidation = search.models().stream().mapToDouble(e -> e.finalValidationRmse()).min().orElseThrow();
        assertEquals(bestValidation, winner.finalValidationRmse(), 0.0, "the winner is the best on validation");
        ModelFile model = model(out);
        assertEquals(winner.hyperParameters(), model.hyperParameters(), "the refit trains the winner's setting");
        assertEquals(0f, model.settings().validation(), "the refit trains on all training data");
        assertEquals(40, model.epochs().size());
        System.out.printf("tune on MovieLens: held-out RMSE %.4f with %s%n", model.finalTestRmse(),
                model.hyperParameters());
        assertTrue(model.finalTestRmse() <= 0.858, "tuned held-out RMSE " + model.finalTestRmse()
                + " > 0.858 (LIBMF's best of 12: 0.872)");
    }

    @Test
    void resumeChecksTheLayoutFirstAndMoreEpochsCountsFromTheSnapshot() throws IOException {
        Path data = tmp.resolve("rdata");
        run("generate", "--output", data.toString(), "--rows", "200", "--cols", "100", "--ratings", "10000",
                "--rank", "3", "--seed", "4");
        String train = data.resolve("train").toString();
        Path snaps = tmp.resolve("snaps");
        run("train", "--input", train, "--output", tmp.resolve("first").toString(), "--epochs", "3", "--rank", "4",
                "--snapshot-dir", snaps.toString());
        assertEquals("the snapshot in " + snaps.toUri().toString().replace("file:///", "file:/") + "epoch-00003 holds 5 "
                + "floats per id, this run's models need 4 (same ranks, schedules and grid as the run that wrote it?)",
                error("train", "--input", train, "--output", tmp.resolve("x").toString(), "--rank", "3", "--resume",
                        snaps.toString(), "--more-epochs", "2"));
        assertEquals("--epochs 3 counts every epoch, and the snapshot in " + snaps.toUri().toString()
                .replace("file:///", "file:/") + "epoch-00003 is already after epoch 3: give --epochs above 3, or "
                + "--more-epochs N", error("train", "--input", train, "--output", tmp.resolve("x").toString(),
                        "--rank", "4", "--resume", snaps.toString(), "--epochs", "3"));
        assertEquals("--more-epochs needs --resume DIR (the snapshot to go on from)", error("train", "--input", train,
                "--output", tmp.resolve("x").toString(), "--more-epochs", "2"));
        String text = run("train", "--input", train, "--output", tmp.resolve("more").toString(), "--rank", "4",
                "--resume", snaps.toString(), "--more-epochs", "2");
        assertTrue(text.contains("resuming after epoch 3 of " + snaps + ": 2 more epochs, to epoch 5"), text);
        ModelFile more = model(tmp.resolve("more"));
        assertEquals(3, more.resumedFromEpoch());
        assertEquals(List.of(4, 5), more.epochs().stream().map(EpochRecord::epoch).toList());
    }

    @Test
    void everyScriptAnswersHelpWithItsUsageAndDoesNothingElse() throws Exception {
        List<Path> scripts;
        try (var files = Files.list(Paths.get("..", "scripts"))) {
            scripts = files.filter(f -> Files.isRegularFile(f) && Files.isExecutable(f)).sorted().toList();
        }
        assertTrue(scripts.size() >= 11, "" + scripts);
        for (Path script : scripts) {
            Process p = new ProcessBuilder(script.toString(), "--help").redirectErrorStream(true).start();
            assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), script + " --help did not end");
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, p.exitValue(), script + " --help:\n" + out);
            assertTrue(out.length() > 40 && !out.contains("unknown option") && !out.contains("error:"),
                    script + " --help:\n" + out);
        }
    }

    @Test
    void theProcessPrintsASingleErrorLineAndNoStackTrace() throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-D" + Factorbird.STANDALONE_PROPERTY + "=true");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Factorbird.class.getName());
        cmd.addAll(List.of("train", "--input", tmp.resolve("missing").toString(), "--output",
                tmp.resolve("o").toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertEquals(1, p.exitValue());
        assertEquals("factorbird: error: --input " + tmp.resolve("missing") + " does not exist", err);
    }
}
