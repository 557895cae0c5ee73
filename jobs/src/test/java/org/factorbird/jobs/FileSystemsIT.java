package org.factorbird.jobs;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.stream.Stream;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.fs.FileStatus;
import org.apache.flink.core.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.factorbird.pipeline.data.PlantedData;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * hdfs:// and s3:// for --input, --test and --output, through the command line a user runs: HDFS from an
 * in-process MiniDFSCluster, S3 from an s3proxy process on loopback. Both are shut down even when a check fails.
 */
class FileSystemsIT {

    static final double SIGMA = 0.3;

    @TempDir
    static Path tmp;
    static Path data;

    @BeforeAll
    static void generate() throws IOException {
        data = tmp.resolve("data");
        new PlantedData(2000, 1000, 600_000, 8, SIGMA, 0.0, 0.1, 11L, 2).write(data);
    }

    private static String train(String input, String test, String output, String... extra) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        String[] base = {"train", "--input", input, "--test", test, "--output", output, "--rank", "10", "--epochs",
            "20", "--lambda", "0.02"};
        String[] args = Stream.concat(Stream.of(base), Stream.of(extra)).toArray(String[]::new);
        Factorbird.run(args, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        return bytes.toString(StandardCharsets.UTF_8);
    }

    /** Copies a directory tree between any two Flink file systems. */
    static void copy(org.apache.flink.core.fs.Path from, org.apache.flink.core.fs.Path to) throws IOException {
        FileSystem src = from.getFileSystem();
        FileSystem dst = to.getFileSystem();
        for (FileStatus st : src.listStatus(from)) {
            org.apache.flink.core.fs.Path target = new org.apache.flink.core.fs.Path(to, st.getPath().getName());
            if (st.isDir()) {
                copy(st.getPath(), target);
            } else {
                try (InputStream in = src.open(st.getPath());
                        OutputStream out = dst.create(target, FileSystem.WriteMode.OVERWRITE)) {
                    in.transferTo(out);
                }
            }
        }
    }

    static org.apache.flink.core.fs.Path local(Path p) {
        return new org.apache.flink.core.fs.Path(p.toUri());
    }

    @Test
    void trainsFromHdfsAndWritesFactorsToHdfs() throws Exception {
        org.apache.hadoop.conf.Configuration conf = new org.apache.hadoop.conf.Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, tmp.resolve("hdfs").toString());
        MiniDFSCluster dfs = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
        try {
            String base = "hdfs://localhost:" + dfs.getNameNodePort();
            copy(local(data), new org.apache.flink.core.fs.Path(base + "/ratings"));
            String out = train(base + "/ratings/train", base + "/ratings/test", base + "/model");
            assertTrue(out.contains("held-out RMSE"), out);
            Path back = tmp.resolve("from-hdfs");
            copy(new org.apache.flink.core.fs.Path(base + "/model"), local(Files.createDirectories(back)));
            double rmse = ClusterIT.checkOutput(back, data);
            System.out.printf("HDFS in and out: held-out RMSE %.4f = %.3f x sigma%n", rmse, rmse / SIGMA);
            assertTrue(rmse <= 1.10 * SIGMA, "held-out RMSE " + rmse);
        } finally {
            dfs.shutdown(true);
        }
    }

    @Test
    void trainsFromS3AndWritesFactorsToS3WithoutLeakingTheSecret() throws Exception {
        int port = ClusterIT.freePort();
        Path basedir = Files.createDirectories(tmp.resolve("s3"));
        Files.createDirectories(basedir.resolve("ratings-bucket"));
        Path props = tmp.resolve("s3proxy.properties");
        String secret = "local-secret-" + port;
        Files.writeString(props, String.join("\n", "s3proxy.endpoint=http://127.0.0.1:" + port,
                "s3proxy.authorization=aws-v2-or-v4", "s3proxy.identity=local-identity",
                "s3proxy.credential=" + secret, "jclouds.provider=filesystem",
                "jclouds.filesystem.basedir=" + basedir, ""));
        Path jar = Paths.get("target", "s3proxy", "s3proxy.jar").toAbsolutePath();
        assertTrue(Files.exists(jar), "s3proxy jar missing at " + jar + " (copied in pre-integration-test)");
        // A small shell keeps s3proxy on a leash: it stops it when told to (TERM) and when this JVM is gone, so a
        // test suite killed with -9 leaves no server behind.
        String javaBin = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        String leash = "\"" + javaBin + "\" -Xmx256m -jar '" + jar + "' --properties '" + props + "' & c=$!; "
                + "if [ -n \"$FACTORBIRD_PID_LOG\" ]; then echo $c >> \"$FACTORBIRD_PID_LOG\"; fi; "
                + "trap 'kill $c 2>/dev/null; exit 0' TERM; "
                + "while kill -0 " + ProcessHandle.current().pid() + " 2>/dev/null && kill -0 $c 2>/dev/null; do "
                + "sleep 1; done; kill $c 2>/dev/null; wait $c";
        Process s3 = new ProcessBuilder("bash", "-c", leash).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("s3proxy.log").toFile()).start();
        try {
            waitForPort(port, s3);
            String[] s3opts = {"--s3.endpoint", "http://127.0.0.1:" + port, "--s3.path.style.access", "true",
                "--s3.access-key", "local-identity", "--s3.secret-key", secret, "--s3.region", "us-east-1"};
            Configuration fs = new Configuration();
            for (int i = 0; i < s3opts.length; i += 2) {
                fs.setString(s3opts[i].substring(2), s3opts[i + 1]);
            }
            FileSystem.initialize(fs, null);
            String base = "s3://ratings-bucket";
            copy(local(data), new org.apache.flink.core.fs.Path(base + "/ratings"));
            String out = train(base + "/ratings/train", base + "/ratings/test", base + "/model", s3opts);
            assertTrue(out.contains("held-out RMSE"), out);
            assertFalse(out.contains(secret), "the secret key must not be printed");
            Path back = tmp.resolve("from-s3");
            copy(new org.apache.flink.core.fs.Path(base + "/model"), local(Files.createDirectories(back)));
            double rmse = ClusterIT.checkOutput(back, data);
            System.out.printf("S3 in and out: held-out RMSE %.4f = %.3f x sigma%n", rmse, rmse / SIGMA);
            assertTrue(rmse <= 1.10 * SIGMA, "held-out RMSE " + rmse);
            assertFalse(Files.readString(back.resolve("model.json")).contains(secret));
        } finally {
            s3.destroy();
            if (!s3.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                s3.destroyForcibly();
            }
        }
    }

    private static void waitForPort(int port, Process p) throws Exception {
        long deadline = System.currentTimeMillis() + 60_000;
        while (System.currentTimeMillis() < deadline) {
            assertTrue(p.isAlive(), "s3proxy exited; see its log");
            try (Socket s = new Socket("127.0.0.1", port)) {
                return;
            } catch (IOException e) {
                Thread.sleep(200);
            }
        }
        throw new AssertionError("s3proxy did not open port " + port + " within 60 s");
    }
}
