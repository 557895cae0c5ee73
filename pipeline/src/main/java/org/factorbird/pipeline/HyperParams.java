package org.factorbird.pipeline;

import java.io.Serializable;
import java.util.Locale;

import org.factorbird.pipeline.model.ModelFile;
import org.factorbird.ps.TableSpec;

/**
 * The hyper-parameters of one model. A run trains one or more of them (a grid) in the same pass over the data;
 * each owns a segment of every row's and every column's parameters:
 * {@code [b, f_1 .. f_k]}, followed for AdaGrad by its squared-gradient accumulators {@code [G_b, G_1 .. G_k]}.
 */
public final class HyperParams implements Serializable {

    private static final long serialVersionUID = 1L;

    /** How the step size evolves. */
    public enum Schedule {
        /** eta every epoch. */
        CONSTANT,
        /** eta_t = eta_0 / (1 + decay * t), t = epochs done so far. */
        DECAY,
        /** Per-coordinate eta_0 / sqrt(G), G the sum of squared gradients of that coordinate (Duchi et al.). */
        ADAGRAD;

        public static Schedule parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--schedule must be constant, decay or adagrad but was '" + s + "'");
            }
        }
    }

    public final int rank;
    public final float learningRate;
    public final float lambda;
    public final float lambdaBias;
    public final float initStd;
    public final Schedule schedule;
    public final float decay;

    public HyperParams(int rank, float learningRate, float lambda, float lambdaBias, float initStd,
            Schedule schedule, float decay) {
        if (rank < 1) {
            throw new IllegalArgumentException("--rank must be >= 1 but was " + rank);
        }
        if (!(learningRate > 0) || Float.isInfinite(learningRate)) {
            throw new IllegalArgumentException("--learning-rate must be a positive number but was " + learningRate);
        }
        checkNonNegative(lambda, "lambda");
        checkNonNegative(lambdaBias, "lambda-bias");
        checkNonNegative(initStd, "init-std");
        checkNonNegative(decay, "decay");
        this.rank = rank;
        this.learningRate = learningRate;
        this.lambda = lambda;
        this.lambdaBias = lambdaBias;
        this.initStd = initStd;
        this.schedule = schedule;
        this.decay = decay;
    }

    private static void checkNonNegative(float v, String name) {
        if (!(v >= 0) || Float.isInfinite(v)) {
            throw new IllegalArgumentException("--" + name + " must be a finite number >= 0 but was " + v);
        }
    }

    /** Floats this model occupies per row and per column. */
    public int width() {
        return (schedule == Schedule.ADAGRAD ? 2 : 1) * (rank + 1);
    }

    /** The PS / row-state segment: factors drawn at random, biases and accumulators at 0. */
    public TableSpec.Segment segment() {
        return new TableSpec.Segment(width(), 1, rank + 1, initStd);
    }

    /** The step size of {@code epoch} (1-based); for AdaGrad the base rate. */
    public float eta(int epoch) {
        return etaAfter(epoch - 1);
    }

    /** The step size after {@code passes} passes over the training data (fractional with --first-rung). */
    public float etaAfter(double passes) {
        return schedule == Schedule.DECAY ? (float) (learningRate / (1 + decay * passes)) : learningRate;
    }

    public String describe() {
        return String.format(Locale.ROOT, "rank=%d learning-rate=%s lambda=%s lambda-bias=%s schedule=%s%s "
                + "init-std=%s", rank, learningRate, lambda, lambdaBias, schedule.name().toLowerCase(Locale.ROOT),
                schedule == Schedule.DECAY ? " decay=" + decay : "", initStd);
    }

    /** As written in model.json and grid.json. */
    public ModelFile.HyperParameters toRecord() {
        return new ModelFile.HyperParameters(rank, learningRate, lambda, lambdaBias,
                schedule.name().toLowerCase(Locale.ROOT), decay, initStd);
    }
}
