package org.factorbird.pipeline.recommend;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.apache.flink.core.fs.Path;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.factorbird.pipeline.io.FloatText;
import org.factorbird.pipeline.io.LineBatcher;
import org.factorbird.pipeline.io.OutLine;
import org.factorbird.pipeline.model.ModelDir;
import org.factorbird.pipeline.sgd.LongIntMap;
import org.factorbird.pipeline.sgd.PrimitiveLists.FloatList;
import org.factorbird.pipeline.sgd.PrimitiveLists.IntList;
import org.factorbird.pipeline.sgd.PrimitiveLists.LongList;

/**
 * Top-k columns for the rows of one subtask (after {@code keyBy(row)}): gathers the rows' factors, the pairs to
 * exclude and the rows asked for; at end of input streams every column file of the model past them in pages of
 * {@link RowScorer#PAGE} columns (so a subtask never holds all columns) and emits {@code row<TAB>rank<TAB>column<TAB>score}.
 * With string ids the rows' texts come with their factor lines, and the recommended columns' texts from a second
 * pass over the column files that keeps only the ids recommended.
 */
public final class RecommendOperator extends AbstractStreamOperator<OutLine>
        implements OneInputStreamOperator<RecInput, OutLine>, BoundedOneInput {

    private static final long serialVersionUID = 1L;

    private final String modelDir;
    private final int k;
    private final boolean onlyWanted;

    private transient LongList rowIds;
    /** With string ids: the text of each row in {@link #rowIds}. */
    private transient List<String> rowNames;
    private transient FloatList params;
    private transient LongList exRows;
    private transient LongList exCols;
    private transient LongList wanted;

    /** @param onlyWanted recommend only for the rows given as {@link RecInput#WANTED} */
    public RecommendOperator(String modelDir, int k, boolean onlyWanted) {
        if (k < 1) {
            throw new IllegalArgumentException("--k must be >= 1 but was " + k);
        }
        this.modelDir = modelDir;
        this.k = k;
        this.onlyWanted = onlyWanted;
    }

    @Override
    public void open() throws Exception {
        super.open();
        rowIds = new LongList(1024);
        rowNames = new ArrayList<>();
        params = new FloatList(1024);
        exRows = new LongList(1024);
        exCols = new LongList(1024);
        wanted = new LongList(16);
    }

    @Override
    public void processElement(StreamRecord<RecInput> element) {
        RecInput in = element.getValue();
        switch (in.kind) {
            case RecInput.FACTORS -> {
                rowIds.add(in.row);
                if (in.name != null) {
                    rowNames.add(in.name);
                }
                for (float v : in.values) {
                    params.add(v);
                }
            }
            case RecInput.PAIR -> {
                exRows.add(in.row);
                exCols.add(in.col);
            }
            case RecInput.WANTED -> wanted.add(in.row);
            default -> throw new IllegalStateException("unexpected input kind " + in.kind);
        }
    }

    @Override
    public void endInput() throws Exception {
        ModelDir model = ModelDir.open(modelDir);
        int dim = model.dim();
        long[] ids = rowIds.toArray();
        float[] p = Arrays.copyOf(params.a, params.n);
        String[] names = model.stringIds() ? rowNames.toArray(new String[0]) : null;
        if (onlyWanted) {
            long[] want = wanted.toArray();
            Arrays.sort(want);
            int kept = 0;
            for (int r = 0; r < ids.length; r++) {
                if (Arrays.binarySearch(want, ids[r]) >= 0) {
                    ids[kept] = ids[r];
                    if (names != null) {
                        names[kept] = names[r];
                    }
                    System.arraycopy(p, r * dim, p, kept * dim, dim);
                    kept++;
                }
            }
            ids = Arrays.copyOf(ids, kept);
        }
        Exclusions ex = Exclusions.of(ids, exRows, exCols);
        RowScorer scorer = new RowScorer(model.dim() - 1, k, ids, p, ex.cols, ex.start);
        if (ids.length > 0) {
            for (Path f : model.files("columns")) {
                model.read(f, (id, values) -> {
                    checkInterrupted();
                    scorer.offer(id, values, 0);
                });
            }
            scorer.flush();
        }
        float mu = model.model().globalMean();
        // lines joined into records of ~64k characters: the file sink writes each with one call (see LineBatcher)
        LineBatcher lines = new LineBatcher(o -> output.collect(new StreamRecord<>(o)));
        if (names == null) {
            StringBuilder sb = new StringBuilder(64);
            scorer.emit(mu, (row, rank, col, score) -> {
                sb.setLength(0);
                lines.add("", FloatText.append(sb.append(row).append('\t').append(rank).append('\t').append(col)
                        .append('\t'), score));
            });
        } else {
            emitNamed(model, ids, names, scorer, mu, lines);
        }
        lines.flush();
    }

    /** String ids: the recommendations are held while a pass over the column files finds the columns' texts. */
    private void emitNamed(ModelDir model, long[] ids, String[] names, RowScorer scorer, float mu, LineBatcher lines)
            throws Exception {
        LongList recRows = new LongList(1024);
        IntList recRanks = new IntList(1024);
        LongList recCols = new LongList(1024);
        FloatList recScores = new FloatList(1024);
        scorer.emit(mu, (row, rank, col, score) -> {
            recRows.add(row);
            recRanks.add(rank);
            recCols.add(col);
            recScores.add(score);
        });
        LongIntMap rowIndex = new LongIntMap(Math.max(16, ids.length));
        for (long id : ids) {
            rowIndex.indexOf(id);
        }
        LongIntMap colIndex = new LongIntMap(1024);
        for (int i = 0; i < recCols.n; i++) {
            colIndex.indexOf(recCols.a[i]);
        }
        String[] colNames = new String[colIndex.size()];
        for (Path f : model.files("columns")) {
            model.readIds(f, (key, text) -> {
                int c = colIndex.find(key);
                if (c >= 0) {
                    colNames[c] = text;
                }
            });
        }
        StringBuilder sb = new StringBuilder(64);
        for (int i = 0; i < recRows.n; i++) {
            sb.setLength(0);
            lines.add("", FloatText.append(sb.append(names[rowIndex.find(recRows.a[i])]).append('\t')
                    .append(recRanks.a[i]).append('\t').append(colNames[colIndex.find(recCols.a[i])]).append('\t'),
                    recScores.a[i]));
        }
    }

    private static void checkInterrupted() throws InterruptedException {
        if (Thread.currentThread().isInterrupted()) {
            throw new InterruptedException("recommend cancelled");
        }
    }

    /** Each row's excluded columns, sorted, in one array: row r's at {@code cols[start[r], start[r + 1])}. */
    static final class Exclusions {
        final long[] cols;
        final int[] start;

        private Exclusions(long[] cols, int[] start) {
            this.cols = cols;
            this.start = start;
        }

        /** Groups the pairs by the index of their row in {@code rows} (pairs of other rows are dropped). */
        static Exclusions of(long[] rows, LongList pairRows, LongList pairCols) {
            if (pairRows.n == 0) {
                return new Exclusions(null, null);
            }
            LongIntMap index = new LongIntMap(Math.max(16, rows.length));
            for (long r : rows) {
                index.indexOf(r);
            }
            int[] start = new int[rows.length + 1];
            for (int i = 0; i < pairRows.n; i++) {
                int r = index.find(pairRows.a[i]);
                if (r >= 0) {
                    start[r + 1]++;
                }
            }
            for (int r = 0; r < rows.length; r++) {
                start[r + 1] += start[r];
            }
            long[] cols = new long[start[rows.length]];
            int[] fill = Arrays.copyOf(start, rows.length);
            for (int i = 0; i < pairRows.n; i++) {
                int r = index.find(pairRows.a[i]);
                if (r >= 0) {
                    cols[fill[r]++] = pairCols.a[i];
                }
            }
            for (int r = 0; r < rows.length; r++) {
                Arrays.sort(cols, start[r], start[r + 1]);
            }
            return new Exclusions(cols, start);
        }
    }
}
