package org.factorbird.pipeline.recommend;

import java.util.ArrayList;
import java.util.List;

import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.factorbird.pipeline.io.FloatText;
import org.factorbird.pipeline.io.LineBatcher;
import org.factorbird.pipeline.io.OutLine;
import org.factorbird.pipeline.sgd.LongIntMap;
import org.factorbird.pipeline.sgd.PrimitiveLists.FloatList;
import org.factorbird.pipeline.sgd.PrimitiveLists.LongList;

/**
 * One stage of {@code predict}, keyed by row (stage 1) or by column (stage 2): gathers the factors of its ids and
 * the pairs, and at end of input joins them. Stage 1 emits each pair with its row's parameters (empty when the row
 * is unknown); stage 2 emits {@code row<TAB>column<TAB>prediction} with {@code prediction = mu + b_i + b_j +
 * u_i . v_j}, falling back like held-out evaluation: an unknown row contributes nothing (mu + b_j), an unknown
 * column nothing (mu + b_i). Predictions are clipped to the training range unless clipping is off. With string
 * ids, pairs carry their texts through both stages and are written with them.
 */
public final class PredictOperator<O> extends AbstractStreamOperator<O>
        implements OneInputStreamOperator<RecInput, O>, BoundedOneInput {

    private static final long serialVersionUID = 1L;
    public static final String PREDICTED = "predicted";
    public static final String UNKNOWN_ROWS = "pairs-with-unknown-row";
    public static final String UNKNOWN_COLUMNS = "pairs-with-unknown-column";
    private static final float[] NONE = new float[0];

    private final boolean byColumn;
    private final int dim;
    private final float mu;
    private final float lo;
    private final float hi;

    private transient LongIntMap index;
    private transient FloatList factors;
    private transient LongList pairRows;
    private transient LongList pairCols;
    /** With string ids: each pair's row and column texts, two per pair. */
    private transient List<String> pairNames;
    /** Stage 2: each pair's row parameters, {@code dim} floats per pair (zeros for an unknown row). */
    private transient FloatList pairRowParams;
    private transient LongList pairRowKnown;

    private PredictOperator(boolean byColumn, int dim, float mu, float lo, float hi) {
        this.byColumn = byColumn;
        this.dim = dim;
        this.mu = mu;
        this.lo = lo;
        this.hi = hi;
    }

    /** Stage 1, after keyBy(row): emits {@link RecInput#PAIR_WITH_ROW}. */
    public static PredictOperator<RecInput> byRow(int dim) {
        return new PredictOperator<>(false, dim, 0f, 0f, 0f);
    }

    /** Stage 2, after keyBy(column): emits {@link OutLine}s; clips to {@code [lo, hi]} unless lo > hi. */
    public static PredictOperator<OutLine> byColumn(int dim, float mu, float lo, float hi) {
        return new PredictOperator<>(true, dim, mu, lo, hi);
    }

    @Override
    public void open() throws Exception {
        super.open();
        index = new LongIntMap(1024);
        factors = new FloatList(1024);
        pairRows = new LongList(1024);
        pairCols = new LongList(1024);
        pairNames = new ArrayList<>();
        pairRowParams = new FloatList(byColumn ? 1024 : 4);
        pairRowKnown = new LongList(byColumn ? 1024 : 4);
        if (byColumn) {
            getRuntimeContext().addAccumulator(PREDICTED, new LongCounter());
            getRuntimeContext().addAccumulator(UNKNOWN_ROWS, new LongCounter());
            getRuntimeContext().addAccumulator(UNKNOWN_COLUMNS, new LongCounter());
        }
    }

    @Override
    public void processElement(StreamRecord<RecInput> element) {
        RecInput in = element.getValue();
        if (in.kind == RecInput.FACTORS) {
            if (in.values.length != dim) {
                throw new IllegalArgumentException("a factor line of id " + in.row + " holds " + in.values.length
                        + " values, the model needs " + dim);
            }
            int i = index.indexOf(in.row);
            if (i == factors.n / dim) {
                for (float v : in.values) {
                    factors.add(v);
                }
            } // a repeated id keeps its first line
            return;
        }
        pairRows.add(in.row);
        pairCols.add(in.col);
        if (in.name != null) {
            pairNames.add(in.name);
            pairNames.add(in.colName);
        }
        if (byColumn) {
            pairRowKnown.add(in.values.length == dim ? 1 : 0);
            for (int j = 0; j < dim; j++) {
                pairRowParams.add(in.values.length == dim ? in.values[j] : 0f);
            }
        }
    }

    @Override
    public void endInput() throws Exception {
        if (!byColumn) {
            for (int i = 0; i < pairRows.n; i++) {
                int r = index.find(pairRows.a[i]);
                float[] row = NONE;
                if (r >= 0) {
                    row = new float[dim];
                    System.arraycopy(factors.a, r * dim, row, 0, dim);
                }
                emit(new RecInput(RecInput.PAIR_WITH_ROW, pairRows.a[i], pairCols.a[i], row).named(
                        pairNames.isEmpty() ? null : pairNames.get(2 * i),
                        pairNames.isEmpty() ? null : pairNames.get(2 * i + 1)));
            }
            return;
        }
        LongCounter predicted = (LongCounter) getRuntimeContext().<Long, Long>getAccumulator(PREDICTED);
        LongCounter unknownRows = (LongCounter) getRuntimeContext().<Long, Long>getAccumulator(UNKNOWN_ROWS);
        LongCounter unknownCols = (LongCounter) getRuntimeContext().<Long, Long>getAccumulator(UNKNOWN_COLUMNS);
        StringBuilder sb = new StringBuilder(64);
        // lines joined into records of ~64k characters: the file sink writes each with one call (see LineBatcher)
        LineBatcher lines = new LineBatcher(this::emit);
        float[] rp = pairRowParams.a;
        float[] cp = factors.a;
        for (int i = 0; i < pairRows.n; i++) {
            int c = index.find(pairCols.a[i]);
            int ro = i * dim;
            float p = mu + rp[ro]; // b_i, 0 for an unknown row
            if (c >= 0) {
                int co = c * dim;
                p += cp[co];
                if (pairRowKnown.a[i] == 1) {
                    for (int f = 1; f < dim; f++) {
                        p += rp[ro + f] * cp[co + f];
                    }
                }
            } else {
                unknownCols.add(1L);
            }
            if (pairRowKnown.a[i] == 0) {
                unknownRows.add(1L);
            }
            if (lo <= hi) {
                p = Math.max(lo, Math.min(hi, p));
            }
            predicted.add(1L);
            sb.setLength(0);
            if (pairNames.isEmpty()) {
                sb.append(pairRows.a[i]).append('\t').append(pairCols.a[i]);
            } else {
                sb.append(pairNames.get(2 * i)).append('\t').append(pairNames.get(2 * i + 1));
            }
            lines.add("", FloatText.append(sb.append('\t'), p));
        }
        lines.flush();
    }

    /** The factories fix O: RecInput for stage 1, OutLine for stage 2. */
    @SuppressWarnings("unchecked")
    private void emit(Object out) {
        output.collect(new StreamRecord<>((O) out));
    }
}
