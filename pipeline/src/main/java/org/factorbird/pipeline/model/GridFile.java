package org.factorbird.pipeline.model;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * {@code OUT/grid.json} of {@code factorbird grid}: every model of the grid, best first.
 *
 * @param best index of the best model (the one in OUT/rows, OUT/columns, OUT/model.json)
 */
public record GridFile(int best, List<Entry> models, float globalMean, long trainRatings, long testRatings) {

    /**
     * One model of the grid.
     *
     * @param index its position in the Cartesian product (OUT/models/&lt;index&gt;/ with --keep-all)
     * @param place its rank in the grid, 1 for the best
     */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Entry(int index, int place, ModelFile.HyperParameters hyperParameters, Double finalTestRmse,
            Double finalTestMae, Double finalTrainRmse,
            @JsonInclude(JsonInclude.Include.NON_NULL) Double finalValidationRmse, List<EpochRecord> epochs) {}
}
