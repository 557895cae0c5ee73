package org.factorbird.ps.server;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

import org.factorbird.ps.ModelSpec;
import org.factorbird.ps.PsClient;
import org.factorbird.ps.PsClientConfig;

/**
 * A bounded load test of a PS cluster on this machine: C concurrent clients, each alternating a batched pull and a
 * batched push of K random keys for S seconds, one request in flight per client (latency = one round trip).
 * Prints requests/s, keys/s, p50/p99/max latency, errors and the servers' heap. Traffic goes to the servers given
 * (loopback addresses) or to an embedded cluster.
 *
 * <pre>ps-load [--clients 16] [--seconds 60] [--keys 1000] [--rank 10] [--key-space 1000000] [--shards 2]
 *         [--ps host:port,...]</pre>
 */
public final class PsLoad {

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
        ModelSpec spec = ModelSpec.single(rank + 1, 1, 0x10ADL, 1L, 0.1f);
        Result result = new Result();
        result.heapBeforeBytes = usedHeapAfterGc();
        long[][] latencies = new long[clients][];
        int[] counts = new int[clients];
        AtomicLong errors = new AtomicLong();
        List<String> firstError = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        long end = System.nanoTime() + (long) (seconds * 1e9);
        long t0 = System.nanoTime();
        for (int c = 0; c < clients; c++) {
            int id = c;
            latencies[c] = new long[1 << 16];
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
                        long micros = (System.nanoTime() - s) / 1000;
                        if (counts[id] == latencies[id].length) {
                            latencies[id] = Arrays.copyOf(latencies[id], counts[id] * 2);
                        }
                        latencies[id][counts[id]++] = micros;
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
        int total = 0;
        for (int c : counts) {
            total += c;
        }
        long[] all = new long[total];
        int at = 0;
        for (int c = 0; c < clients; c++) {
            System.arraycopy(latencies[c], 0, all, at, counts[c]);
            at += counts[c];
        }
        Arrays.sort(all);
        result.requests = total;
        result.keys = (long) total * keysPerRequest;
        result.errors = errors.get();
        result.firstError = firstError.isEmpty() ? null : firstError.get(0);
        if (total > 0) {
            result.p50Micros = all[(int) (total * 0.50)];
            result.p99Micros = all[Math.min(total - 1, (int) (total * 0.99))];
            result.maxMicros = all[total - 1];
        }
        result.heapAfterBytes = usedHeapAfterGc();
        return result;
    }

    public static void main(String[] args) throws InterruptedException {
        int clients = 16;
        double seconds = 60;
        int keys = 1000;
        int rank = 10;
        int keySpace = 1_000_000;
        int shards = 2;
        String ps = null;
        for (int i = 0; i + 1 < args.length; i += 2) {
            String v = args[i + 1];
            switch (args[i]) {
                case "--clients": clients = Integer.parseInt(v); break;
                case "--seconds": seconds = Double.parseDouble(v); break;
                case "--keys": keys = Integer.parseInt(v); break;
                case "--rank": rank = Integer.parseInt(v); break;
                case "--key-space": keySpace = Integer.parseInt(v); break;
                case "--shards": shards = Integer.parseInt(v); break;
                case "--ps": ps = v; break;
                default:
                    System.err.println("ps-load: unknown option " + args[i]);
                    System.exit(2);
            }
        }
        if (seconds <= 0 || seconds > 3600 || clients < 1 || clients > 256) {
            System.err.println("ps-load: --seconds must be in (0, 3600] and --clients in [1, 256]");
            System.exit(2);
        }
        List<PsServer> embedded = new ArrayList<>();
        List<String> servers = new ArrayList<>();
        if (ps == null) {
            for (int s = 0; s < shards; s++) {
                PsServer server = PsServer.startLocal(s, shards);
                embedded.add(server);
                servers.add(server.address());
            }
        } else {
            servers.addAll(Arrays.asList(ps.split(",")));
        }
        try {
            Result r = run(servers, clients, seconds, keys, rank, keySpace);
            System.out.println("ps-load: " + r.summary(clients));
            if (r.errors > 0) {
                System.exit(1);
            }
        } finally {
            embedded.forEach(PsServer::close);
        }
    }
}
