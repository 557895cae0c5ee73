package org.factorbird.pipeline;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The rung passes of {@code grid --prune halving --first-rung S}: partial passes before the full epochs over
 * growing shares of the rows, S, S / keep, S / keep^2, ... while below 1 and while more than one model would still
 * train after the halving that follows each. Epochs 1..{@link #count()} are those passes; the full epochs follow.
 */
public final class Rungs implements java.io.Serializable {

    private static final long serialVersionUID = 1L;

    /** No rung passes: every epoch is a full one. */
    public static final Rungs NONE = new Rungs(new float[0]);

    private final float[] shares;

    private Rungs(float[] shares) {
        this.shares = shares;
    }

    /** The passes for {@code models} models halved to a {@code keep} share each time, the first on {@code first}. */
    public static Rungs of(int models, double keep, double first) {
        if (!(first > 0 && first <= 1)) {
            throw new IllegalArgumentException("--first-rung must be in (0, 1] but was " + first);
        }
        if (!(keep > 0 && keep < 1)) {
            throw new IllegalArgumentException("--keep must be in (0, 1) but was " + keep);
        }
        List<Float> out = new ArrayList<>();
        int n = models;
        for (double s = first; s < 1 - 1e-9 && n > 1; s /= keep) {
            out.add((float) s);
            n = Math.max(1, (int) Math.ceil(n * keep - 1e-9));
        }
        float[] shares = new float[out.size()];
        for (int i = 0; i < shares.length; i++) {
            shares[i] = out.get(i);
        }
        return new Rungs(shares);
    }

    /** How many rung passes there are (epochs 1..count). */
    public int count() {
        return shares.length;
    }

    /** The share of the rows epoch {@code epoch} trains on: below 1 for a rung pass. */
    public float share(int epoch) {
        return epoch <= shares.length ? shares[epoch - 1] : 1f;
    }

    /** Passes over the training data done before {@code epoch}: what the 'decay' schedule counts. */
    public double passesBefore(int epoch) {
        double passes = 0;
        for (int e = 1; e < epoch; e++) {
            passes += share(e);
        }
        return passes;
    }

    /** "0.0625, 0.2500", as grid.json names them. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (float f : shares) {
            sb.append(sb.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.4f", f));
        }
        return sb.toString();
    }
}
