package org.factorbird.ps.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.factorbird.ps.TableSpec;
import org.factorbird.ps.PsClient;
import org.factorbird.ps.PsClientConfig;
import org.factorbird.ps.PsException;
import org.factorbird.ps.PsStatus;
import org.factorbird.ps.protocol.Tls;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TLS between client and server, with key and trust stores made by the JDK's keytool. */
class PsTlsTest {

    private static final char[] PASSWORD = "test-password".toCharArray();
    private static final TableSpec SPEC = TableSpec.single(3, 1, 4L, 1L, 0.1f);

    @TempDir
    static Path tmp;

    static void keytool(String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Paths.get(System.getProperty("java.home"), "bin", "keytool").toString());
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out);
    }

    static Path store(String name) {
        return tmp.resolve(name);
    }

    @BeforeAll
    static void makeStores() throws Exception {
        String pw = new String(PASSWORD);
        for (String name : List.of("server", "stranger")) {
            keytool("-genkeypair", "-alias", name, "-keyalg", "EC", "-groupname", "secp256r1", "-dname",
                    "CN=" + name, "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-validity", "2", "-storetype", "PKCS12", "-keystore", store(name + ".p12").toString(),
                    "-storepass", pw, "-keypass", pw);
        }
        keytool("-exportcert", "-alias", "server", "-keystore", store("server.p12").toString(), "-storepass", pw,
                "-file", store("server.crt").toString());
        keytool("-importcert", "-noprompt", "-alias", "server", "-file", store("server.crt").toString(),
                "-storetype", "PKCS12", "-keystore", store("trust.p12").toString(), "-storepass", pw);
    }

    @Test
    void tlsClientsAreServedAndOthersAreNot() {
        try (PsServer server = PsServer.builder().port(0).shard(0, 1)
                .tls(Tls.server(store("server.p12"), PASSWORD)).start()) {
            List<String> addr = List.of(server.address());
            try (PsClient c = PsClient.connect(new PsClientConfig(addr, SPEC)
                    .tls(Tls.client(store("trust.p12"), PASSWORD)))) {
                float[] v = new float[3];
                c.await(c.push(new long[] {8}, 1, new float[] {1.5f, 0f, 0f}));
                c.await(c.pull(new long[] {8}, 1, v, false));
                assertEquals(1.5f, v[0]);
            }
            assertEquals(1, PsStatus.query(server.address(), 2000, Tls.jdkClient(store("trust.p12"), PASSWORD))
                    .storedKeys);
            // plain TCP to a TLS server: refused with a message naming the server
            PsException plain = assertThrows(PsException.class,
                    () -> PsClient.connect(new PsClientConfig(addr, SPEC).connectTimeoutMs(3000)));
            assertTrue(plain.getMessage().contains("parameter server shard 0 at " + server.address()),
                    plain.getMessage());
            // a client that does not trust the server's certificate
            PsException untrusted = assertThrows(PsException.class, () -> PsClient.connect(
                    new PsClientConfig(addr, SPEC).tls(Tls.client(store("stranger.p12"), PASSWORD))));
            assertTrue(untrusted.getMessage().contains("parameter server shard 0 at " + server.address()),
                    untrusted.getMessage());
            assertEquals(1, server.storedKeys());
        }
    }
}
