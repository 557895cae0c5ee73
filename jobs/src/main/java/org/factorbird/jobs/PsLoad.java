package org.factorbird.jobs;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;

import org.HdrHistogram.Histogram;
import org.factorbird.ps.TableSpec;
import org.factorbird.ps.PsClient;
import org.factorbird.ps.PsClientConfig;
import org.factorbird.ps.cli.Cli;
import org.factorbird.ps.server.PsServer;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code scripts/ps-load.sh}: a bounded load test of a PS cluster: C concurrent clients, each alternating a
 * batched pull and a batched push of K random keys for S seconds, one request in flight per client (latency = one
 * round trip). Prints requests/s, keys/s, p50/p99/max latency, errors and the heap. Traffic goes to the servers
 * given (loopback addresses) or to an embedded cluster. A client of the servers, so it lives with the jobs.
 */
@Command(name = "ps-load", sortOptions = false, showDefaultValues = true,
        description = "Load test of a parameter-server cluster (or of an embedded one).")
public final class PsLoad implements Callable<Integer> {

    @Mixin
    Cli.Help help;

    @Option(names = "--clients", paramLabel = "C", defaultValue = "16", description = "Concurrent clients, 1-256.")
    int clients;

    @Option(names = "--seconds", paramLabel = "S", defaultValue = "60", description = "Duration, at most 3600.")
    double seconds;

    @Option(names = "--keys", paramLabel = "K", defaultValue = "1000", description = "Keys per request.")
    int keys;

    @Option(names = "--rank", paramLabel = "R", defaultValue = "10", description = "Rank of the table.")
    int rank;

    @Option(names = "--key-space", paramLabel = "N", defaultValue = "1000000", description = "Distinct keys.")
    int keySpace;

    @Option(names = "--shards", paramLabel = "N", defaultValue = "2", description = "Shards of the embedded "
            + "cluster (without --ps).")
    int shards;

    @Option(names = "--ps", paramLabel = "HOST:PORT,...", split = ",", description = "Servers in shard order; "
            + "default: an embedded cluster.")
    List<String> ps;

    /** What one run measured. */
    public static final class Result {
        public long requests;
        public long keys;
        public long errors;
        public double seconds;
        public long p50Micros;
        public long p99Micros;
        public long maxMicros;
        public long heapBeforeBytes;
        public long heapAfterBytes;
        public String firstError;

        public String summary(int clients) {
            return String.format(Locale.ROOT, "%d clients, %.1f s: %,.0f requests/s, %,.0f keys/s; latency p50 %.2f ms, "
                    + "p99 %.2f ms, max %.2f ms; %d errors%s; heap %d MB before, %d MB after (after GC)", clients,
                    seconds, requests / seconds, keys / seconds, p50Micros / 1000.0, p99Micros / 1000.0,
                    maxMicros / 1000.0, errors, firstError == null ? "" : " (first: " + firstError + ")",
                    heapBeforeBytes >> 20, heapAfterBytes >> 20);
        }
    }

    public static void main(String[] args) {
        Cli.exit(new PsLoad(), args);
    }

    @Override
    public Integer call() throws InterruptedException {
        check(seconds > 0 && seconds <= 3600, "--seconds must be in (0, 3600] but was " + seconds);
        check(clients >= 1 && clients <= 256, "--clients must be in [1, 256] but was " + clients);
        check(keys >= 1, "--keys must be >= 1 but was " + keys);
        check(keySpace >= keys, "--key-space must be >= --keys (" + keys + ") but was " + keySpace);
        check(rank >= 1, "--rank must be >= 1 but was " + rank);
        check(shards >= 1, "--shards must be >= 1 but was " + shards);
        List<PsServer> embedded = new ArrayList<>();
        List<String> servers = new ArrayList<>();
        if (ps == null) {
            for (int s = 0; s < shards; s++) {
                PsServer server = PsServer.startLocal(s, shards);
                embedded.add(server);
                servers.add(server.address());
            }
        } else {
            servers.addAll(ps);
        }
        try {
            Result r = run(servers, clients, seconds, keys, rank, keySpace);
            System.out.println("ps-load: " + r.summary(clients));
            return r.errors > 0 ? Cli.FAILED : 0;
        } finally {
            embedded.forEach(PsServer::close);
        }
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new Cli.Failure(message, Cli.USAGE);
        }
    }

    private static long usedHeapAfterGc() {
        Runtime rt = Runtime.getRuntime();
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return rt.totalMemory() - rt.freeMemory();
    }

    /** Runs the load against {@code servers}; bounded by {@code seconds}. */
    public static Result run(List<String> servers, int clients, double seconds, int keysPerRequest, int rank,
            int keySpace) throws InterruptedException {
        TableSpec spec = TableSpec.single(rank + 1, 1, 0x10ADL, 1L, 0.1f);
        Result result = new Result();
        result.heapBeforeBytes = usedHeapAfterGc();
        // one histogram per client (microseconds, 3 significant digits), added up at the end
        Histogram[] latencies = new Histogram[clients];
        AtomicLong errors = new AtomicLong();
        List<String> firstError = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        long end = System.nanoTime() + (long) (seconds * 1e9);
        long t0 = System.nanoTime();
        for (int c = 0; c < clients; c++) {
            int id = c;
            latencies[c] = new Histogram(3);
            Thread t = new Thread(() -> {
                SplittableRandom r = new SplittableRandom(id);
                long[] keys = new long[keysPerRequest];
                float[] values = new float[keysPerRequest * (rank + 1)];
                try (PsClient client = PsClient.connect(new PsClientConfig(servers, spec).maxInFlight(1))) {
                    int n = 0;
                    while (System.nanoTime() < end) {
                        // distinct keys per request: a random stride through the key space
                        long start = r.nextInt(keySpace);
                        long stride = 1 + 2 * r.nextInt(1000);
                        for (int i = 0; i < keysPerRequest; i++) {
                            keys[i] = (start + i * stride) % keySpace;
                        }
                        long s = System.nanoTime();
                        if ((n & 1) == 0) {
                            client.await(client.pull(keys, keysPerRequest, values, false));
                        } else {
                            Arrays.fill(values, 1e-6f);
                            client.await(client.push(keys, keysPerRequest, values));
                        }
                        latencies[id].recordValue((System.nanoTime() - s) / 1000);
                        n++;
                    }
                } catch (RuntimeException e) {
                    errors.incrementAndGet();
                    synchronized (firstError) {
                        if (firstError.isEmpty()) {
                            firstError.add(e.getMessage());
                        }
                    }
                }
            }, "ps-load-" + c);
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        result.seconds = (System.nanoTime() - t0) / 1e9;
        Histogram all = new Histogram(3);
        for (Histogram h : latencies) {
            all.add(h);
        }
        result.requests = all.getTotalCount();
        result.keys = result.requests * keysPerRequest;
        result.errors = errors.get();
        result.firstError = firstError.isEmpty() ? null : firstError.get(0);
        if (result.requests > 0) {
            result.p50Micros = all.getValueAtPercentile(50);
            result.p99Micros = all.getValueAtPercentile(99);
            result.maxMicros = all.getMaxValue();
        }
        result.heapAfterBytes = usedHeapAfterGc();
        return result;
    }
}
