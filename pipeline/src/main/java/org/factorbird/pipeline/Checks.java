package org.factorbird.pipeline;

import java.util.ArrayList;
import java.util.List;

import org.apache.flink.configuration.Configuration;
import org.factorbird.ps.PsClientConfig;

/**
 * The checks every job's configuration makes of its options (training's {@link TrainConfig}, streaming's
 * {@code StreamConfig}): each failure an IllegalArgumentException whose message names the option and the value.
 */
public final class Checks {

    private Checks() {}

    public static String required(String v, String name) {
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException("--" + name + " is required");
        }
        return v;
    }

    public static int atLeast(int v, int min, String name) {
        if (v < min) {
            throw new IllegalArgumentException("--" + name + " must be >= " + min + " but was " + v);
        }
        return v;
    }

    /** --ps: the servers in shard order (empty when unset), each a host:port. */
    public static List<String> psServers(Configuration c) {
        String ps = c.get(FactorbirdOptions.PS);
        List<String> out = new ArrayList<>();
        if (ps != null) {
            for (String s : ps.split(",")) {
                if (!s.isBlank()) {
                    PsClientConfig.parseAddress(s.strip());
                    out.add(s.strip());
                }
            }
        }
        return out;
    }
}
