package org.factorbird.pipeline.model;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * {@code OUT/grid.json} of {@code factorbird grid}: every model of the grid, best first.
 *
 * @param best index of the best model (the one in OUT/rows, OUT/columns, OUT/model.json)
 * @param validationRatings ratings of the --validation split, on which the models were ranked (0: none)
 * @param pruning "halving every E epochs, keep F" with --prune halving, else null
 */
public record GridFile(int best, List<Entry> models, float globalMean, long trainRatings, long testRatings,
        long validationRatings, @JsonInclude(JsonInclude.Include.NON_NULL) String pruning) {

    /**
     * One model of the grid.
     *
     * @param index its position in the Cartesian product (OUT/models/&lt;index&gt;/ with --keep-all)
     * @param place its rank in the grid, 1 for the best
     * @param stoppedAfterEpoch with --prune halving: the epoch after which the model stopped training (its final
     *     numbers are from then); null for a model trained to the end
     * @param diverged true for a model whose updates stopped being finite in epoch stoppedAfterEpoch (it ranks
     *     last; its parameters are not usable); null otherwise
     */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Entry(int index, int place, ModelFile.HyperParameters hyperParameters, Double finalTestRmse,
            Double finalTestMae, Double finalTrainRmse,
            @JsonInclude(JsonInclude.Include.NON_NULL) Double finalValidationRmse,
            @JsonInclude(JsonInclude.Include.NON_NULL) Integer stoppedAfterEpoch,
            @JsonInclude(JsonInclude.Include.NON_NULL) Boolean diverged, List<EpochRecord> epochs) {}
}
