package org.factorbird.pipeline.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.factorbird.pipeline.FactorbirdJob;
import org.factorbird.pipeline.ModelFiles;
import org.factorbird.pipeline.MovieLens;
import org.factorbird.pipeline.TrainConfig;
import org.factorbird.pipeline.model.Json;
import org.factorbird.pipeline.model.ModelFile;
import org.factorbird.ps.server.PsServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code stream} on the MiniCluster against 2 real PS shards: MovieLens split by time, a model trained on the
 * first half, the second half dropped into the watched directory file by file; the prequential error of the stream
 * against the frozen model's on the same ratings, and the last export against the frozen model on the later
 * held-out ratings.
 */
class StreamITCase {

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2)
                    .build());

    @TempDir
    static Path tmp;
    static final List<PsServer> servers = new ArrayList<>();

    @BeforeAll
    static void start() {
        servers.add(PsServer.startLocal(0, 2));
        servers.add(PsServer.startLocal(1, 2));
    }

    @AfterAll
    static void stop() {
        servers.forEach(PsServer::close);
    }

    static String ps() {
        List<String> a = new ArrayList<>();
        servers.forEach(s -> a.add(s.address()));
        return String.join(",", a);
    }

    /** The lines of a MovieLens file without its header, each "user,movie,rating,timestamp". */
    static List<String[]> lines(Path f) throws IOException {
        List<String[]> out = new ArrayList<>();
        for (String l : Files.readAllLines(f)) {
            if (!l.startsWith("user")) {
                out.add(l.split(","));
            }
        }
        return out;
    }

    static void write(Path f, List<String[]> rows) throws IOException {
        StringBuilder sb = new StringBuilder();
        rows.forEach(r -> sb.append(String.join(",", r)).append('\n'));
        Files.writeString(f, sb);
    }

    /** RMSE of a model directory's predictions (clipped to its range) on {@code ratings}. */
    static double rmse(Path model, List<String[]> ratings) throws IOException {
        ModelFile m = ModelFiles.model(model);
        Map<Long, float[]> rows = ModelFiles.readFactors(model.resolve("rows"));
        Map<Long, float[]> cols = ModelFiles.readFactors(model.resolve("columns"));
        double se = 0;
        for (String[] r : ratings) {
            float[] u = rows.get(Long.parseLong(r[0]));
            float[] v = cols.get(Long.parseLong(r[1]));
            float p = m.globalMean() + (u == null ? 0 : u[0]) + (v == null ? 0 : v[0]);
            if (u != null && v != null) {
                for (int f = 1; f < u.length; f++) {
                    p += u[f] * v[f];
                }
            }
            p = Math.max(m.ratingRange()[0], Math.min(m.ratingRange()[1], p));
            double e = Double.parseDouble(r[2]) - p;
            se += e * e;
        }
        return Math.sqrt(se / ratings.size());
    }

    @Test
    void aStreamKeepsTheModelFreshAndItsExportsBeatTheFrozenModel() throws Exception {
        Path ml = MovieLens.require();
        List<String[]> train = lines(ml.resolve("train.csv"));
        train.sort(Comparator.comparingLong(r -> Long.parseLong(r[3])));
        List<String[]> past = train.subList(0, train.size() / 2);
        List<String[]> future = train.subList(train.size() / 2, train.size());
        long cut = Long.parseLong(future.get(0)[3]);
        List<String[]> laterTest = new ArrayList<>();
        for (String[] r : lines(ml.resolve("test.csv"))) {
            if (Long.parseLong(r[3]) >= cut) {
                laterTest.add(r);
            }
        }
        Path pastDir = Files.createDirectories(tmp.resolve("past"));
        write(pastDir.resolve("past.csv"), past);
        Path model = tmp.resolve("model");
        Map<String, String> t = new HashMap<>(Map.of("input", pastDir.toString(), "output", model.toString(),
                "parallelism", "2", "ps", ps()));
        TrainConfig tc = TrainConfig.from(Configuration.fromMap(t), 31L);
        StreamExecutionEnvironment tenv = StreamExecutionEnvironment.getExecutionEnvironment(
                FactorbirdJob.flinkConfig(tc));
        FactorbirdJob.build(tenv, tc);
        tenv.execute("train on the past");
        double frozenStream = rmse(model, future);
        double frozenLater = rmse(model, laterTest);

        Path watched = Files.createDirectories(tmp.resolve("incoming"));
        Path live = tmp.resolve("live");
        Map<String, String> s = new HashMap<>(Map.of("model", model.toString(), "input", watched.toString(),
                "output", live.toString(), "parallelism", "2", "ps", ps(), "checkpoint-seconds", "1",
                "export-every", "1", "batch-ms", "50", "monitor-ms", "100"));
        StreamConfig sc = StreamConfig.from(Configuration.fromMap(s), 32L);
        StreamExecutionEnvironment senv = StreamExecutionEnvironment.getExecutionEnvironment(StreamJob.flinkConfig(sc));
        StreamJob.build(senv, sc);
        JobClient job = senv.executeAsync("stream");
        StreamFile last = null;
        try {
            // the future arrives in 8 files, one every 300 ms (written aside, then moved in whole), plus a bad line
            int files = 8;
            for (int i = 0; i < files; i++) {
                List<String[]> part = new ArrayList<>(future.subList(i * future.size() / files,
                        (i + 1) * future.size() / files));
                Path aside = tmp.resolve("part-" + i + ".csv");
                write(aside, part);
                if (i == 3) {
                    Files.writeString(aside, "not,a,rating\n", java.nio.file.StandardOpenOption.APPEND);
                }
                Files.move(aside, watched.resolve("part-" + i + ".csv"), StandardCopyOption.ATOMIC_MOVE);
                Thread.sleep(300);
            }
            long deadline = System.currentTimeMillis() + 120_000;
            while (System.currentTimeMillis() < deadline) {
                String latest = Exports.latest(live.toString());
                if (latest != null) {
                    last = Json.read(new org.apache.flink.core.fs.Path(latest, StreamFile.NAME), StreamFile.class);
                    if (last.ratings() == future.size()) {
                        break;
                    }
                }
                Thread.sleep(200);
            }
        } finally {
            job.cancel().get();
        }
        assertNotNull(last, "no complete export");
        assertEquals(future.size(), last.ratings(), "every streamed rating trained on once");
        assertEquals(1, last.skippedLines());
        Path export = Path.of(Exports.latest(live.toString()));
        double exported = rmse(export, laterTest);
        System.out.printf("stream of %,d ratings: prequential RMSE %.4f vs the frozen model's %.4f on them; later "
                + "held-out (%,d): export %.4f vs frozen %.4f%n", future.size(), last.prequentialRmse(), frozenStream,
                laterTest.size(), exported, frozenLater);
        assertTrue(last.prequentialRmse() < 0.98 * frozenStream, "prequential " + last.prequentialRmse()
                + " vs frozen " + frozenStream);
        assertTrue(exported < frozenLater, "export " + exported + " vs frozen " + frozenLater);
    }
}
