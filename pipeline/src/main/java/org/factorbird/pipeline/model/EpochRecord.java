package org.factorbird.pipeline.model;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * One model's numbers after one epoch, aggregated over all subtasks (an entry of {@code epochs} in model.json and
 * grid.json). RMSE values are null when there is nothing to measure them on.
 *
 * @param trainRmse the training loss shown: the sampled one (--loss-sample) when there is a sample
 * @param trainRmseDuringEpoch weighted RMSE of the training ratings, each measured just before its own SGD step
 * @param psRequestsPerShard requests exchanged with each PS shard during the epoch, by all subtasks
 * @param psBytesPerShard bytes (both directions) exchanged with each PS shard during the epoch
 * @param precisionAtK with --ranking-k K, after the epochs they were measured after (recallAtK, ndcgAtK, mapAtK too)
 * @param validationRmse RMSE on the --validation ratings (runs with a validation split only)
 * @param coverageAtK the estimated share of the columns in any sampled row's top K (a sketch: within ~5%)
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record EpochRecord(int epoch, Double trainRmse, Double trainRmseDuringEpoch, Double testRmse, Double testMae,
        long ratingsPerSecond, double seconds, long[] psRequestsPerShard, long[] psBytesPerShard,
        @JsonInclude(JsonInclude.Include.NON_NULL) Double precisionAtK,
        @JsonInclude(JsonInclude.Include.NON_NULL) Double recallAtK,
        @JsonInclude(JsonInclude.Include.NON_NULL) Double ndcgAtK,
        @JsonInclude(JsonInclude.Include.NON_NULL) Double mapAtK,
        @JsonInclude(JsonInclude.Include.NON_NULL) Double coverageAtK,
        @JsonInclude(JsonInclude.Include.NON_NULL) Double validationRmse) implements java.io.Serializable {}
