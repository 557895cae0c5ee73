package org.factorbird.pipeline.io;

import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * Chained to a source: packs its records into one {@link RatingChunk} per training subtask, and emits a chunk when
 * it is full and every partial one at the end of the input. A record goes to the chunk of the subtask its row's
 * key group belongs to, computed as Flink does for the keyed training operator (whose parallelism and maximum
 * parallelism the job sets to the values given here), so keying chunks by their first row sends every record to
 * the subtask a per-record {@code keyBy(row)} would have.
 *
 * <p>A chunk is cleared and refilled after it is emitted: the exchange behind this operator serializes it during
 * {@code collect}, so nothing downstream holds it.
 */
public final class ChunkOperator extends AbstractStreamOperator<RatingChunk>
        implements OneInputStreamOperator<Rating, RatingChunk>, BoundedOneInput {

    private static final long serialVersionUID = 1L;

    private final int parallelism;
    private final int maxParallelism;
    private transient RatingChunk[] chunks;
    private transient StreamRecord<RatingChunk> out;

    /**
     * @param parallelism the keyed training operator's parallelism
     * @param maxParallelism its maximum parallelism (number of key groups)
     */
    public ChunkOperator(int parallelism, int maxParallelism) {
        if (parallelism < 1 || maxParallelism < parallelism) {
            throw new IllegalArgumentException("parallelism must be in [1, maxParallelism] but was " + parallelism
                    + " (maxParallelism " + maxParallelism + ")");
        }
        this.parallelism = parallelism;
        this.maxParallelism = maxParallelism;
    }

    @Override
    public void open() throws Exception {
        super.open();
        chunks = new RatingChunk[parallelism];
        for (int i = 0; i < parallelism; i++) {
            chunks[i] = new RatingChunk(RatingChunk.CAPACITY);
        }
        out = new StreamRecord<>(null);
    }

    /** The training subtask of {@code row}: Flink's key group of a Long key, then its operator index. */
    static int subtaskOf(long row, int parallelism, int maxParallelism) {
        int keyGroup = KeyGroupRangeAssignment.computeKeyGroupForKeyHash(Long.hashCode(row), maxParallelism);
        return KeyGroupRangeAssignment.computeOperatorIndexForKeyGroup(maxParallelism, parallelism, keyGroup);
    }

    @Override
    public void processElement(StreamRecord<Rating> element) {
        Rating r = element.getValue();
        RatingChunk c = chunks[subtaskOf(r.row, parallelism, maxParallelism)];
        c.add(r);
        if (c.full()) {
            emit(c);
        }
    }

    private void emit(RatingChunk c) {
        output.collect(out.replace(c));
        c.clear();
    }

    @Override
    public void endInput() {
        for (RatingChunk c : chunks) {
            if (c.size > 0) {
                emit(c);
            }
        }
    }
}
