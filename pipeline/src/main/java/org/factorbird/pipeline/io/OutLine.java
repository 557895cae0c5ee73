package org.factorbird.pipeline.io;

/**
 * One line of factor output and the directory (relative to the output root) it belongs in, e.g.
 * {@code rows}, {@code columns}, {@code models/3/rows}. A Flink POJO; {@link OutLineSink} routes it.
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
