package org.factorbird.pipeline;

import java.util.HashMap;
import java.util.Map;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;

/** What {@code --implicit} changes: its own defaults for the options not given, measured for implicit feedback. */
final class ImplicitDefaults {

    private ImplicitDefaults() {}

    /**
     * The defaults --implicit changes, for the options not given (see {@link FactorbirdOptions#IMPLICIT}); held-out
     * values are not clipped (scores of implicit models are not ratings).
     */
    static final Map<ConfigOption<?>, String> DEFAULTS = Map.of(FactorbirdOptions.LOSS, "bpr",
            FactorbirdOptions.RANK, "64", FactorbirdOptions.LEARNING_RATE, "0.01", FactorbirdOptions.LAMBDA, "0.02",
            FactorbirdOptions.EPOCHS, "60", FactorbirdOptions.BATCH_ROWS, "64", FactorbirdOptions.CLIP, "false",
            FactorbirdOptions.SCHEDULE, "constant", FactorbirdOptions.INIT_STD, "0.1");

    /** {@code c} with the implicit defaults filled in where --implicit is on and the option is not given. */
    static Configuration apply(Configuration c) {
        if (!c.get(FactorbirdOptions.IMPLICIT)) {
            return c;
        }
        Map<String, String> m = new HashMap<>(c.toMap());
        DEFAULTS.forEach((o, v) -> m.putIfAbsent(o.key(), v));
        if (m.containsKey(FactorbirdOptions.RANKING_K.key())) {
            // held-out RMSE means nothing for implicit feedback: choose and stop by the ranking instead
            m.putIfAbsent(FactorbirdOptions.SELECT_BY.key(), "ndcg");
        }
        return Configuration.fromMap(m);
    }
}
