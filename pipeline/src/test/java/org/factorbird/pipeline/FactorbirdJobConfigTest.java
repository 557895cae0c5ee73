package org.factorbird.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.List;
import java.util.Map;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.state.rocksdb.RocksDBConfigurableOptions;
import org.junit.jupiter.api.Test;
import org.rocksdb.CompressionType;

/** The Flink settings a training job brings: parsed with Flink's own options, so a misspelt key or value fails. */
class FactorbirdJobConfigTest {

    private static TrainConfig config(String backend) {
        return TrainConfig.from(Configuration.fromMap(Map.of("input", "/tmp/in", "output", "/tmp/out",
                "state-backend", backend, "rocksdb-memory", "64mb")), 1L);
    }

    @Test
    void rocksDbStateIsNotCompressedAndHasItsFixedMemory() {
        Configuration c = FactorbirdJob.flinkConfig(config("rocksdb"));
        assertEquals(List.of(CompressionType.NO_COMPRESSION), c.get(RocksDBConfigurableOptions.COMPRESSION_PER_LEVEL));
        assertEquals("64 mb", c.getString(FactorbirdJob.ROCKSDB_FIXED_PER_SLOT, null));
    }

    @Test
    void heapStateSetsNoRocksDbOption() {
        Configuration c = FactorbirdJob.flinkConfig(config("heap"));
        assertFalse(c.containsKey(FactorbirdJob.ROCKSDB_COMPRESSION));
        assertFalse(c.containsKey(FactorbirdJob.ROCKSDB_FIXED_PER_SLOT));
    }
}
