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

import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
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
 * {@code stream} on a MiniCluster of 2 TaskManagers against 2 real PS shards: MovieLens split by time, a model
 * trained on the first half, the second half dropped into the watched directory file by file; the prequential
 * error of the stream against the frozen model's on the same ratings, the last export against the frozen model on
 * the later held-out ratings, and a TaskManager terminated mid-stream (restart from a checkpoint: every rating
 * counted once, the error within 2% of the fault-free run).
 */
class StreamITCase {

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2)
                    .build());

    @TempDir
    static Path tmp;
    static final List<PsServer> servers = new ArrayList<>();

    static List<String[]> future;
    static List<String[]> laterTest;
    static Path model;
    static double frozenStream;
    static double frozenLater;
    /** The fault-free run's prequential RMSE, once it ran. */
    static Double faultFree;

    /** MovieLens split by time; a model trained on the first half. */
    @BeforeAll
    static void start() throws Exception {
        servers.add(PsServer.startLocal(0, 2));
        servers.add(PsServer.startLocal(1, 2));
        Path ml = MovieLens.require();
        List<String[]> train = lines(ml.resolve("train.csv"));
        train.sort(Comparator.comparingLong(r -> Long.parseLong(r[3])));
        List<String[]> past = train.subList(0, train.size() / 2);
        future = new ArrayList<>(train.subList(train.size() / 2, train.size()));
        long cut = Long.parseLong(future.get(0)[3]);
        laterTest = new ArrayList<>();
        for (String[] r : lines(ml.resolve("test.csv"))) {
            if (Long.parseLong(r[3]) >= cut) {
                laterTest.add(r);
            }
        }
        Path pastDir = Files.createDirectories(tmp.resolve("past"));
        write(pastDir.resolve("past.csv"), past);
        model = tmp.resolve("model");
        Map<String, String> t = new HashMap<>(Map.of("input", pastDir.toString(), "output", model.toString(),
                "parallelism", "2", "ps", ps()));
        TrainConfig tc = TrainConfig.from(Configuration.fromMap(t), 31L);
        StreamExecutionEnvironment tenv = StreamExecutionEnvironment.getExecutionEnvironment(
                FactorbirdJob.flinkConfig(tc));
        FactorbirdJob.build(tenv, tc);
        tenv.execute("train on the past");
        frozenStream = rmse(model, future);
        frozenLater = rmse(model, laterTest);
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

    /** The highest attempt number of any subtask in the last {@link #stream} run (0: never restarted). */
    static int restarts;

    /** The files of the future, with one malformed line in the fourth and a binary file beside it. */
    static final int FILES = 8;

    /**
     * Streams the future into a new watched directory on a MiniCluster of 2 TaskManagers x 2 slots, one file every
     * 300 ms; with {@code kill}, TaskManager 0 is terminated once half the files are in and a checkpoint holds some
     * of them. Returns the stream.json of the export that has every rating, and that export's directory.
     */
    static Object[] stream(String name, boolean kill) throws Exception {
        Path watched = Files.createDirectories(tmp.resolve(name + "-incoming"));
        Path live = tmp.resolve(name + "-live");
        Map<String, String> s = new HashMap<>(Map.of("model", model.toString(), "input", watched.toString(),
                "output", live.toString(), "parallelism", "2", "ps", ps(), "checkpoint-seconds", "1",
                "export-every", "1", "batch-ms", "50", "monitor-ms", "100"));
        StreamConfig sc = StreamConfig.from(Configuration.fromMap(s), 32L);
        Configuration conf = StreamJob.flinkConfig(sc);
        // one subtask per TaskManager, so that terminating one surely kills a running subtask
        conf.setString("taskmanager.load-balance.mode", "SLOTS");
        conf.setString("cluster.evenly-spread-out-slots", "true");
        MiniClusterConfiguration mc = new MiniClusterConfiguration.Builder().setConfiguration(conf)
                .setNumTaskManagers(2).setNumSlotsPerTaskManager(2).build();
        StreamFile last = null;
        try (MiniCluster cluster = new MiniCluster(mc)) {
            cluster.start();
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
            StreamJob.build(env, sc);
            JobID job = cluster.submitJob(env.getStreamGraph().getJobGraph()).get().getJobID();
            for (int i = 0; i < FILES; i++) {
                List<String[]> part = new ArrayList<>(future.subList(i * future.size() / FILES,
                        (i + 1) * future.size() / FILES));
                Path aside = tmp.resolve(name + "-part-" + i + ".csv");
                write(aside, part);
                if (i == 3) {
                    Files.writeString(aside, "not,a,rating\n", java.nio.file.StandardOpenOption.APPEND);
                    // and a gzip file under a plain name: one skipped record, the job goes on
                    Path binary = tmp.resolve(name + "-binary.csv");
                    try (java.io.OutputStream o = new java.util.zip.GZIPOutputStream(Files.newOutputStream(binary))) {
                        o.write("1,2,3\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
                    }
                    Files.move(binary, watched.resolve("binary.csv"), StandardCopyOption.ATOMIC_MOVE);
                }
                Files.move(aside, watched.resolve("part-" + i + ".csv"), StandardCopyOption.ATOMIC_MOVE);
                Thread.sleep(300);
                if (kill && i == FILES / 2 - 1) {
                    waitFor(live, n -> n > 0, 60_000);
                    cluster.terminateTaskManager(0).get();
                    System.out.println("terminated TaskManager 0 after " + (i + 1) + " of " + FILES + " files");
                }
            }
            last = waitFor(live, n -> n == future.size(), 120_000);
            restarts = 0;
            for (var v : cluster.getArchivedExecutionGraph(job).get().getAllExecutionVertices()) {
                restarts = Math.max(restarts, v.getCurrentExecutionAttempt().getAttemptNumber());
            }
            cluster.cancelJob(job).get();
        }
        return new Object[] {last, Path.of(Exports.latest(live.toString()))};
    }

    /** The stream.json of the newest complete export once its ratings satisfy {@code done}; null on time-out. */
    static StreamFile waitFor(Path live, java.util.function.LongPredicate done, long millis) throws Exception {
        long deadline = System.currentTimeMillis() + millis;
        StreamFile last = null;
        while (System.currentTimeMillis() < deadline) {
            String latest = Exports.latest(live.toString());
            if (latest != null) {
                last = Json.read(new org.apache.flink.core.fs.Path(latest, StreamFile.NAME), StreamFile.class);
                if (done.test(last.ratings())) {
                    return last;
                }
            }
            Thread.sleep(100);
        }
        return last;
    }

    @Test
    void aStreamKeepsTheModelFreshAndItsExportsBeatTheFrozenModel() throws Exception {
        Object[] r = stream("plain", false);
        StreamFile last = (StreamFile) r[0];
        assertNotNull(last, "no complete export");
        assertEquals(future.size(), last.ratings(), "every streamed rating trained on once");
        assertEquals(2, last.skippedLines(), "the malformed line and the binary file");
        double exported = rmse((Path) r[1], laterTest);
        System.out.printf("stream of %,d ratings: prequential RMSE %.4f vs the frozen model's %.4f on them; later "
                + "held-out (%,d): export %.4f vs frozen %.4f%n", future.size(), last.prequentialRmse(), frozenStream,
                laterTest.size(), exported, frozenLater);
        assertTrue(last.prequentialRmse() < 0.98 * frozenStream, "prequential " + last.prequentialRmse()
                + " vs frozen " + frozenStream);
        assertTrue(exported < frozenLater, "export " + exported + " vs frozen " + frozenLater);
        faultFree = last.prequentialRmse();

        // the export is also a snapshot for train --resume: one more epoch over the past, from the streamed model
        Path resumed = tmp.resolve("resumed");
        int epochs = ModelFiles.model(model).settings().epochs();
        TrainConfig tc = TrainConfig.from(Configuration.fromMap(Map.of("input", tmp.resolve("past").toString(),
                "output", resumed.toString(), "parallelism", "2", "ps", ps(), "resume",
                ((Path) r[1]).resolve("snapshot").toString(), "epochs", String.valueOf(epochs + 1))), 33L);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(
                FactorbirdJob.flinkConfig(tc));
        FactorbirdJob.build(env, tc);
        env.execute("resume from an export");
        assertEquals(epochs, ModelFiles.model(resumed).resumedFromEpoch());
        assertEquals(1, ModelFiles.model(resumed).epochs().size());
    }

    @Test
    void aTaskManagerKilledMidStreamLosesNoRatingAndTrainsNoneTwice() throws Exception {
        Object[] r = stream("killed", true);
        StreamFile last = (StreamFile) r[0];
        assertNotNull(last, "no complete export");
        // the restart resumed from a checkpoint: its rows, source position and columns; every rating counted once
        assertTrue(restarts > 0, "the job did not restart: the killed TaskManager ran no subtask");
        assertEquals(future.size(), last.ratings(), "ratings trained on after the restart");
        assertEquals(2, last.skippedLines(), "the malformed line and the binary file");
        double reference = faultFree != null ? faultFree : ((StreamFile) stream("reference", false)[0])
                .prequentialRmse();
        System.out.printf("TaskManager killed mid-stream: prequential RMSE %.4f vs %.4f fault-free (%+.2f%%)%n",
                last.prequentialRmse(), reference, 100 * (last.prequentialRmse() / reference - 1));
        assertEquals(reference, last.prequentialRmse(), 0.02 * reference);
    }
}
