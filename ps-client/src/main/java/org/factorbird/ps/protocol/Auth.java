package org.factorbird.ps.protocol;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/** The shared-secret challenge-response of the AUTH op (see {@link Protocol}): nonces and HMAC-SHA256 proofs. */
public final class Auth {

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final byte[] SERVER = "fb-server".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CLIENT = "fb-client".getBytes(StandardCharsets.US_ASCII);

    private Auth() {}

    /** Reads a secret file (its trimmed content); the message names the file, never the content. */
    public static byte[] readSecret(Path file) {
        try {
            byte[] s = new String(Files.readAllBytes(file), StandardCharsets.UTF_8).strip()
                    .getBytes(StandardCharsets.UTF_8);
            if (s.length < 16) {
                throw new IllegalArgumentException("the secret in " + file + " must have at least 16 bytes but has "
                        + s.length);
            }
            return s;
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the secret file " + file + ": " + e.getMessage(), e);
        }
    }

    public static byte[] nonce() {
        byte[] n = new byte[Protocol.NONCE_BYTES];
        RANDOM.nextBytes(n);
        return n;
    }

    public static byte[] serverProof(byte[] secret, byte[] clientNonce, byte[] serverNonce) {
        return hmac(secret, SERVER, clientNonce, serverNonce);
    }

    public static byte[] clientProof(byte[] secret, byte[] serverNonce, byte[] clientNonce) {
        return hmac(secret, CLIENT, serverNonce, clientNonce);
    }

    /** Constant-time comparison. */
    public static boolean matches(byte[] expected, byte[] actual) {
        return MessageDigest.isEqual(expected, actual);
    }

    private static byte[] hmac(byte[] secret, byte[]... parts) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            for (byte[] p : parts) {
                mac.update(p);
            }
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }
}
