package org.factorbird.ps.server;

import io.netty.channel.group.ChannelGroup;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.function.DoubleSupplier;

/**
 * A server's counters over HTTP in the Prometheus text format ({@code GET http://HOST:PORT/metrics}), all labelled
 * with the shard: requests, keys served, bytes received and sent, refused requests (counters, {@code _total}), and
 * stored keys, table bytes and open connections (gauges). Scrapes read the counters the event loop writes (volatile
 * fields of {@link ShardState}); they never wait for the event loop, so a busy server answers scrapes at once.
 */
final class PsMetrics implements AutoCloseable {

    private final HTTPServer http;

    private PsMetrics(HTTPServer http) {
        this.http = http;
    }

    /** Serves {@code state}'s metrics on {@code host:port} (0: a free port). */
    static PsMetrics start(String host, int port, ShardState state, ChannelGroup connections) {
        PrometheusRegistry registry = new PrometheusRegistry();
        String shard = String.valueOf(state.shardIndex);
        counter(registry, "factorbird_ps_requests", "Requests received", shard, () -> state.requests);
        counter(registry, "factorbird_ps_keys_served", "Keys pulled or pushed", shard, () -> state.keysServed);
        counter(registry, "factorbird_ps_received_bytes", "Bytes of requests received", shard, () -> state.bytesIn);
        counter(registry, "factorbird_ps_sent_bytes", "Bytes of replies sent", shard, () -> state.bytesOut);
        counter(registry, "factorbird_ps_refused_requests", "Requests refused with an ERROR reply or a closed "
                + "connection", shard, () -> state.refused);
        gauge(registry, "factorbird_ps_stored_keys", "Keys (columns) in the tables of all runs", shard,
                () -> state.storedKeysGauge);
        gauge(registry, "factorbird_ps_table_bytes", "Bytes of the tables of all runs", shard,
                () -> state.tableBytesGauge);
        gauge(registry, "factorbird_ps_runs", "Runs (jobs' attempts) held, lingering ones included", shard,
                () -> state.runsGauge);
        gauge(registry, "factorbird_ps_connections", "Open client connections", shard, connections::size);
        try {
            return new PsMetrics(HTTPServer.builder().hostname(host).port(port).registry(registry).buildAndStart());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot serve metrics on " + host + ":" + port + ": " + e.getMessage(), e);
        }
    }

    private static void counter(PrometheusRegistry r, String name, String help, String shard, DoubleSupplier v) {
        CounterWithCallback.builder().name(name).help(help).labelNames("shard")
                .callback(cb -> cb.call(v.getAsDouble(), shard)).register(r);
    }

    private static void gauge(PrometheusRegistry r, String name, String help, String shard, DoubleSupplier v) {
        GaugeWithCallback.builder().name(name).help(help).labelNames("shard")
                .callback(cb -> cb.call(v.getAsDouble(), shard)).register(r);
    }

    int port() {
        return http.getPort();
    }

    @Override
    public void close() {
        http.close();
    }
}
