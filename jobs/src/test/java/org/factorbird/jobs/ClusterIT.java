package org.factorbird.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.factorbird.pipeline.ModelFiles;
import org.factorbird.pipeline.data.PlantedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The way users run it: a standalone Flink cluster of 1 JobManager and 2 TaskManagers (separate JVMs, started by
 * scripts/flink-cluster.sh), 2 parameter-server processes (scripts/ps-cluster.sh), and the job jar submitted over
 * REST (scripts/submit.sh). Every process is stopped at the end, also when a check fails; if this JVM is killed,
 * the clusters stop themselves (--owner-pid).
 */
class ClusterIT {

    static final Path HOME = Paths.get("..").toAbsolutePath().normalize();
    static final double SIGMA = 0.3;

    @TempDir
    Path tmp;

    /** The planted set both tests train on: 2000 x 1000, 600k ratings, rank 8, noise SIGMA, 10% held out. */
    private Path planted() throws IOException {
        Path data = tmp.resolve("data");
        new PlantedData(2000, 1000, 600_000, 8, SIGMA, 0.0, 0.1, 11L, 2).write(data);
        return data;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Runs a project script; returns its output, failing the test (with the output) on a non-zero exit. */
    static String script(String name, String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(HOME.resolve("scripts").resolve(name).toString());
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        boolean done = p.waitFor(300, TimeUnit.SECONDS);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!done) {
            p.destroyForcibly();
        }
        assertTrue(done && p.exitValue() == 0, name + " " + String.join(" ", args) + " failed:\n" + out);
        return out;
    }

    /** Checks that every training id is written exactly once and returns the final held-out RMSE. */
    static double checkOutput(Path out, Path data) throws IOException {
        Set<Long>[] ids = ModelFiles.idsOf(data.resolve("train"));
        assertEquals(ids[0], ModelFiles.readFactors(out.resolve("rows")).keySet()); // readFactors fails on a duplicate
        assertEquals(ids[1], ModelFiles.readFactors(out.resolve("columns")).keySet());
        return rmseOf(out);
    }

    static double rmseOf(Path out) throws IOException {
        return ModelFiles.model(out).finalTestRmse();
    }

    static long pidOf(Path pidFile) throws IOException {
        return Long.parseLong(Files.readString(pidFile).strip());
    }

    /** A Flink cluster (1 JobManager + 2 TaskManagers) and 2 PS processes on free loopback ports, for one test. */
    static final class Clusters {
        final int rest;
        final int ps0;
        final int ps1;
        final String owner = String.valueOf(ProcessHandle.current().pid());
        final Path flinkDir;
        final Path psConf;
        final Path psRun;
        final Path psLogs;

        Clusters(Path tmp, String clusterId) throws IOException {
            rest = freePort();
            ps0 = freePort();
            ps1 = freePort();
            flinkDir = tmp.resolve("flink");
            psRun = tmp.resolve("ps-run");
            psLogs = tmp.resolve("ps-logs");
            psConf = Files.createDirectories(tmp.resolve("conf")).resolve("ps-cluster.yaml");
            Files.writeString(psConf, String.join("\n", "cluster-id: " + clusterId, "heap: 256m",
                    "stats-interval: 1", "log-dir: " + psLogs, "pid-dir: " + psRun,
                    "log4j: " + HOME.resolve("conf/log4j-ps.properties"), "servers:",
                    "  - host: 127.0.0.1", "    port: " + ps0, "    shard: 0",
                    "  - host: 127.0.0.1", "    port: " + ps1, "    shard: 1", ""));
        }

        /** Starts both; they stop by themselves if this JVM dies (--owner-pid). */
        void start() throws Exception {
            script("flink-cluster.sh", "start", "--dir", flinkDir.toString(), "--taskmanagers", "2", "--slots", "2",
                    "--rest-port", String.valueOf(rest), "--rpc-port", String.valueOf(freePort()), "--tm-memory",
                    "1280m", "--owner-pid", owner);
            startPs();
        }

        /** Starts the PS shards that are not running. */
        void startPs() throws Exception {
            script("ps-cluster.sh", "start", "--config", psConf.toString(), "--owner-pid", owner);
        }

        String ps() {
            return "127.0.0.1:" + ps0 + ",127.0.0.1:" + ps1;
        }

        void stop() throws Exception {
            script("ps-cluster.sh", "stop", "--config", psConf.toString());
            script("flink-cluster.sh", "stop", "--dir", flinkDir.toString());
        }
    }

    @Test
    void survivesAKilledPsProcessAndAKilledTaskManager() throws Exception {
        Path data = planted();
        Clusters c = new Clusters(tmp, "faults");
        int rest = c.rest;
        Path flinkDir = c.flinkDir;
        String ps = c.ps();
        try {
            c.start();
            String[] train = {"train", "--input", data.resolve("train").toString(), "--test",
                data.resolve("test").toString(), "--ps", ps, "--rank", "10", "--epochs", "60", "--lambda", "0.02",
                "--batch-rows", "16", "--snapshot-every", "3"};

            Path clean = tmp.resolve("clean");
            List<String> args = new ArrayList<>(List.of("--rest", "localhost:" + rest, "--parallelism", "2", "--"));
            args.addAll(List.of(train));
            List<String> cleanArgs = new ArrayList<>(args);
            cleanArgs.addAll(List.of("--output", clean.toString(), "--snapshot-dir", tmp.resolve("snap-clean").toString()));
            script("submit.sh", cleanArgs.toArray(new String[0]));
            double reference = rmseOf(clean);

            Path out = tmp.resolve("faulty");
            Path snaps = tmp.resolve("snap-faulty");
            List<String> cmd = new ArrayList<>(List.of(HOME.resolve("scripts/submit.sh").toString()));
            cmd.addAll(args);
            cmd.addAll(List.of("--output", out.toString(), "--snapshot-dir", snaps.toString()));
            int[] seenBefore = {occurrences(flinkDir.resolve("log/taskmanager-1.out"), "epoch 15/60"),
                occurrences(flinkDir.resolve("log/taskmanager-2.out"), "epoch 15/60")};
            Process submit = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(tmp.resolve("submit.log").toFile()).start();
            try {
                awaitFile(snaps.resolve("epoch-00006/_MANIFEST"), submit);
                // kill -9 of PS shard 1 in the middle of epoch 7; the cluster script brings it back (empty)
                ProcessHandle shard1 = ProcessHandle.of(pidOf(c.psRun.resolve("ps-1.pid"))).orElseThrow();
                shard1.destroyForcibly();
                shard1.onExit().get(10, TimeUnit.SECONDS);
                c.startPs();
                awaitFile(snaps.resolve("epoch-00015/_MANIFEST"), submit);
                // kill -9 of the TaskManager running subtask 0 (it printed epoch 15) in the middle of epoch 16:
                // the job restarts on the other one
                int victim = occurrences(flinkDir.resolve("log/taskmanager-1.out"), "epoch 15/60") > seenBefore[0]
                        ? 1 : 2;
                ProcessHandle tm = ProcessHandle.of(pidOf(flinkDir.resolve("taskmanager-" + victim + ".pid")))
                        .orElseThrow();
                tm.destroyForcibly();
                tm.onExit().get(10, TimeUnit.SECONDS);
                assertTrue(submit.waitFor(300, TimeUnit.SECONDS), "the job did not finish");
                assertEquals(0, submit.exitValue(), Files.readString(tmp.resolve("submit.log")));
            } finally {
                submit.destroyForcibly();
            }
            String progress = Files.readString(flinkDir.resolve("log/taskmanager-1.out"))
                    + Files.readString(flinkDir.resolve("log/taskmanager-2.out"));
            // two recoveries, each from a complete snapshot at or after the one that existed at the kill
            Matcher resumed = Pattern.compile("resuming after epoch ([0-9]+)").matcher(progress);
            List<Integer> epochs = new ArrayList<>();
            while (resumed.find()) {
                epochs.add(Integer.parseInt(resumed.group(1)));
            }
            // (a restart that finds the killed PS not yet back fails and resumes once more from the same snapshot)
            assertTrue(epochs.size() >= 2, progress);
            epochs.sort(Integer::compare); // the lines may sit in different TaskManagers' files
            assertTrue(epochs.get(0) >= 6 && epochs.get(epochs.size() - 1) >= 15, "resumed after " + epochs);
            double rmse = checkOutput(out, data);
            System.out.printf("killed PS shard 1 (resumed after epoch %d) and a TaskManager (resumed after epoch %d): "
                    + "held-out RMSE %.4f vs %.4f fault-free (%+.2f%%)%n", epochs.get(0), epochs.get(epochs.size() - 1),
                    rmse, reference,
                    100 * (rmse / reference - 1));
            assertEquals(reference, rmse, 0.02 * reference);
        } finally {
            c.stop();
        }
    }

    static int occurrences(Path file, String text) throws IOException {
        if (!Files.exists(file)) {
            return 0;
        }
        String s = Files.readString(file);
        int n = 0;
        for (int at = s.indexOf(text); at >= 0; at = s.indexOf(text, at + 1)) {
            n++;
        }
        return n;
    }

    static void awaitFile(Path file, Process job) throws Exception {
        long deadline = System.currentTimeMillis() + 240_000;
        while (!Files.exists(file)) {
            assertTrue(job.isAlive(), "the job ended before " + file + " appeared");
            assertTrue(System.currentTimeMillis() < deadline, "no " + file + " within 240 s");
            Thread.sleep(20);
        }
    }

    @Test
    void jobJarOnAMultiProcessFlinkClusterWithTwoPsProcesses() throws Exception {
        Path data = planted();
        Clusters c = new Clusters(tmp, "it-cluster");
        int rest = c.rest;
        int ps0 = c.ps0;
        int ps1 = c.ps1;
        Path flinkDir = c.flinkDir;
        Path psConf = c.psConf;
        try {
            c.start();
            Path out = tmp.resolve("out");
            String submitted = script("submit.sh", "--rest", "localhost:" + rest, "--parallelism", "2", "--",
                    "train", "--input", data.resolve("train").toString(), "--test", data.resolve("test").toString(),
                    "--output", out.toString(), "--ps", "127.0.0.1:" + ps0 + ",127.0.0.1:" + ps1,
                    "--ps-cluster-id", "it-cluster", "--rank", "10", "--epochs", "20", "--lambda", "0.02");
            assertTrue(submitted.contains("finished"), submitted);
            double rmse = checkOutput(out, data);
            System.out.printf("Flink cluster (1 JM + 2 TM processes), 2 PS processes: held-out RMSE %.4f = %.3f x "
                    + "sigma%n", rmse, rmse / SIGMA);
            assertTrue(rmse <= 1.10 * SIGMA, "held-out RMSE " + rmse);
            // the progress lines went to a TaskManager's stdout
            String tmOut = Files.readString(flinkDir.resolve("log/taskmanager-1.out"))
                    + Files.readString(flinkDir.resolve("log/taskmanager-2.out"));
            assertTrue(tmOut.contains("epoch 20/20"), tmOut);
            // the PS processes answer STATUS and logged their traffic rates
            String status = script("ps-cluster.sh", "status", "--config", psConf.toString());
            assertTrue(status.contains("shard 0/2") && status.contains("shard 1/2"), status);
            String psLog = Files.readString(tmp.resolve("ps-logs/ps-0.log"));
            assertTrue(psLog.matches("(?s).*shard 0: [0-9]+ requests/s, [0-9]+ keys/s, in [0-9.]+ MB/s.*"), psLog);

            // a job naming another PS cluster is refused with one line
            Process wrong = new ProcessBuilder(HOME.resolve("scripts/submit.sh").toString(), "--rest",
                    "localhost:" + rest, "--", "train", "--input", data.resolve("train").toString(), "--output",
                    tmp.resolve("out2").toString(), "--ps", "127.0.0.1:" + ps0 + ",127.0.0.1:" + ps1,
                    "--ps-cluster-id", "another").redirectErrorStream(true).start();
            assertTrue(wrong.waitFor(120, TimeUnit.SECONDS));
            String msg = new String(wrong.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            assertEquals(1, wrong.exitValue(), msg);
            assertTrue(msg.contains("belongs to cluster 'it-cluster', the client expects cluster 'another'"), msg);
        } finally {
            c.stop();
        }
    }
}
