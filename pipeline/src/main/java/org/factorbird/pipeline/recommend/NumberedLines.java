package org.factorbird.pipeline.recommend;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.file.src.reader.SimpleStreamFormat;
import org.apache.flink.core.fs.FSDataInputStream;

/**
 * Text lines with their 1-based line number in their file, for inputs whose errors should say where they are
 * ({@code --rows}, predict's pairs) and whose header (a first line whose first field holds a letter, as in rating
 * files) is skipped here, so that a later line with a letter is an error, not a header.
 */
public final class NumberedLines extends SimpleStreamFormat<NumberedLines.Line> {

    private static final long serialVersionUID = 1L;

    private final boolean headers;

    /** @param headers whether a first line whose first field holds a letter is a header */
    public NumberedLines(boolean headers) {
        this.headers = headers;
    }

    /** One line of a file. A Flink POJO. */
    public static class Line {
        public long number;
        public String text;

        public Line() {}

        public Line(long number, String text) {
            this.number = number;
            this.text = text;
        }
    }

    @Override
    public Reader<Line> createReader(Configuration config, FSDataInputStream stream) {
        BufferedReader in = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8), 1 << 16);
        return new Reader<>() {
            private long number;

            @Override
            public Line read() throws IOException {
                String text;
                while ((text = in.readLine()) != null) {
                    number++;
                    if (!text.isBlank() && !(headers && number == 1 && Recommendations.isHeader(text))) {
                        return new Line(number, text);
                    }
                }
                return null;
            }

            @Override
            public void close() throws IOException {
                in.close();
            }
        };
    }

    @Override
    public TypeInformation<Line> getProducedType() {
        return TypeInformation.of(Line.class);
    }
}
