package org.factorbird.pipeline.train;

import java.util.Arrays;
import java.util.function.Consumer;

import org.factorbird.pipeline.TrainConfig;
import org.factorbird.pipeline.io.FloatText;
import org.factorbird.pipeline.io.LineBatcher;
import org.factorbird.pipeline.io.OutLine;
import org.factorbird.ps.PsClient;

/**
 * Emits the trained factors as text lines {@code id<TAB>bias<TAB>f1<TAB>...<TAB>fk} for the file sink: this
 * subtask's rows from keyed state and its output slice of the columns from the PS. The best model goes to buckets
 * {@code rows} and {@code columns}; with --keep-all every model also to {@code models/<index>/rows|columns}.
 *
 * <p>With string ids ({@link IdNames}) lines start with the ids' texts, and a subtask writes the columns it holds
 * the names of (pulled from the PS in pages), rather than its slice of every shard.
 */
final class FactorWriter {

    private final TrainConfig cfg;
    /** The lines, joined into records per bucket before they reach the sink. */
    private final LineBatcher lines;
    /** Texts of the ids with --ids string, else null. */
    private final IdNames names;
    private final StringBuilder sb = new StringBuilder(256);

    FactorWriter(TrainConfig cfg, Consumer<OutLine> out, IdNames names) {
        if (cfg.stringIds != (names != null)) {
            throw new IllegalArgumentException("names must be given exactly when ids are strings");
        }
        this.cfg = cfg;
        this.lines = new LineBatcher(out);
        this.names = names;
    }

    /** Writes the rows of the given blocks, in key order of the blocks; returns how many. */
    long writeRows(BlockStore store, long[] blockKeys, int best) throws Exception {
        long[] sorted = blockKeys.clone();
        Arrays.sort(sorted);
        int[] models = written(best);
        long[] written = {0};
        store.forEachTrainedRow(sorted, (key, params, offset) -> {
            emit(models, "rows", names == null ? null : names.row(key), key, params, offset);
            written[0]++;
        });
        lines.flush();
        return written[0];
    }

    /** Writes this subtask's output slice of the columns; returns how many. */
    long writeColumns(PsClient ps, int subtask, int parallelism, int best) throws Exception {
        int width = cfg.width();
        int[] models = written(best);
        if (names != null) {
            return writeNamedColumns(ps, models, width);
        }
        long[] written = {0};
        ColumnSlice.forEachPage(ps, subtask, parallelism, page -> {
            for (int i = 0; i < page.count; i++) {
                emit(models, "columns", null, page.keys[i], page.values, i * width);
            }
            written[0] += page.count;
        });
        lines.flush();
        return written[0];
    }

    /** The columns this subtask has the names of: every trained column exactly once over all subtasks. */
    private long writeNamedColumns(PsClient ps, int[] models, int width) throws Exception {
        long[] keys = names.columnKeys();
        int page = ColumnSlice.PAGE_KEYS;
        long[] chunk = new long[page];
        float[] values = new float[page * width];
        for (int from = 0; from < keys.length; from += page) {
            Interrupts.check();
            int n = Math.min(page, keys.length - from);
            System.arraycopy(keys, from, chunk, 0, n);
            ps.await(ps.pull(chunk, n, values, true));
            for (int i = 0; i < n; i++) {
                emit(models, "columns", names.column(chunk[i]), chunk[i], values, i * width);
            }
        }
        lines.flush();
        return keys.length;
    }

    /** Emits the line of {@code key} (written as {@code name} when there is one) for every written model. */
    private void emit(int[] models, String kind, String name, long key, float[] params, int offset) {
        for (int slot = 0; slot < models.length; slot++) {
            int m = models[slot];
            String bucket = slot == 0 ? kind : "models/" + m + "/" + kind;
            sb.setLength(0);
            if (name == null) {
                sb.append(key);
            } else {
                sb.append(name);
            }
            lines.add(bucket, values(sb, params, offset + cfg.offsets[m], cfg.models.get(m).rank + 1));
        }
    }

    /** The models whose factors are written: the best, and with --keep-all every one. */
    private int[] written(int best) {
        if (!cfg.keepAll) {
            return new int[] {best};
        }
        int[] all = new int[cfg.models.size() + 1];
        all[0] = best;
        for (int m = 0; m < cfg.models.size(); m++) {
            all[m + 1] = m;
        }
        return all;
    }

    /** Appends {@code <TAB>v} for each of the {@code dim} values to the id in {@code sb}: a line {@code
     * id<TAB>bias<TAB>f1<TAB>...<TAB>fk}. */
    private static StringBuilder values(StringBuilder sb, float[] values, int from, int dim) {
        for (int j = 0; j < dim; j++) {
            FloatText.append(sb.append('\t'), values[from + j]);
        }
        return sb;
    }
}
