package org.factorbird.ps.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataOutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.factorbird.ps.PsClient;
import org.factorbird.ps.PsClientConfig;
import org.factorbird.ps.TableSpec;
import org.junit.jupiter.api.Test;

/** A server's Prometheus endpoint, scraped over HTTP while a client works. */
class PsMetricsTest {

    private static String scrape(int port) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        return r.body();
    }

    private static double value(String text, String name) {
        Matcher m = Pattern.compile("(?m)^" + name + "\\{shard=\"0\"} ([0-9.eE+]+)$").matcher(text);
        assertTrue(m.find(), name + " missing in:\n" + text);
        return Double.parseDouble(m.group(1));
    }

    @Test
    void countersGrowWithTheTrafficAndGaugesShowTheTable() throws Exception {
        TableSpec spec = TableSpec.single(4, 1, 7L, 3L, 0.1f);
        try (PsServer server = PsServer.builder().port(0).metricsPort(0).start();
                PsClient c = PsClient.connect(new PsClientConfig(List.of(server.address()), spec))) {
            int port = server.metricsPort();
            String before = scrape(port);
            assertEquals(1, value(before, "factorbird_ps_requests_total"), "the client's HELLO");
            assertEquals(1, value(before, "factorbird_ps_connections"));
            assertEquals(0, value(before, "factorbird_ps_stored_keys"));
            c.await(c.pull(new long[] {1, 2, 3}, 3, new float[12], false));
            c.await(c.push(new long[] {1, 2}, 2, new float[8]));
            String after = scrape(port);
            assertEquals(3, value(after, "factorbird_ps_requests_total"), "HELLO, PULL, PUSH");
            assertEquals(5, value(after, "factorbird_ps_keys_served_total"), "3 pulled, 2 pushed");
            assertEquals(3, value(after, "factorbird_ps_stored_keys"));
            assertTrue(value(after, "factorbird_ps_table_bytes") > 0);
            double[] prev = {value(before, "factorbird_ps_received_bytes_total"),
                value(before, "factorbird_ps_sent_bytes_total")};
            // the PULL of 3 keys: its frame of 4 + 12 + 1 + 2 + 4 + 3 x 8 B, and the PUSH of 2 keys x 4 floats
            assertEquals(prev[0] + 47 + (4 + 12 + 2 + 4 + 4 + 2 * (8 + 16)), value(after,
                    "factorbird_ps_received_bytes_total"));
            assertTrue(value(after, "factorbird_ps_sent_bytes_total") > prev[1]);
            assertEquals(0, value(after, "factorbird_ps_refused_requests_total"));
            try (Socket raw = new Socket("127.0.0.1", server.port())) {
                DataOutputStream out = new DataOutputStream(raw.getOutputStream());
                out.writeInt(12);
                out.writeShort(0xBEEF); // not the magic: the server refuses and closes the connection
                out.writeByte(1);
                out.writeByte(2);
                out.writeLong(1);
                out.flush();
                raw.getInputStream().readAllBytes(); // the ERROR frame, then the end of the stream: closed

            }
            assertEquals(1, value(scrape(port), "factorbird_ps_refused_requests_total"));
        }
    }
}
