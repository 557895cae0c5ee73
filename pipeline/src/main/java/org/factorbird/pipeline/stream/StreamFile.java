package org.factorbird.pipeline.stream;

/**
 * {@code stream.json} of an export: what the stream had done at the checkpoint the export belongs to.
 *
 * @param checkpoint the Flink checkpoint whose rows, columns and source position the export holds
 * @param ratings ratings trained on since the job started (each once, restarts included)
 * @param prequentialRmse RMSE of every one of them predicted just before its own step (null before the first)
 * @param prequentialMae the same as a mean absolute error
 * @param skippedLines malformed lines skipped
 */
public record StreamFile(long checkpoint, long ratings, Double prequentialRmse, Double prequentialMae,
        long skippedLines) {

    public static final String NAME = "stream.json";
}
