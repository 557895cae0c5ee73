package org.factorbird.ps.protocol;

import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Optional TLS for clusters on untrusted networks: servers present the key of a PKCS12 key store; clients trust
 * the certificates of a PKCS12 trust store and check that a certificate names the host they dialled (its subject
 * alternative names must hold the server's address as given in --ps, e.g. ip:10.0.0.5 or dns:ps-1). Combine with
 * AUTH: TLS hides and protects the traffic, the shared secret decides who may talk to the servers.
 */
public final class Tls {

    private Tls() {}

    private static KeyStore load(Path file, char[] password) {
        try (InputStream in = Files.newInputStream(file)) {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(in, password);
            return ks;
        } catch (Exception e) {
            throw new IllegalArgumentException("cannot read the PKCS12 store " + file + ": " + e.getMessage(), e);
        }
    }

    /** Reads a password file (trimmed); the message names the file only. */
    public static char[] readPassword(Path file) {
        try {
            return Files.readString(file).strip().toCharArray();
        } catch (Exception e) {
            throw new IllegalArgumentException("cannot read the password file " + file + ": " + e.getMessage(), e);
        }
    }

    public static SslContext server(Path keyStore, char[] password) {
        try {
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(load(keyStore, password), password);
            return SslContextBuilder.forServer(kmf).build();
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalArgumentException("cannot use the key store " + keyStore + ": " + e.getMessage(), e);
        }
    }

    private static TrustManagerFactory trust(Path trustStore, char[] password) throws Exception {
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(load(trustStore, password));
        return tmf;
    }

    public static SslContext client(Path trustStore, char[] password) {
        try {
            return SslContextBuilder.forClient().trustManager(trust(trustStore, password)).build();
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalArgumentException("cannot use the trust store " + trustStore + ": " + e.getMessage(), e);
        }
    }

    /** A JDK SSL context trusting the same store: for the blocking STATUS check. */
    public static SSLContext jdkClient(Path trustStore, char[] password) {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, trust(trustStore, password).getTrustManagers(), null);
            return ctx;
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalArgumentException("cannot use the trust store " + trustStore + ": " + e.getMessage(), e);
        }
    }
}
