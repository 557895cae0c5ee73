package org.factorbird.jobs;

import java.io.PrintStream;
import java.util.List;
import java.util.Map;

import org.factorbird.pipeline.Estimate;

/** {@code factorbird estimate}: the cost of a run from the shape of its data, before running it. */
final class EstimateCommand {

    private EstimateCommand() {}

    static final List<String> FLAGS = List.of("rows", "cols", "ratings", "rank", "models", "adagrad", "ps-shards",
            "parallelism", "batch-rows", "holdout", "loss-sample", "state-backend", "skew");

    static final String HELP = String.join("\n",
            "usage: factorbird estimate --rows R --cols C --ratings N [options]",
            "  --rank K            rank of every model [default: 10]",
            "  --models M          models trained together (grid size) [default: 1]",
            "  --adagrad true      the models use AdaGrad (twice the floats per id) [default: false]",
            "  --ps-shards S       parameter-server shards [default: 2]",
            "  --parallelism P     training subtasks [default: 2]",
            "  --batch-rows B      rows per batch [default: 4096]",
            "  --holdout F         held-out fraction of the ratings [default: 0.1]",
            "  --loss-sample F     training-loss sample [default: 0.01]",
            "  --skew S            Zipf exponent of column popularity, 0 = uniform [default: 0]",
            "  --state-backend X   heap or rocksdb (informational) [default: heap]");

    static void run(Map<String, String> f, PrintStream out) {
        try {
            int rank = Integer.parseInt(f.getOrDefault("rank", "10"));
            int models = Integer.parseInt(f.getOrDefault("models", "1"));
            boolean adagrad = Boolean.parseBoolean(f.getOrDefault("adagrad", "false"));
            if (!f.containsKey("rows") || !f.containsKey("cols") || !f.containsKey("ratings")) {
                throw new Factorbird.CliException("--rows, --cols and --ratings are required", 2);
            }
            Estimate e = new Estimate(Long.parseLong(f.get("rows")), Long.parseLong(f.get("cols")),
                    Long.parseLong(f.get("ratings")), models * (rank + 1) * (adagrad ? 2 : 1),
                    Integer.parseInt(f.getOrDefault("ps-shards", "2")),
                    Integer.parseInt(f.getOrDefault("parallelism", "2")),
                    Integer.parseInt(f.getOrDefault("batch-rows", "4096")),
                    Double.parseDouble(f.getOrDefault("holdout", "0.1")),
                    Double.parseDouble(f.getOrDefault("loss-sample", "0.01")),
                    Double.parseDouble(f.getOrDefault("skew", "0")));
            out.println(e.report());
            if ("rocksdb".equals(f.get("state-backend"))) {
                out.println("(rocksdb: the keyed state lives on local disk; size managed memory for its cache)");
            }
        } catch (NumberFormatException e) {
            throw new Factorbird.CliException("estimate options must be numbers: " + e.getMessage(), 2);
        } catch (IllegalArgumentException e) {
            throw new Factorbird.CliException(e.getMessage(), 2);
        }
    }
}
