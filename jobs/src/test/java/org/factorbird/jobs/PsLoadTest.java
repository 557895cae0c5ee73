package org.factorbird.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.factorbird.ps.server.PsServer;

import org.junit.jupiter.api.Test;

/** A short, bounded version of scripts/ps-load.sh: 16 clients for 4 s against 2 shards on loopback. */
class PsLoadTest {

    @Test
    void sixteenClientsWithoutErrorsAndBoundedMemory() throws Exception {
        try (PsServer a = PsServer.startLocal(0, 2); PsServer b = PsServer.startLocal(1, 2)) {
            PsLoad.Result r = PsLoad.run(List.of(a.address(), b.address()), 16, 4, 500, 10, 200_000);
            System.out.println("ps-load (test): " + r.summary(16));
            assertEquals(0, r.errors, r.firstError);
            assertTrue(r.requests > 100, "requests: " + r.requests);
            assertTrue(r.p99Micros > 0 && r.p99Micros < 2_000_000, "p99 " + r.p99Micros + " us");
            // 200k keys x 11 floats is ~9 MB of parameters (plus the table's slack); nothing else may accumulate
            assertTrue(r.heapAfterBytes - r.heapBeforeBytes < 128L << 20,
                    "heap grew by " + ((r.heapAfterBytes - r.heapBeforeBytes) >> 20) + " MB");
        }
    }
}
