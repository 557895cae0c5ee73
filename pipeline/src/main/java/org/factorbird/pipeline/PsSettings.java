package org.factorbird.pipeline;

import java.io.Serializable;
import java.nio.file.Paths;
import java.util.List;

import org.apache.flink.configuration.Configuration;
import org.factorbird.ps.PsClientConfig;
import org.factorbird.ps.TableSpec;
import org.factorbird.ps.protocol.Auth;
import org.factorbird.ps.protocol.Tls;

/**
 * How a job's subtasks talk to the parameter servers, whatever the job (training, streaming): in-flight limit,
 * timeout, cluster id, shared secret and TLS trust. Files (secret, trust store, password) are read where the client
 * runs, i.e. on the TaskManagers.
 */
public final class PsSettings implements Serializable {

    private static final long serialVersionUID = 1L;

    public final int maxInFlight;
    public final long timeoutMs;
    public final String clusterId;
    /** Path of the PS cluster's shared secret; null for open servers. */
    public final String authSecretFile;
    public final String tlsTrustStore;
    public final String tlsPasswordFile;

    /** From the --ps-* options of {@code c}; the message of a bad value names the option. */
    public PsSettings(Configuration c) {
        this.maxInFlight = c.get(FactorbirdOptions.PS_MAX_IN_FLIGHT);
        if (maxInFlight < 1) {
            throw new IllegalArgumentException("--ps-max-in-flight must be >= 1 but was " + maxInFlight);
        }
        this.timeoutMs = c.get(FactorbirdOptions.PS_TIMEOUT_MS);
        if (timeoutMs < 1) {
            throw new IllegalArgumentException("--ps-timeout-ms must be >= 1 but was " + timeoutMs);
        }
        this.clusterId = c.get(FactorbirdOptions.PS_CLUSTER_ID);
        this.authSecretFile = c.get(FactorbirdOptions.PS_AUTH_SECRET_FILE);
        this.tlsTrustStore = c.get(FactorbirdOptions.PS_TLS_TRUSTSTORE);
        this.tlsPasswordFile = c.get(FactorbirdOptions.PS_TLS_PASSWORD_FILE);
    }

    /** The client configuration for {@code table} on {@code servers} (shard order). */
    public PsClientConfig clientConfig(List<String> servers, TableSpec table) {
        if (servers.isEmpty()) {
            throw new IllegalStateException("no parameter servers configured");
        }
        return new PsClientConfig(servers, table).maxInFlight(maxInFlight).requestTimeoutMs(timeoutMs)
                .clusterId(clusterId)
                .secret(authSecretFile == null ? null : Auth.readSecret(Paths.get(authSecretFile)))
                .tls(tlsTrustStore == null ? null : Tls.client(Paths.get(tlsTrustStore),
                        tlsPasswordFile == null ? new char[0] : Tls.readPassword(Paths.get(tlsPasswordFile))));
    }
}
