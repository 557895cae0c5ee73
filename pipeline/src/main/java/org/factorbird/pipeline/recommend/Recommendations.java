package org.factorbird.pipeline.recommend;

import java.io.IOException;

import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichFilterFunction;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.connector.file.src.FileSource;
import org.apache.flink.core.fs.Path;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.factorbird.pipeline.io.OutLine;
import org.factorbird.pipeline.io.OutLineSink;
import org.factorbird.pipeline.io.Rating;
import org.factorbird.pipeline.io.RatingFormat;
import org.factorbird.pipeline.io.StringIds;
import org.factorbird.pipeline.model.ModelDir;

/**
 * The job graphs that use a trained model: {@code recommend} (top-k columns per row) and {@code predict}
 * (predictions for given pairs). Both read the model directory written by training, on any Flink file system.
 *
 * <pre>
 * recommend:  rows/ + --exclude ratings + --rows ids --keyBy(row)--> RecommendOperator (columns/ in pages) --> RECS/
 * predict:    rows/ + pairs --keyBy(row)--> PredictOperator.byRow --+
 *             columns/ ------------------------------------------- +--keyBy(column)--> byColumn --> PRED/
 * </pre>
 */
public final class Recommendations {

    private Recommendations() {}

    /** Adds the recommend job to {@code env}. */
    public static void recommend(StreamExecutionEnvironment env, ModelDir model, int k, String output,
            String exclude, String rows) throws IOException {
        model.files("rows");
        model.files("columns"); // fail here, in the client, when either is missing
        boolean text = model.stringIds();
        DataStream<RecInput> in = factors(env, model, "rows");
        if (exclude != null) {
            in = in.union(env.fromSource(FileSource.forBulkFileFormat(new RatingFormat(Rating.TRAIN, false, 0, 0f,
                    0f, 0L, text), new Path(exclude)).build(), WatermarkStrategy.noWatermarks(), "excluded ratings")
                    .filter(new ValidLines()).name("valid lines")
                    .map(r -> new RecInput(RecInput.PAIR, r.row, r.col, null), TypeInformation.of(RecInput.class))
                    .name("exclusions"));
        }
        if (rows != null) {
            in = in.union(env.fromSource(FileSource.forRecordStreamFormat(new NumberedLines(!text), new Path(rows))
                    .build(), WatermarkStrategy.noWatermarks(), "rows to recommend for")
                    .map(line -> wanted(line, "--rows " + rows, text), TypeInformation.of(RecInput.class))
                    .name("row ids"));
        }
        in.keyBy(RecInput::rowKey, Types.LONG)
                .transform("recommend", TypeInformation.of(OutLine.class),
                        new RecommendOperator(model.dir(), k, rows != null)).uid("recommend")
                .sinkTo(OutLineSink.create(output)).name("recommendations").uid("recommendations");
    }

    /** Adds the predict job to {@code env}; {@code clip}: to the model's training range. */
    public static void predict(StreamExecutionEnvironment env, ModelDir model, String pairs, String output,
            boolean clip) throws IOException {
        model.files("rows");
        model.files("columns");
        int dim = model.dim();
        String label = "--input " + pairs;
        boolean text = model.stringIds();
        DataStream<RecInput> byRow = factors(env, model, "rows").union(env.fromSource(
                FileSource.forRecordStreamFormat(new NumberedLines(!text), new Path(pairs)).build(),
                WatermarkStrategy.noWatermarks(), "pairs")
                .map(line -> pairOf(line, label, text), TypeInformation.of(RecInput.class)).name("parse pairs"));
        DataStream<RecInput> withRows = byRow.keyBy(RecInput::rowKey, Types.LONG)
                .transform("predict-rows", TypeInformation.of(RecInput.class), PredictOperator.byRow(dim))
                .uid("predict-rows");
        float[] range = model.model().ratingRange();
        // implicit models score rankings, not ratings: their predictions are never clipped to the values' range
        boolean ratings = model.model().settings() == null || !model.model().settings().implicit();
        float lo = clip && ratings && range != null ? range[0] : 1f;
        float hi = clip && ratings && range != null ? range[1] : 0f; // lo > hi: no clipping
        withRows.union(factors(env, model, "columns")).keyBy(RecInput::colKey, Types.LONG)
                .transform("predict-columns", TypeInformation.of(OutLine.class),
                        PredictOperator.byColumn(dim, model.model().globalMean(), lo, hi))
                .uid("predict-columns")
                .sinkTo(OutLineSink.create(output)).name("predictions").uid("predictions");
    }

    /** The factor lines of {@code kind} as {@link RecInput#FACTORS}. */
    private static DataStream<RecInput> factors(StreamExecutionEnvironment env, ModelDir model, String kind) {
        int dim = model.dim();
        boolean text = model.stringIds();
        String label = "--model " + model.dir() + "/" + kind;
        return env.fromSource(FileSource.forRecordStreamFormat(new NumberedLines(false), new Path(model.dir(), kind))
                        .build(), WatermarkStrategy.noWatermarks(), kind)
                .map(line -> {
                    float[] v = new float[dim];
                    long id = ModelDir.parse(line.text, v, label + " line", line.number, text);
                    return new RecInput(RecInput.FACTORS, id, 0, v).named(text ? ModelDir.idText(line.text) : null,
                            null);
                }, TypeInformation.of(RecInput.class)).name(kind + " factors");
    }

    /** Name of the accumulator counting the malformed lines of --exclude (skipped, as training skips them). */
    public static final String MALFORMED_EXCLUDE_LINES = "malformed-exclude-lines";

    /** Drops malformed rating lines, counting them. */
    static final class ValidLines extends RichFilterFunction<Rating> {
        private static final long serialVersionUID = 1L;
        private transient LongCounter bad;

        @Override
        public void open(OpenContext context) {
            bad = new LongCounter();
            getRuntimeContext().addAccumulator(MALFORMED_EXCLUDE_LINES, bad);
        }

        @Override
        public boolean filter(Rating r) {
            if (r.kind == Rating.BAD) {
                bad.add(1L);
                return false;
            }
            return !r.isName(); // exclusions need keys only
        }
    }

    /** A first line whose first field holds a letter is a header, as in rating files. */
    static boolean isHeader(String line) {
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == ',' || c == '\t' || c == ' ' || c == ';') {
                return false;
            }
            if (Character.isLetter(c)) {
                return true;
            }
        }
        return false;
    }

    private static String[] fields(String line) {
        return line.strip().split("[,;\\t ]+");
    }

    /** A row to recommend for: the first field of {@code line}. */
    static RecInput wanted(NumberedLines.Line line, String label, boolean text) {
        String f = fields(line.text)[0];
        return new RecInput(RecInput.WANTED, id(f, line, label, "row id", text), 0, null).named(text ? f : null, null);
    }

    /** A pair to predict: the first two fields of {@code line}. */
    static RecInput pairOf(NumberedLines.Line line, String label, boolean text) {
        String[] f = fields(line.text);
        if (f.length < 2) {
            throw new IllegalArgumentException(label + " line " + line.number + ": '" + clip(line.text)
                    + "' is not a 'row column' pair");
        }
        return new RecInput(RecInput.PAIR, id(f[0], line, label, "row id", text),
                id(f[1], line, label, "column id", text), null).named(text ? f[0] : null, text ? f[1] : null);
    }

    private static long id(String field, NumberedLines.Line line, String label, String what, boolean text) {
        if (text) {
            return StringIds.key(field);
        }
        try {
            long id = Long.parseLong(field);
            if (id >= 0) {
                return id;
            }
        } catch (NumberFormatException e) {
            // the message below
        }
        throw new IllegalArgumentException(label + " line " + line.number + ": '" + clip(field) + "' is not a "
                + what + " (a non-negative integer)");
    }

    private static String clip(String s) {
        return s.length() > 60 ? s.substring(0, 60) + "..." : s;
    }
}
