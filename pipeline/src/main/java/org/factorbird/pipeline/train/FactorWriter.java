package org.factorbird.pipeline.train;

import java.util.Arrays;
import java.util.function.Consumer;

import org.factorbird.pipeline.TrainConfig;
import org.factorbird.pipeline.io.OutLine;
import org.factorbird.ps.PsClient;

/**
 * Emits the trained factors as text lines {@code id<TAB>bias<TAB>f1<TAB>...<TAB>fk} for the file sink: this
 * subtask's rows from keyed state and its output slice of the columns from the PS. The best model goes to buckets
 * {@code rows} and {@code columns}; with --keep-all every model also to {@code models/<index>/rows|columns}.
 */
final class FactorWriter {

    private final TrainConfig cfg;
    private final Consumer<OutLine> out;
    private final StringBuilder sb = new StringBuilder(256);

    FactorWriter(TrainConfig cfg, Consumer<OutLine> out) {
        this.cfg = cfg;
        this.out = out;
    }

    /** Writes the rows of the given blocks, in key order of the blocks; returns how many. */
    long writeRows(BlockStore store, long[] blockKeys, int best) throws Exception {
        long[] sorted = blockKeys.clone();
        Arrays.sort(sorted);
        int[] models = written(best);
        long[] written = {0};
        store.forEachTrainedRow(sorted, (key, params, offset) -> {
            emit(models, "rows", key, params, offset);
            written[0]++;
        });
        return written[0];
    }

    /** Writes this subtask's output slice of the columns; returns how many. */
    long writeColumns(PsClient ps, int subtask, int parallelism, int best) throws Exception {
        int width = cfg.width();
        int[] models = written(best);
        long[] written = {0};
        ColumnSlice.forEachPage(ps, subtask, parallelism, page -> {
            for (int i = 0; i < page.count; i++) {
                emit(models, "columns", page.keys[i], page.values, i * width);
            }
            written[0] += page.count;
        });
        return written[0];
    }

    private void emit(int[] models, String kind, long key, float[] params, int offset) {
        for (int slot = 0; slot < models.length; slot++) {
            int m = models[slot];
            String bucket = slot == 0 ? kind : "models/" + m + "/" + kind;
            out.accept(new OutLine(bucket, formatLine(sb, key, params, offset + cfg.offsets[m],
                    cfg.models.get(m).rank + 1)));
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

    /** {@code id<TAB>bias<TAB>f1<TAB>...<TAB>fk}. */
    static String formatLine(StringBuilder sb, long id, float[] values, int from, int dim) {
        sb.setLength(0);
        sb.append(id);
        for (int j = 0; j < dim; j++) {
            sb.append('\t').append(values[from + j]);
        }
        return sb.toString();
    }
}
