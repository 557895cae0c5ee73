package org.factorbird.jobs;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.apache.flink.configuration.Configuration;
import org.factorbird.pipeline.model.EpochRecord;
import org.factorbird.pipeline.model.Json;
import org.factorbird.pipeline.model.ModelFile;
import org.factorbird.ps.cli.Cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code factorbird follow --rest HOST:PORT --job ID [--output OUT]}: what {@code submit.sh} runs after it submitted
 * a job. Polls the Flink REST API: one line per epoch from the training operator's {@code factorbird.epochLines}
 * gauge while the job runs (it keeps the last epochs' lines, so none is missed between polls), then, once it has finished, the summary a local run prints (read from OUT); a failed or cancelled
 * job ends in one line with its root exception and exit code 1.
 */
@Command(name = "follow", description = "Follows a submitted training job over the Flink REST API: a progress line "
        + "per epoch, then the run's summary (used by scripts/submit.sh).")
final class FollowCommand implements Callable<Integer> {

    @Mixin
    Cli.Help help;

    @Option(names = "--rest", required = true, paramLabel = "HOST:PORT", description = "The Flink REST API.")
    String rest;

    @Option(names = "--job", required = true, paramLabel = "ID", description = "The job id.")
    String job;

    @Option(names = "--output", paramLabel = "DIR", description = "The job's --output, for the final summary.")
    String output;

    @Option(names = "--poll-ms", paramLabel = "MS", defaultValue = "1000", description = "Milliseconds between polls.")
    long pollMs;

    private final PrintStream out;
    private final Map<String, String> fileSystemKeys;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final ObjectMapper json = new ObjectMapper();

    FollowCommand(PrintStream out, Map<String, String> fileSystemKeys) {
        this.out = out;
        this.fileSystemKeys = fileSystemKeys;
    }

    @Override
    public Integer call() throws InterruptedException {
        if (pollMs < 10) {
            throw new Cli.Failure("--poll-ms must be >= 10 but was " + pollMs, Cli.USAGE);
        }
        String base = "http://" + rest;
        long t0 = System.nanoTime();
        int lastEpoch = 0;
        boolean announced = false;
        while (true) {
            JsonNode status = get(base + "/jobs/" + job);
            String state = status.path("state").asText("");
            switch (state) {
                case "FINISHED" -> {
                    if (output != null) {
                        JobRunner.environment(new Configuration(), fileSystemKeys); // OUT may be on s3:// or hdfs://
                        // the epochs that ended after the last poll: their metrics are gone with the job, their
                        // records are in model.json
                        lastLines(lastEpoch);
                    }
                    out.println("job " + job + " finished");
                    if (output != null) {
                        RunSummary.print(out, output, (System.nanoTime() - t0) / 1e9, 0);
                    }
                    return 0;
                }
                case "FAILED", "CANCELED" -> {
                    String root = get(base + "/jobs/" + job + "/exceptions").path("root-exception").asText("");
                    String first = root.lines().findFirst().orElse("(no exception recorded)");
                    throw new Cli.Failure("job " + job + " " + state + ": " + first, Cli.FAILED);
                }
                default -> {
                    for (String line : epochLines(base, status)) {
                        int tab = line.indexOf('\t');
                        int epoch = tab > 0 ? Integer.parseInt(line.substring(0, tab)) : 0;
                        if (epoch > lastEpoch) {
                            lastEpoch = epoch;
                            out.println(line.substring(tab + 1));
                        }
                    }
                    if (lastEpoch == 0 && "RUNNING".equals(state)) {
                        if (!announced) {
                            announced = true;
                            out.println("job " + job + " running: loading its input (a line per epoch follows)");
                        }
                        long now = System.nanoTime();
                        if (now - lastLoadLine >= 5_000_000_000L) {
                            long read = linesRead(base, status);
                            if (read > lastRead) {
                                lastLoadLine = now;
                                lastRead = read;
                                out.println(String.format(Locale.ROOT, "loading: %,d lines read by all subtasks in "
                                        + "%.0f s", read, (now - t0) / 1e9));
                            }
                        }
                    }
                }
            }
            Thread.sleep(pollMs);
        }
    }

    /**
     * The training operator's {@code factorbird.epochLines} gauge of subtask 0 (the numbers are global): its last
     * epochs' progress lines, "epoch TAB line" each; empty before the first epoch.
     */
    private List<String> epochLines(String base, JsonNode status) {
        if (linesUrl == null) {
            for (JsonNode v : status.path("vertices")) {
                String url = base + "/jobs/" + job + "/vertices/" + v.path("id").asText() + "/subtasks/0/metrics";
                for (JsonNode m : get(url)) {
                    String id = m.path("id").asText();
                    if (id.endsWith(".factorbird.epochLines")) {
                        linesUrl = url + "?get=" + URLEncoder.encode(id, StandardCharsets.UTF_8);
                    }
                }
            }
            if (linesUrl == null) {
                return List.of(); // not deployed yet, or still loading
            }
        }
        List<String> lines = new ArrayList<>();
        for (JsonNode m : get(linesUrl)) {
            m.path("value").asText("").lines().filter(l -> !l.isBlank()).forEach(lines::add);
        }
        return lines;
    }

    /** Prints, from OUT/model.json, the epochs after {@code printed} in the progress lines' format. */
    private void lastLines(int printed) {
        ModelFile model;
        try {
            model = Json.read(new org.apache.flink.core.fs.Path(output, "model.json"), ModelFile.class);
        } catch (IOException e) {
            return; // the summary says what is missing
        }
        int total = model.settings() == null ? 0 : model.settings().epochs();
        for (EpochRecord e : model.epochs()) {
            if (e.epoch() > printed) {
                out.println(line(e, total));
            }
        }
    }

    /** An epoch record as the operator's progress line shows it. */
    static String line(EpochRecord e, int epochs) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "epoch %d/%d  train-rmse %.4f", e.epoch(),
                epochs, e.trainRmse() == null ? Double.NaN : e.trainRmse()));
        if (e.validationRmse() != null) {
            sb.append(String.format(Locale.ROOT, "  val-rmse %.4f", e.validationRmse()));
        }
        if (e.testRmse() != null) {
            sb.append(String.format(Locale.ROOT, "  test-rmse %.4f  test-mae %.4f", e.testRmse(), e.testMae()));
        }
        if (e.ndcgAtK() != null) {
            sb.append(String.format(Locale.ROOT, "  ndcg %.4f", e.ndcgAtK()));
        }
        long bytes = java.util.Arrays.stream(e.psBytesPerShard()).sum();
        long requests = java.util.Arrays.stream(e.psRequestsPerShard()).sum();
        return sb.append(String.format(Locale.ROOT, "  %.2fM ratings/s  %.2f s  ps %.1f MB %,d req",
                e.ratingsPerSecond() / 1e6, e.seconds(), bytes / 1e6, requests)).toString();
    }

    private long lastLoadLine;
    private long lastRead;

    /** The training operator's {@code factorbird.linesRead}, summed over its subtasks (0 before it reports). */
    private long linesRead(String base, JsonNode status) {
        for (JsonNode v : status.path("vertices")) {
            String url = base + "/jobs/" + job + "/vertices/" + v.path("id").asText() + "/subtasks/metrics";
            for (JsonNode m : get(url)) {
                String id = m.path("id").asText();
                if (id.endsWith(".factorbird.linesRead")) {
                    JsonNode agg = get(url + "?get=" + URLEncoder.encode(id, StandardCharsets.UTF_8));
                    return agg.isArray() && agg.size() > 0 ? (long) agg.get(0).path("sum").asDouble(0) : 0;
                }
            }
        }
        return 0;
    }

    /** Where subtask 0's epochLines gauge is read, once found. */
    private String linesUrl;

    private JsonNode get(String url) {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30))
                    .build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new Cli.Failure("the Flink REST API answered " + r.statusCode() + " to " + url, Cli.FAILED);
            }
            return json.readTree(r.body());
        } catch (IOException e) {
            throw new Cli.Failure("cannot reach the Flink REST API at " + url + ": " + e.getMessage(), Cli.FAILED);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Cli.Failure("interrupted while following job " + job, Cli.FAILED);
        }
    }
}
