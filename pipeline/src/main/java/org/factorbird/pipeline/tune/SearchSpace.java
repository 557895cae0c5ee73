package org.factorbird.pipeline.tune;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.factorbird.pipeline.FactorbirdOptions;

/**
 * The grid {@code tune} searches, derived from a {@link DataProfile}; options the user gave are kept as given.
 *
 * <ul>
 *   <li><b>rank</b>: 8, 32 and 128, those at most 4x the ratings per row (a row with n ratings cannot pin down many
 *       more than n factors; L2 handles the rest), at least 8;
 *   <li><b>lambda</b>: 0.05, 0.1, 0.15 times the ratings' standard deviation s, and <b>learning rate</b> 0.01,
 *       0.02, 0.04 divided by s: scaling every rating by c scales the factors by sqrt(c), so an equivalent run needs
 *       lambda x c and the learning rate / c (on 1-5 stars s is about 1);
 *   <li>the constant schedule and init-std 0.1 (what the space was measured with on MovieLens) and lambda-bias 0.01;
 *       give them to change them;
 *   <li>{@link #DEFAULT_EPOCHS} epochs, and successive halving after every epochs/8 epochs keeping half.
 * </ul>
 *
 * Over {@code budget} models, values are dropped from the longest list: the largest learning rate, the smallest
 * lambda, the smallest rank first.
 */
public final class SearchSpace {

    public static final int DEFAULT_EPOCHS = 40;
    public static final int DEFAULT_BUDGET = 27;
    static final int MAX_RANK = 128;

    /** The grid options, as {@code grid} takes them (comma-separated lists), plus epochs and pruning. */
    public final Map<String, String> options = new LinkedHashMap<>();
    public final int models;

    private SearchSpace(Map<String, List<String>> lists, int epochs, int pruneEvery) {
        int n = 1;
        for (Map.Entry<String, List<String>> e : lists.entrySet()) {
            options.put(e.getKey(), String.join(",", e.getValue()));
            n *= e.getValue().size();
        }
        this.models = n;
        options.put(FactorbirdOptions.EPOCHS.key(), String.valueOf(epochs));
        if (n > 1) {
            options.put(FactorbirdOptions.PRUNE.key(), "halving");
            options.put(FactorbirdOptions.PRUNE_EVERY.key(), String.valueOf(pruneEvery));
            options.put(FactorbirdOptions.KEEP.key(), "0.5");
        }
    }

    /**
     * The space for {@code profile}, at most {@code budget} models; {@code given} holds the options the user set
     * (their values win).
     */
    public static SearchSpace derive(DataProfile profile, int budget, Map<String, String> given) {
        if (budget < 1) {
            throw new IllegalArgumentException("--budget-models must be >= 1 but was " + budget);
        }
        double s = Math.max(profile.std(), 1e-3);
        Map<String, List<String>> lists = new LinkedHashMap<>();
        List<String> ranks = new ArrayList<>();
        double cap = Math.max(8, 4 * profile.perRow());
        for (int r : new int[] {8, 32, MAX_RANK}) {
            if (r <= cap) {
                ranks.add(String.valueOf(r));
            }
        }
        lists.put(FactorbirdOptions.RANK.key(), ranks);
        lists.put(FactorbirdOptions.LAMBDA.key(), scaled(new double[] {0.05, 0.1, 0.15}, s));
        lists.put(FactorbirdOptions.LEARNING_RATE.key(), scaled(new double[] {0.01, 0.02, 0.04}, 1 / s));
        lists.put(FactorbirdOptions.SCHEDULE.key(), List.of("constant"));
        lists.put(FactorbirdOptions.INIT_STD.key(), List.of("0.1"));
        for (String key : List.copyOf(lists.keySet())) {
            if (given.containsKey(key)) {
                lists.put(key, List.of(given.get(key).split(",")));
            }
        }
        // over budget: drop the least promising end of the longest list
        while (product(lists) > budget) {
            String longest = null;
            for (Map.Entry<String, List<String>> e : lists.entrySet()) {
                if (!given.containsKey(e.getKey()) && e.getValue().size() > 1
                        && (longest == null || e.getValue().size() > lists.get(longest).size())) {
                    longest = e.getKey();
                }
            }
            if (longest == null) {
                break; // the user's own lists exceed the budget: theirs to choose
            }
            List<String> l = new ArrayList<>(lists.get(longest));
            l.remove(longest.equals(FactorbirdOptions.LEARNING_RATE.key()) ? l.size() - 1 : 0);
            lists.put(longest, l);
        }
        int epochs = DEFAULT_EPOCHS;
        String e = given.get(FactorbirdOptions.EPOCHS.key());
        if (e != null) {
            try {
                epochs = Integer.parseInt(e.trim());
            } catch (NumberFormatException x) {
                throw new IllegalArgumentException("--epochs must be a whole number but was '" + e + "'");
            }
            if (epochs < 1) {
                throw new IllegalArgumentException("--epochs must be >= 1 but was " + epochs);
            }
        }
        return new SearchSpace(lists, epochs, Math.max(1, Math.round(epochs / 8f)));
    }

    private static List<String> scaled(double[] base, double factor) {
        List<String> out = new ArrayList<>();
        for (double b : base) {
            out.add(String.format(Locale.ROOT, "%.3g", b * factor));
        }
        return out;
    }

    private static int product(Map<String, List<String>> lists) {
        int n = 1;
        for (List<String> l : lists.values()) {
            n *= l.size();
        }
        return n;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        options.forEach((k, v) -> sb.append(sb.length() == 0 ? "" : " ").append("--").append(k).append(' ').append(v));
        return models + " models: " + sb;
    }
}
