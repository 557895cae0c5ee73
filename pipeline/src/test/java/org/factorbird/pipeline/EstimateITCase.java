package org.factorbird.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.factorbird.pipeline.model.EpochRecord;
import org.factorbird.pipeline.model.ModelFile;
import org.factorbird.pipeline.data.PlantedData;
import org.factorbird.ps.server.PsServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The estimate against what a small run measures: PS table bytes, keyed state per subtask, bytes and requests per
 * epoch.
 */
class EstimateITCase {

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2)
                    .build());

    @TempDir
    Path tmp;

    static double[] perShard(ModelFile model, String field, int epoch) {
        EpochRecord e = model.epochs().stream().filter(r -> r.epoch() == epoch).findFirst()
                .orElseThrow(() -> new AssertionError("no epoch " + epoch + " in " + model));
        long[] v = field.equals("psBytesPerShard") ? e.psBytesPerShard() : e.psRequestsPerShard();
        return java.util.Arrays.stream(v).asDoubleStream().toArray();
    }

    @Test
    void estimateIsWithinAQuarterOfTheMeasuredRun() throws Exception {
        PlantedData planted = new PlantedData(4000, 3000, 400_000, 6, 0.3, 0.0, 0.1, 5L, 2);
        Path data = tmp.resolve("data");
        planted.write(data);
        // the tables are measured after the job: the servers keep a finished run's table for a minute
        try (PsServer a = PsServer.builder().port(0).shard(0, 2).runLingerMillis(60_000).start();
                PsServer b = PsServer.builder().port(0).shard(1, 2).runLingerMillis(60_000).start()) {
            Map<String, String> m = new HashMap<>(Map.of("input", data.resolve("train").toString(), "test",
                    data.resolve("test").toString(), "output", tmp.resolve("out").toString(), "parallelism", "2",
                    "rank", "10", "epochs", "2", "batch-rows", "256", "ps", a.address() + "," + b.address()));
            TrainConfig cfg = TrainConfig.from(Configuration.fromMap(m), 77L);
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(
                    FactorbirdJob.flinkConfig(cfg));
            FactorbirdJob.build(env, cfg);
            env.execute("estimate");

            ModelFile model = ModelFiles.model(tmp.resolve("out"));
            double bytes = java.util.Arrays.stream(perShard(model, "psBytesPerShard", 2)).sum();
            double requests = java.util.Arrays.stream(perShard(model, "psRequestsPerShard", 2)).sum();
            Estimate e = new Estimate(4000, 3000, 400_000, cfg.width(), 2, 2, 256,
                    planted.testWritten / 400_000.0, cfg.lossSample);
            double state = model.stateBytesPerSubtask();
            assertTrue(state > 0, "stateBytesPerSubtask in " + model);
            System.out.printf("estimate vs measured: bytes/epoch %.2f vs %.2f MB, requests/epoch %.0f vs %.0f, "
                    + "PS table %.2f vs %.2f MB per shard, keyed state %.2f vs %.2f MB per subtask%n",
                    e.bytesPerEpoch() / 1e6, bytes / 1e6, e.requestsPerEpoch(), requests,
                    e.psTableBytesPerShard() / 1e6, a.tableBytes() / 1e6, e.stateBytesPerSubtask() / 1e6, state / 1e6);
            assertEquals(state, e.stateBytesPerSubtask(), 0.25 * state);
            assertEquals(bytes, e.bytesPerEpoch(), 0.25 * bytes);
            assertEquals(requests, e.requestsPerEpoch(), 0.25 * requests);
            assertEquals(a.tableBytes(), e.psTableBytesPerShard(), 0.25 * a.tableBytes());
            assertEquals(b.tableBytes(), e.psTableBytesPerShard(), 0.25 * b.tableBytes());
        }
    }
}
