package org.factorbird.pipeline.train;

import java.util.Arrays;
import java.util.function.Consumer;

import org.factorbird.pipeline.TrainConfig;
import org.factorbird.pipeline.io.FloatText;
import org.factorbird.pipeline.io.LineBatcher;
import org.factorbird.pipeline.io.OutLine;
import org.factorbird.pipeline.recommend.RowScorer;
import org.factorbird.pipeline.sgd.PrimitiveLists.FloatList;
import org.factorbird.pipeline.sgd.PrimitiveLists.IntList;
import org.factorbird.pipeline.sgd.PrimitiveLists.LongList;
import org.factorbird.ps.PsClient;

/**
 * {@code train --recommend K}: after the last epoch, the top k columns of this subtask's rows, written to
 * {@code OUT/recommendations/}. The rows and their training ratings (excluded) come from keyed state; every
 * column is read from the parameter servers in pages (a scan of each shard), so there is no second pass over the
 * input. Same scoring and output as {@code factorbird recommend} ({@link RowScorer}).
 */
final class RecommendWriter {

    private final TrainConfig cfg;
    private final Consumer<OutLine> out;

    RecommendWriter(TrainConfig cfg, Consumer<OutLine> out) {
        this.cfg = cfg;
        this.out = out;
    }

    /** Recommends for the trained rows of {@code blockKeys} with model {@code m}; returns the rows served. */
    long write(BlockStore store, long[] blockKeys, PsClient ps, int m, float mu) throws Exception {
        int rank = cfg.models.get(m).rank;
        int offset = cfg.offsets[m];
        int width = cfg.width();
        LongList ids = new LongList(1024);
        FloatList params = new FloatList(1024 * (rank + 1));
        LongList excluded = new LongList(1024);
        IntList exStart = new IntList(1024);
        for (long bk : blockKeys) {
            Interrupts.check();
            store.select(bk);
            RowBlock block = store.block();
            float[] p = store.params();
            for (int r = 0; r < block.rows(); r++) {
                if (block.trainCount(r) == 0) {
                    continue; // no factors: nothing to rank with
                }
                ids.add(block.keys[r]);
                for (int j = 0; j < rank + 1; j++) {
                    params.add(p[r * width + offset + j]);
                }
                exStart.add(excluded.n);
                int from = excluded.n;
                for (int t = block.trainFrom(r); t < block.trainEnd[r]; t++) {
                    excluded.add(store.columns().id(block.cols[t]));
                }
                Arrays.sort(excluded.a, from, excluded.n);
            }
        }
        exStart.add(excluded.n);
        RowScorer scorer = new RowScorer(rank, cfg.recommend, ids.toArray(), params.toArray(), excluded.toArray(),
                exStart.toArray());
        if (ids.n > 0) {
            ColumnSlice.forEachPage(ps, 0, 1, scanned -> { // slice 0 of 1: every column
                for (int i = 0; i < scanned.count; i++) {
                    scorer.offer(scanned.keys[i], scanned.values, i * width + offset);
                }
            });
            scorer.flush();
        }
        StringBuilder sb = new StringBuilder(64);
        LineBatcher lines = new LineBatcher(out);
        scorer.emit(mu, (row, r, col, score) -> {
            sb.setLength(0);
            FloatText.append(sb.append(row).append('\t').append(r).append('\t').append(col).append('\t'), score);
            lines.add("recommendations", sb);
        });
        lines.flush();
        return ids.n;
    }
}
