package org.factorbird.pipeline.io;

/**
 * Lines of output (one, or several joined by '\n' by {@link LineBatcher}; no final newline) and the directory
 * (relative to the output root) they belong in, e.g. {@code rows}, {@code columns}, {@code models/3/rows}. A Flink
 * POJO; {@link OutLineSink} routes it.
 */
public class OutLine {

    public String bucket;
    public String line;

    public OutLine() {}

    public OutLine(String bucket, String line) {
        this.bucket = bucket;
        this.line = line;
    }

    @Override
    public String toString() {
        return bucket + ": " + line;
    }
}
