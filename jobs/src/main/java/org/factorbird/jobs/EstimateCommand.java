package org.factorbird.jobs;

import java.io.PrintStream;
import java.util.List;
import java.util.Map;

import org.factorbird.pipeline.Estimate;
import org.factorbird.pipeline.FactorbirdJob;

/** {@code factorbird estimate}: the cost of a run from the shape of its data, before running it. */
final class EstimateCommand {

    /** Bytes of a "row,col,rating" text line, for sizing RocksDB as train does from the input's size. */
    static final long TEXT_BYTES_PER_RATING = 20;

    private EstimateCommand() {}

    static final List<String> FLAGS = List.of("rows", "cols", "ratings", "rank", "models", "adagrad", "ps-shards",
            "parallelism", "slots", "batch-rows", "holdout", "loss-sample", "state-backend", "rocksdb-memory", "skew");

    static final String HELP = String.join("\n",
            "usage: factorbird estimate --rows R --cols C --ratings N [options]",
            "  --rank K            rank of every model [default: 10]",
            "  --models M          models trained together (grid size) [default: 1]",
            "  --adagrad true      the models use AdaGrad (twice the floats per id) [default: false]",
            "  --ps-shards S       parameter-server shards [default: 2]",
            "  --parallelism P     training subtasks [default: 2]",
            "  --slots S           training subtasks per TaskManager [default: 1]",
            "  --batch-rows B      rows per batch [default: 4096]",
            "  --holdout F         held-out fraction of the ratings [default: 0.1]",
            "  --loss-sample F     training-loss sample [default: 0.01]",
            "  --skew S            Zipf exponent of column popularity, 0 = uniform [default: 0]",
            "  --state-backend X   heap or rocksdb [default: heap]",
            "  --rocksdb-memory M  RocksDB memory per subtask, e.g. 256m [default: as train derives it: the input's "
                    + "text size per subtask, ~20 bytes per rating, within 64m..1g]");

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
            String backend = f.getOrDefault("state-backend", "heap");
            if (!backend.equals("heap") && !backend.equals("rocksdb")) {
                throw new Factorbird.CliException("--state-backend must be 'heap' or 'rocksdb' but was '" + backend
                        + "'", 2);
            }
            long rocksdb = f.containsKey("rocksdb-memory")
                    ? org.apache.flink.configuration.MemorySize.parse(f.get("rocksdb-memory")).getBytes()
                    : FactorbirdJob.autoRocksdbMemory(e.ratings * TEXT_BYTES_PER_RATING, e.parallelism);
            int slots = Integer.parseInt(f.getOrDefault("slots", "1"));
            if (slots < 1) {
                throw new Factorbird.CliException("--slots must be >= 1 but was " + slots, 2);
            }
            out.println(e.report(slots, backend, rocksdb));
        } catch (NumberFormatException e) {
            throw new Factorbird.CliException("estimate options must be numbers: " + e.getMessage(), 2);
        } catch (IllegalArgumentException e) {
            throw new Factorbird.CliException(e.getMessage(), 2);
        }
    }
}
