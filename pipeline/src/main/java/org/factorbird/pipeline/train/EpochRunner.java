package org.factorbird.pipeline.train;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import org.factorbird.pipeline.BatchSizes;
import org.factorbird.pipeline.TrainConfig;
import org.factorbird.ps.Hashing;
import org.factorbird.ps.PsClient;

/**
 * The epochs of one subtask. Each epoch trains every block in a new order, then waits at two barriers: after
 * training (every subtask's pushes applied, the loss summed), and after evaluation (the {@link Evaluator}s' sums
 * and the PS traffic summed). Between the two barriers no subtask trains, so that is where snapshots are taken.
 */
final class EpochRunner {

    private final TrainConfig cfg;
    private final BlockStore store;
    private final PsClient ps;
    private final Coordinator coordinator;
    private final SnapshotIo snapshots;
    private final RunReport report;
    private final TrainMetrics metrics;
    private final FlatModels models;
    private final float mu;
    private final HeldOutEvaluator heldOut;
    /** Null without --ranking-k. */
    private final RankingEvaluator ranking;
    /** The held-out evaluator first, then any others; their sums are laid out in this order. */
    private final List<Evaluator> evaluators;
    private final Phases phases;
    /**
     * Rows per training batch: --batch-rows, but with several subtasks and a model whose pushes are not damped
     * (--no-push-damping, AdaGrad, implicit feedback) at least {@link #MIN_BATCHES} batches per subtask and epoch.
     * Subtasks push the summed deltas of a batch trained on one pulled copy; when one batch held all of a subtask's
     * rows, every subtask moved the same columns a whole epoch's worth from the same start, and the undamped sum
     * overshot (a 2,000-row set zig-zagged between epochs at large steps). Damped pushes need no floor: with one
     * batch per subtask, shape (i) of the defaults (2,000 x 1,000, 540k ratings, 2 subtasks) ended at 0.3208 against
     * 0.3215 with the floor, MovieLens at 0.8579 against 0.8593, and a wide grid on small data moves a fraction of
     * the PS bytes (tune's 27 models on MovieLens re-pulled every column in each of ~5 batches per subtask).
     */
    private final int batchRows;
    static final int MIN_BATCHES = 8;
    /** Ratings per training batch: see {@link BatchSizes#trainingBatchRatings}. */
    private final int batchRatings;
    static final int MIN_BATCH_ROWS = 64;
    /** A warning about the batch sizes given (see {@link BatchSizes#stepsPerColumnWarning}), or null. */
    private final String warning;
    /** Scales each pushed delta for the other subtasks that move the same column at once (--push-damping); or null. */
    private final PushDamping damping;
    /** Two batches, so that one is gathered while the other's pull is on the wire. */
    private final Batch[] batches;

    EpochRunner(TrainConfig cfg, BlockStore store, PsClient ps, Coordinator coordinator, SnapshotIo snapshots,
            RunReport report, TrainMetrics metrics, FlatModels models, LoadStats load, RowPacker.Packed packed,
            Phases phases) {
        this.phases = phases;
        this.cfg = cfg;
        this.store = store;
        this.ps = ps;
        this.coordinator = coordinator;
        this.snapshots = snapshots;
        this.report = report;
        this.metrics = metrics;
        this.models = models;
        this.mu = load.mu();
        this.heldOut = new HeldOutEvaluator(store, ps, cfg, models, load);
        this.ranking = cfg.rankingK > 0 ? new RankingEvaluator(store, ps, cfg, models, load) : null;
        this.evaluators = ranking == null ? List.of(heldOut) : List.of(heldOut, ranking);
        this.batches = new Batch[] {new Batch(models.width, store.columns()), new Batch(models.width,
                store.columns())};
        this.batchRows = cfg.parallelism == 1 || PushDamping.dampsEveryModel(cfg) ? cfg.batchRows : (int) Math.min(cfg.batchRows,
                Math.max(MIN_BATCH_ROWS, load.trainRows() / cfg.parallelism / MIN_BATCHES));
        this.batchRatings = BatchSizes.trainingBatchRatings(cfg, packed.trainColumnCount());
        this.warning = BatchSizes.stepsPerColumnWarning(cfg, batchRows, packed.stats().trainRatings(),
                packed.stats().trainRows(), packed.trainColumnCount());
        if (warning != null) {
            report.warning(warning);
        }
        this.damping = cfg.pushDamping ? new PushDamping(cfg.parallelism) : null;
        if (cfg.implicit) {
            for (Batch b : batches) {
                b.implicit(cfg.loss, cfg.negatives, cfg.confidenceAlpha, packed.trainColumns());
            }
        }
    }

    /** Runs epochs {@code first..cfg.epochs} (fewer on an early stop), recording their metrics in {@code summary}. */
    void run(long[] blockKeys, Summary summary, int first) throws Exception {
        if (warning != null && !summary.warnings.contains(warning)) {
            summary.warnings.add(warning);
        }
        EarlyStopping stopping = cfg.selectByNdcg
                ? new EarlyStopping(cfg.earlyStop, "NDCG@" + cfg.rankingK, true)
                : new EarlyStopping(cfg.earlyStop, cfg.validation > 0 ? "validation RMSE" : "held-out RMSE", false);
        Pruning pruning = new Pruning(cfg);
        int lastSnapshot = -1;
        int lastEpoch = first - 1;
        int shards = ps.shardCount();
        for (int epoch = first; epoch <= cfg.epochs; epoch++) {
            long t0 = System.nanoTime();
            phases.mark();
            long[][] trafficBefore = ps.traffic();
            models.startEpoch(cfg.rungs.passesBefore(epoch));
            float share = cfg.share(epoch);
            double[] loss = new double[models.count + 1];
            boolean[] diverged = models.count > 1 ? new boolean[models.count] : null;
            trainEpoch(blockKeys, epoch, loss, diverged);
            phases.lap(Phases.TRAINING);
            for (int m = 0; diverged != null && m < models.count; m++) {
                if (diverged[m]) {
                    loss[m] = Double.NaN; // so that every subtask learns it from the barrier's sums
                }
            }
            double[] trained = coordinator.epochTrained(epoch, loss);
            phases.lap(Phases.TRAINING_BARRIER);
            stopDiverged(trained, epoch, summary);
            double seconds = (System.nanoTime() - t0) / 1e9;
            boolean snapshot = snapshots.due(epoch);
            if (snapshot) {
                snapshots.write(blockKeys, epoch); // between two barriers: no subtask is training
                phases.lap(Phases.SNAPSHOTS);
            }
            int evalSize = evaluators.stream().mapToInt(Evaluator::size).sum();
            double[] sums = new double[evalSize + 2 * shards];
            int heldOutAt = 0;
            int rankingAt = 0;
            int from = 0;
            for (Evaluator e : evaluators) {
                if (e == heldOut) {
                    heldOutAt = from;
                } else if (e == ranking) {
                    rankingAt = from;
                }
                e.evaluate(blockKeys, batches, epoch, sums, from);
                from += e.size();
            }
            addTraffic(trafficBefore, ps.traffic(), sums, evalSize);
            phases.lap(Phases.EVALUATION);
            byte[] ops = new byte[sums.length]; // traffic: sums
            int at = 0;
            for (Evaluator e : evaluators) {
                for (int i = 0; i < e.size(); i++) {
                    ops[at + i] = e.op(i);
                }
                at += e.size();
            }
            sums = coordinator.epochEvaluated(epoch, ops, sums);
            phases.lap(Phases.EVALUATION_BARRIER);
            double[] psRequests = Arrays.copyOfRange(sums, evalSize, evalSize + shards);
            double[] psBytes = Arrays.copyOfRange(sums, evalSize + shards, evalSize + 2 * shards);
            HeldOutEvaluator.Totals t = new HeldOutEvaluator.Totals(sums, heldOutAt, models.count);
            RankingEvaluator.Totals rt = ranking == null ? null
                    : new RankingEvaluator.Totals(sums, rankingAt, models.count);
            double epochBest = Double.POSITIVE_INFINITY;
            double epochBestNdcg = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < models.liveCount; i++) {
                int m = models.live[i]; // a stopped model's list ends at the epoch it stopped after
                // implicit feedback is judged by its ranking: held-out RMSE of its scores would only mislead
                EpochMetrics em = new EpochMetrics(epoch, Math.sqrt(trained[m] / trained[models.count]),
                        t.sampleRmse(m), cfg.implicit ? Double.NaN : t.testRmse(m),
                        cfg.implicit ? Double.NaN : t.testMae(m), summary.trainRatings * share / seconds, seconds,
                        psRequests, psBytes, rt == null ? null : rt.metrics(m), cfg.rankingK,
                        cfg.implicit ? Double.NaN : t.validationRmse(m));
                summary.epochs.get(m).add(em);
                epochBest = Math.min(epochBest, cfg.validation > 0 ? em.validationRmse : em.testRmse);
                if (!Double.isNaN(em.ndcg())) {
                    epochBestNdcg = Math.max(epochBestNdcg, em.ndcg());
                }
                report.progress(em.line(cfg.epochs, models.count > 1 ? "model " + m + " " : "") + (share < 1
                        ? String.format(java.util.Locale.ROOT, "  (rung pass on %.4g of the rows)", share) : ""));
            }
            String pruned = pruning.after(epoch, models, summary);
            if (pruned != null) {
                report.progress(pruned);
            }
            if (snapshot) {
                // every subtask has written its files (it passed the barrier): the snapshot is complete, and
                // records which models have stopped, this epoch's pruning included
                snapshots.commit(epoch, models);
                lastSnapshot = epoch;
            }
            // the best model so far; one that trained this epoch if the best has no record (stopped before a restart)
            int lead = summary.last(summary.best()) != null ? summary.best() : models.live[0];
            metrics.epochDone(epoch, summary.last(lead), psRequests, psBytes,
                    summary.last(lead).line(cfg.epochs, models.count > 1 ? "model " + lead + " (best) " : ""));
            if (report.leader()) {
                TrainHooks.epochDone(epoch);
            }
            lastEpoch = epoch;
            String stop;
            if (cfg.selectByNdcg) {
                // only epochs with a measurement count (--ranking-every)
                stop = epochBestNdcg > Double.NEGATIVE_INFINITY ? stopping.after(epoch, epochBestNdcg) : null;
            } else {
                boolean measured = cfg.validation > 0 ? t.validationCount() > 0 : t.testCount() > 0;
                stop = measured ? stopping.after(epoch, epochBest) : null;
            }
            if (stop != null) {
                summary.stoppedEarly = stop;
                report.progress("early stop " + stop);
                break;
            }
        }
        if (lastSnapshot != lastEpoch && lastEpoch >= first && snapshots.enabled()) {
            // stopped early: snapshot the final state too (all pushes are applied since the last barrier)
            phases.mark();
            snapshots.write(blockKeys, lastEpoch);
            coordinator.finalSnapshotWritten();
            snapshots.commit(lastEpoch, models);
            phases.lap(Phases.SNAPSHOTS);
        }
    }

    /**
     * A grid's models whose training loss summed over every subtask is not finite (non-finite updates anywhere)
     * stop here, marked diverged: they never rank as best. The run fails only when every model has diverged.
     */
    private void stopDiverged(double[] trained, int epoch, Summary summary) {
        if (models.count == 1) {
            return;
        }
        int[] live = java.util.Arrays.copyOf(models.live, models.liveCount);
        List<Integer> stopped = new java.util.ArrayList<>();
        for (int m : live) {
            if (!Double.isFinite(trained[m])) {
                stopped.add(m);
            }
        }
        if (stopped.isEmpty()) {
            return;
        }
        if (stopped.size() == live.length) {
            throw new IllegalStateException("every model still training diverged in epoch " + epoch
                    + " (non-finite updates): lower the learning rates");
        }
        for (int m : stopped) {
            models.stop(m, epoch);
            summary.diverged[m] = true;
        }
        report.progress("diverged in epoch " + epoch + " (non-finite updates), stopped: models " + stopped
                + "; the others go on (lower those learning rates)");
    }

    /** This epoch's requests and bytes (both directions) per shard, snapshots included, into {@code sums[from..]}. */
    private static void addTraffic(long[][] before, long[][] after, double[] sums, int from) {
        int shards = before.length;
        for (int sh = 0; sh < shards; sh++) {
            sums[from + sh] = after[sh][0] - before[sh][0];
            sums[from + shards + sh] = after[sh][1] - before[sh][1] + after[sh][2] - before[sh][2];
        }
    }

    /**
     * Trains one epoch; {@code loss[m]} gains model m's weighted squared errors, {@code loss[M]} the weights.
     *
     * <p>Two batches alternate: while batch i's pull is on the wire, batch i+1 is gathered from state (its rows
     * differ from batch i's, so this changes no number). Batch i+1's pull is sent only after batch i's push, on
     * the same connections, so it sees batch i's updates: staleness stays bounded by one batch.
     */
    private void trainEpoch(long[] keys, int epoch, double[] loss, boolean[] diverged) throws Exception {
        long seed = Hashing.mix64(cfg.seed + epoch * 0x9E3779B97F4A7C15L);
        // blocks in a new order every epoch; the rows of a batch's blocks are shuffled together (Batch)
        KeyOrder.shuffle(keys, 0, keys.length, seed);
        // a rung pass (--first-rung) trains the first share of the shuffled blocks: a random share of the rows
        float share = cfg.share(epoch);
        long[] trained = share < 1 ? Arrays.copyOf(keys, Math.max(Math.min(1, keys.length),
                Math.round(share * keys.length))) : keys;
        CompletableFuture<Void> pushes = CompletableFuture.completedFuture(null);
        BlockCursor cursor = new BlockCursor(store, trained, true, batchRows, batchRatings);
        Batch current = batches[0];
        CompletableFuture<Void> pull = layOut(current, cursor, seed, epoch) ? current.pull(ps, false, models) : null;
        int turn = 0;
        while (pull != null) {
            Interrupts.check();
            Batch following = batches[++turn & 1];
            boolean more = layOut(following, cursor, seed, epoch); // overlaps the pull in flight
            ps.await(pull);
            loss[models.count] += current.train(models, mu, loss);
            pushes = CompletableFuture.allOf(pushes, current.push(ps, diverged, models, damping));
            pull = more ? following.pull(ps, false, models) : null;
            for (int b = 0; b < current.blocks; b++) {
                store.writeBack(current.blockKeys[b], current.blockParams[b]);
            }
            current = following;
        }
        ps.await(pushes); // every push applied before this subtask reports the epoch done
    }

    /** Fills {@code batch} for training and lays out its rows; false when the epoch is done. */
    private boolean layOut(Batch batch, BlockCursor cursor, long epochSeed, int epoch) throws Exception {
        while (cursor.fill(batch)) {
            batch.layoutTraining(Hashing.mix64(epochSeed ^ cursor.position()), cfg.seed, epoch,
                    cfg.columnChunks ? models.colWidth : 0);
            if (batch.rows > 0) {
                return true;
            } // only rows seen in held-out data so far: nothing to train, take the next blocks
        }
        return false;
    }
}
