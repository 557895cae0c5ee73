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
import org.factorbird.ps.cli.Cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code factorbird follow --rest HOST:PORT --job ID [--output OUT]}: what {@code submit.sh} runs after it submitted
 * a job. Polls the Flink REST API: one line per epoch from the training operator's {@code factorbird} metrics while
 * the job runs, then, once it has finished, the summary a local run prints (read from OUT); a failed or cancelled
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

    /** Gauges of the training operator ({@code TrainMetrics}) printed per epoch, by their last name. */
    static final List<String> GAUGES = List.of("epoch", "trainRmse", "testRmse", "ratingsPerSecond", "psBytesPerEpoch");

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
        double lastEpoch = 0;
        boolean announced = false;
        while (true) {
            JsonNode status = get(base + "/jobs/" + job);
            String state = status.path("state").asText("");
            switch (state) {
                case "FINISHED" -> {
                    out.println("job " + job + " finished");
                    if (output != null) {
                        JobRunner.environment(new Configuration(), fileSystemKeys); // OUT may be on s3:// or hdfs://
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
                    Map<String, Double> m = trainingGauges(base, status);
                    double epoch = m.getOrDefault("epoch", 0.0);
                    if (epoch > lastEpoch) {
                        lastEpoch = epoch;
                        out.println(String.format(Locale.ROOT, "epoch %.0f  train-rmse %.4f  test-rmse %.4f  %.2fM "
                                + "ratings/s  ps %.1f MB", epoch, m.getOrDefault("trainRmse", Double.NaN),
                                m.getOrDefault("testRmse", Double.NaN), m.getOrDefault("ratingsPerSecond", 0.0) / 1e6,
                                m.getOrDefault("psBytesPerEpoch", 0.0) / 1e6));
                    } else if (!announced && "RUNNING".equals(state)) {
                        announced = true;
                        out.println("job " + job + " running: loading its input (a line per epoch follows)");
                    }
                }
            }
            Thread.sleep(pollMs);
        }
    }

    /** The training operator's gauges (max over subtasks: every subtask reports the same global numbers). */
    private Map<String, Double> trainingGauges(String base, JsonNode status) {
        Map<String, Double> out = new java.util.HashMap<>();
        for (JsonNode v : status.path("vertices")) {
            String url = base + "/jobs/" + job + "/vertices/" + v.path("id").asText() + "/subtasks/metrics";
            List<String> ids = new ArrayList<>();
            for (JsonNode m : get(url)) {
                String id = m.path("id").asText();
                for (String g : GAUGES) {
                    if (id.endsWith(".factorbird." + g)) {
                        ids.add(id);
                    }
                }
            }
            if (ids.isEmpty()) {
                continue;
            }
            for (JsonNode m : get(url + "?get=" + URLEncoder.encode(String.join(",", ids), StandardCharsets.UTF_8))) {
                String id = m.path("id").asText();
                out.put(id.substring(id.lastIndexOf('.') + 1), m.path("max").asDouble(Double.NaN));
            }
        }
        return out;
    }

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
