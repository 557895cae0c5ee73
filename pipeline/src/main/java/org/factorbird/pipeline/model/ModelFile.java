package org.factorbird.pipeline.model;

import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/**
 * {@code OUT/model.json}: what a trained model is and how it came about. The factors are in {@code OUT/rows/} and
 * {@code OUT/columns/}, one line per id: {@code id<TAB>bias<TAB>f1..fk}.
 *
 * @param format always {@link #FORMAT}
 * @param globalMean mu, exactly the float training used (0 for implicit feedback)
 * @param input the training ratings (--input)
 * @param test the held-out ratings (--test), if any
 * @param gridIndex the model's index in its grid (grids only)
 * @param ratingRange [min, max] of the training ratings: predictions are clipped to it
 * @param loadSeconds seconds from the operator's start to the end of packing
 * @param resumedFromEpoch the epoch of the snapshot the run resumed from (resumed runs only)
 * @param stoppedEarly why --early-stop ended the run (early stops only)
 * @param phases seconds of each phase (load, pack, restore, training, trainingBarrier, snapshots, evaluation,
 *     evaluationBarrier, output), each the slowest subtask's
 * @param warnings what the run warned about its settings (e.g. a --batch-ratings that lets subtasks cancel a
 *     factor), so that a cluster run's client prints them too; absent when none
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"format", "globalMean", "rank", "lineFormat", "input", "test", "gridIndex", "hyperParameters", "settings", "counts",
        "ratingRange", "loadSeconds", "stateBytesPerSubtask", "parallelism", "psShards", "stateBackend",
        "resumedFromEpoch", "stoppedEarly", "finalTestRmse", "finalTrainRmse", "finalValidationRmse", "phases", "epochs", "warnings"})
public record ModelFile(String format, float globalMean, int rank, String lineFormat, String input, String test,
        Integer gridIndex,
        HyperParameters hyperParameters, Settings settings, Counts counts, float[] ratingRange, Double loadSeconds,
        long stateBytesPerSubtask, int parallelism, int psShards, String stateBackend, Integer resumedFromEpoch,
        String stoppedEarly, @JsonInclude(JsonInclude.Include.ALWAYS) Double finalTestRmse,
        @JsonInclude(JsonInclude.Include.ALWAYS) Double finalTrainRmse, Double finalValidationRmse,
        Map<String, Double> phases, List<EpochRecord> epochs, List<String> warnings) implements java.io.Serializable {

    public static final String FORMAT = "factorbird-model-1";
    public static final String LINE_FORMAT = "id<TAB>bias<TAB>f1..fk";

    /** One model's hyper-parameters, as given to {@code train} or chosen by {@code grid}. */
    public record HyperParameters(int rank, float learningRate, float lambda, float lambdaBias, String schedule,
            float decay, float initStd) implements java.io.Serializable {}

    /**
     * The run settings shared by every model of a run; {@code ids}: "numeric" or "string" (--ids);
     * {@code pushDamping}: --push-damping (false in models written before the option).
     */
    public record Settings(int epochs, long seed, int batchRows, int batchRatings, int weightColumn, float holdout,
            float lossSample, boolean clip, int earlyStop, int rankingK, float relevanceThreshold, boolean implicit,
            String loss, int negatives, float confidenceAlpha, float validation, String ids,
            boolean pushDamping) implements java.io.Serializable {

        /** Whether the model's ids are strings (--ids string); models written before the option are numeric. */
        public boolean stringIds() {
            return "string".equals(ids);
        }
    }

    /**
     * @param rows rows written (rows with training ratings)
     * @param columns columns written (columns with training ratings)
     * @param testOnlyRows rows with held-out ratings only (predicted from mu + b_j)
     */
    public record Counts(long trainRatings, long testRatings, long rows, long columns, long testOnlyRows,
            long skippedLines, long validationRatings) implements java.io.Serializable {}

    /** The last epoch's record, or null when no epoch ran. */
    public EpochRecord lastEpoch() {
        return epochs == null || epochs.isEmpty() ? null : epochs.get(epochs.size() - 1);
    }
}
