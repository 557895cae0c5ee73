package org.factorbird.pipeline;

import static org.factorbird.pipeline.ModelFiles.model;
import static org.factorbird.pipeline.ModelFiles.readFactors;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.factorbird.pipeline.model.EpochRecord;
import org.factorbird.pipeline.train.TrainHooks;
import org.factorbird.pipeline.model.ModelFile;
import org.factorbird.pipeline.data.PlantedData;
import org.factorbird.ps.server.PsServer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Epoch-consistent snapshots: warm starts, and recovery when a parameter server dies in the middle of a run. */
class RecoveryITCase {

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(2).setNumberSlotsPerTaskManager(2)
                    .build());

    @TempDir
    static Path tmp;
    static Path data;

    @BeforeAll
    static void generate() throws IOException {
        data = tmp.resolve("data");
        new PlantedData(2000, 1000, 600_000, 8, 0.3, 0.0, 0.1, 11L, 2).write(data);
    }

    static TrainConfig config(Path out, List<PsServer> ps, Map<String, String> extra) {
        Map<String, String> m = new HashMap<>(Map.of("input", data.resolve("train").toString(), "test",
                data.resolve("test").toString(), "output", out.toString(), "parallelism", "2", "rank", "10",
                "lambda", "0.02", "batch-rows", "16", "ps-timeout-ms", "20000"));
        m.put("ps", ps.get(0).address() + "," + ps.get(1).address());
        m.putAll(extra);
        return TrainConfig.from(Configuration.fromMap(m), System.nanoTime() | 1);
    }

    static JobClient start(TrainConfig cfg) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(
                FactorbirdJob.flinkConfig(cfg));
        FactorbirdJob.build(env, cfg);
        return env.executeAsync("recovery test");
    }

    static void assertComplete(Path out) throws IOException {
        Set<Long>[] ids = ModelFiles.idsOf(data.resolve("train"));
        assertEquals(ids[0], readFactors(out.resolve("rows")).keySet());
        assertEquals(ids[1], readFactors(out.resolve("columns")).keySet());
    }

    @Test
    void aDeadParameterServerIsRestartedAndTheRunResumesFromTheLastSnapshot() throws Exception {
        PsServer ps0 = PsServer.startLocal(0, 2);
        PsServer ps1 = PsServer.startLocal(1, 2);
        try {
            // fault-free reference
            Path clean = tmp.resolve("clean");
            start(config(clean, List.of(ps0, ps1), Map.of("epochs", "30", "snapshot-dir",
                    tmp.resolve("snap-clean").toString(), "snapshot-every", "3"))).getJobExecutionResult().get();
            double reference = model(clean).finalTestRmse();
            assertTrue(Files.exists(tmp.resolve("snap-clean/epoch-00030/_MANIFEST")));

            // the same run; shard 1 dies right after the snapshot of epoch 6 (a hook in the training loop, no
            // timing) and comes back on the same port, empty
            Path out = tmp.resolve("faulty");
            Path snaps = tmp.resolve("snap-faulty");
            PsServer[] shard1 = {ps1};
            long[] restart = new long[2];
            TrainHooks.afterEpoch = epoch -> {
                if (epoch == 6) {
                    int port = shard1[0].port();
                    restart[0] = System.nanoTime();
                    shard1[0].close();
                    shard1[0] = PsServer.builder().port(port).shard(1, 2).start();
                    restart[1] = System.nanoTime();
                }
            };
            try {
                start(config(out, List.of(ps0, ps1), Map.of("epochs", "30", "snapshot-dir", snaps.toString(),
                        "snapshot-every", "3"))).getJobExecutionResult().get();
            } finally {
                TrainHooks.afterEpoch = null;
                ps1 = shard1[0];
            }
            assertTrue(restart[1] > 0, "the hook ran after epoch 6");
            System.out.printf("shard 1 restarted in %.1f s; the job finished %.1f s later%n",
                    (restart[1] - restart[0]) / 1e9, (System.nanoTime() - restart[1]) / 1e9);

            ModelFile model = model(out);
            int resumed = model.resumedFromEpoch();
            double rmse = model.finalTestRmse();
            System.out.printf("PS failure after epoch 6: resumed from epoch %d; held-out RMSE %.4f vs %.4f "
                    + "fault-free (%+.2f%%)%n", resumed, rmse, reference, 100 * (rmse / reference - 1));
            assertEquals(6, resumed, "resumed from the snapshot taken just before the fault");
            assertEquals(reference, rmse, 0.02 * reference);
            assertComplete(out);
        } finally {
            ps0.close();
            ps1.close();
        }
    }

    @Test
    void resumeWarmStartsANewRunFromAFinishedOne() throws Exception {
        try (PsServer ps0 = PsServer.startLocal(0, 2); PsServer ps1 = PsServer.startLocal(1, 2)) {
            Path snaps = tmp.resolve("snap-first");
            start(config(tmp.resolve("first"), List.of(ps0, ps1), Map.of("epochs", "4", "snapshot-dir",
                    snaps.toString(), "snapshot-every", "10"))).getJobExecutionResult().get();
            assertTrue(Files.exists(snaps.resolve("epoch-00004/_MANIFEST")), "a final snapshot is always written");
            double first = model(tmp.resolve("first")).finalTestRmse();

            Path out = tmp.resolve("second");
            start(config(out, List.of(ps0, ps1), Map.of("epochs", "6", "resume", snaps.toString())))
                    .getJobExecutionResult().get();
            ModelFile model = model(out);
            assertEquals(4, model.resumedFromEpoch());
            assertEquals(List.of(5, 6), model.epochs().stream().map(EpochRecord::epoch).toList(), "" + model);
            double second = model.finalTestRmse();
            assertTrue(second < first, "two more epochs from a warm start: " + second + " vs " + first);
            assertComplete(out);
        }
    }
}
