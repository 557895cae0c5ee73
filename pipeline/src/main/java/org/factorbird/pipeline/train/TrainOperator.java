package org.factorbird.pipeline.train;

import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.runtime.state.heap.HeapKeyedStateBackend;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.factorbird.pipeline.TrainConfig;
import org.factorbird.pipeline.io.OutLine;
import org.factorbird.pipeline.io.Rating;
import org.factorbird.pipeline.io.RatingChunk;
import org.factorbird.ps.PsClient;

/**
 * Factorbird's training operator, one instance per parallel subtask after {@code keyBy(row)}: the Flink lifecycle,
 * wiring the parts that do the work.
 *
 * <ol>
 *   <li>While input arrives (in chunks of a subtask's records, {@link RatingChunk}), each rating is appended to
 *       local spill files ({@link RatingSpill}); malformed lines are counted.</li>
 *   <li>At end of input, {@link RowPacker} packs the rows into blocks in keyed state ({@link BlockStore}), and the
 *       subtasks agree on the totals and the global mean ({@link Coordinator#agreeOnLoad}).</li>
 *   <li>{@link SnapshotIo} restores a snapshot when there is one; {@link EpochRunner} runs the epochs: batches of
 *       rows pull their columns once, train, and push summed deltas ({@link Batch}); evaluation and barriers after
 *       each epoch.</li>
 *   <li>{@link FactorWriter} emits this subtask's rows and its slice of the columns (with --ids string, named by
 *       {@link IdNames}), {@link RecommendWriter} its rows' top k with --recommend; subtask 0 writes model.json and grid.json ({@link RunReport}).</li>
 * </ol>
 *
 * <p>Row parameters never leave the subtask; only columns cross the network.
 */
public class TrainOperator extends AbstractStreamOperator<OutLine>
        implements OneInputStreamOperator<RatingChunk, OutLine>, BoundedOneInput {

    private static final long serialVersionUID = 1L;

    private static final int MAX_BAD_SAMPLES = 100;
    /** Spill buckets per subtask and the write buffer of each (see {@link RatingSpill}). */
    static final int SPILL_BUCKETS = 128;
    static final int SPILL_BUFFER_BYTES = 32 * 1024;

    private final TrainConfig cfg;

    /** The incoming ratings, hash-partitioned by row on local disk until end of input. */
    private transient RatingSpill spill;
    private transient BlockStore store;
    /** Texts of the string ids (--ids string), else null. */
    private transient IdNames names;
    private transient PsClient ps;
    private transient TrainMetrics metrics;
    private transient long skipped;
    private transient List<String> badSamples;
    /** Restart attempt of this subtask: part of every aggregate id, so attempts never mix their barriers. */
    private transient int attempt;
    private transient long loadStart;
    /** Lines this subtask has received. */
    private transient long lines;

    public TrainOperator(TrainConfig cfg) {
        this.cfg = cfg;
    }

    @Override
    public void open() throws Exception {
        super.open();
        store = new BlockStore(
                getPartitionedState(new ValueStateDescriptor<>("blocks", TypeInformation.of(RowBlock.class))),
                getPartitionedState(new ValueStateDescriptor<>("params", TypeInformation.of(float[].class))),
                this::setCurrentKey, getKeyedStateBackend() instanceof HeapKeyedStateBackend, cfg);
        if (cfg.stringIds) {
            names = new IdNames(
                    getPartitionedState(new ValueStateDescriptor<>("row-names", TypeInformation.of(String.class))),
                    getPartitionedState(new ValueStateDescriptor<>("column-names", TypeInformation.of(String.class))),
                    this::setCurrentKey);
        }
        badSamples = new ArrayList<>();
        metrics = new TrainMetrics(getMetricGroup());
        loadStart = System.nanoTime();
        attempt = getRuntimeContext().getTaskInfo().getAttemptNumber();
        checkChunkRouting();
        ps = PsClient.connect(cfg.psClientConfig(attempt));
        File[] tmp = getContainingTask().getEnvironment().getIOManager().getSpillingDirectories();
        spill = new RatingSpill(new File(tmp[subtask() % tmp.length], "factorbird-spill-" + UUID.randomUUID()),
                SPILL_BUCKETS, SPILL_BUFFER_BYTES);
    }

    /**
     * The chunkers before this operator send a record to the subtask of its row's key group computed with the
     * job's parallelism and maximum parallelism (FactorbirdJob); if the runtime ran this operator with others, rows
     * would land on subtasks that do not own them. Refuse to start rather than train a split model.
     */
    private void checkChunkRouting() {
        int p = getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks();
        int max = getRuntimeContext().getTaskInfo().getMaxNumberOfParallelSubtasks();
        int expectedMax = cfg.maxParallelism();
        if (p != cfg.parallelism || max != expectedMax) {
            throw new IllegalStateException("the training operator runs with parallelism " + p + " and max "
                    + "parallelism " + max + ", but the job was built for " + cfg.parallelism + " and " + expectedMax
                    + ": set the parallelism with --parallelism, not on the cluster");
        }
    }

    @Override
    public void processElement(StreamRecord<RatingChunk> element) throws Exception {
        RatingChunk c = element.getValue();
        for (int i = 0; i < c.size; i++) {
            byte kind = c.kinds[i];
            if (kind == Rating.ROW_NAME || kind == Rating.COLUMN_NAME) {
                setCurrentKey(c.rows[i]); // names live in keyed state under their key
                names.add(c.get(i));
                continue;
            }
            if ((++lines & 0xFFFF) == 0) {
                // summed over the subtasks by the client: factorbird follow (REST API), a local run (a reporter)
                metrics.reading(lines);
            }
            if (kind == Rating.BAD) {
                skipped++;
                if (badSamples.size() < MAX_BAD_SAMPLES) {
                    badSamples.add(c.notes[i]);
                }
                continue;
            }
            spill.add(c.rows[i], c.cols[i], c.values[i], c.weights[i], kind);
        }
    }

    @Override
    public void endInput() throws Exception {
        metrics.inputDone(lines);
        RunReport report = new RunReport(cfg, subtask());
        long packStart = System.nanoTime();
        RowPacker.Packed packed = new RowPacker(store, cfg).pack(spill);
        long packEnd = System.nanoTime();
        spill = null;
        if (!badSamples.isEmpty()) {
            report.badLines(skipped, badSamples);
        }
        Coordinator coordinator = new Coordinator(ps, attempt, parallelism());
        double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
        LoadStats load = coordinator.agreeOnLoad(packed.stats().with(loadSeconds, skipped));
        checkLoad(load);
        if (cfg.implicit) {
            load = load.withoutMean();
        }
        metrics.reading(lines);
        metrics.loaded(load.skipped());
        FlatModels models = new FlatModels(cfg.models, cfg.offsets);
        report.loaded(load, models.count, store.heap());

        Phases phases = new Phases();
        phases.seconds[Phases.LOAD] = (packStart - loadStart) / 1e9;
        phases.seconds[Phases.PACK] = (packEnd - packStart) / 1e9;
        Summary summary = new Summary(load, models.count, cfg.selectByNdcg);
        SnapshotIo snapshots = new SnapshotIo(cfg, store, ps, coordinator, report, subtask(), parallelism(), attempt);
        phases.mark();
        int first = 1 + snapshots.restore(packed.blockKeys(), models);
        phases.lap(Phases.RESTORE);
        summary.resumedFrom = first - 1;
        new EpochRunner(cfg, store, ps, coordinator, snapshots, report, metrics, models, load, packed,
                phases).run(packed.blockKeys(), summary, first);
        phases.mark();
        summary.stoppedAt = models.stoppedAt.clone();

        int best = summary.best();
        FactorWriter writer = new FactorWriter(cfg, line -> output.collect(new StreamRecord<>(line)), names);
        long rows = writer.writeRows(store, packed.blockKeys(), best);
        long columns = writer.writeColumns(ps, subtask(), parallelism(), best);
        if (cfg.recommend > 0) {
            new RecommendWriter(cfg, line -> output.collect(new StreamRecord<>(line)))
                    .write(store, packed.blockKeys(), ps, best, load.mu());
        }
        phases.lap(Phases.OUTPUT);
        double[] written = coordinator.outputWritten(rows, columns, phases.seconds);
        summary.rowsWritten = (long) written[0];
        summary.columnsWritten = (long) written[1];
        summary.phases = Phases.asMap(java.util.Arrays.copyOfRange(written, 2, written.length));
        report.finished(summary, best);
    }

    /** Refuses a run with nothing to train on, naming the input and why. */
    private void checkLoad(LoadStats load) {
        if (load.trainRatings() == 0) {
            throw new IllegalStateException("no valid training ratings in " + cfg.input + (load.skipped() > 0
                    ? " (" + load.skipped() + " malformed lines skipped)" : " (the input is empty)"));
        }
        if (!(load.weightSum() > 0)) {
            throw new IllegalStateException("every training rating in " + cfg.input + " has weight 0");
        }
    }

    @Override
    public void close() throws Exception {
        if (ps != null) {
            ps.close();
            ps = null;
        }
        if (spill != null) {
            spill.close();
            spill = null;
        }
        super.close();
    }

    private int subtask() {
        return getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
    }

    private int parallelism() {
        return getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks();
    }
}
