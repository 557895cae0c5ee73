#!/usr/bin/env bash
# Benchmark (not a test): 10M planted ratings (200k rows x 100k columns, rank 10, skewed degrees), 10 epochs at
# rank 10, parallelism 2, 2 embedded PS shards. Runs the batched default and, as the accuracy baseline, an
# unbatched run (--batch-rows 1: one pull and one push per row, Factorbird's original per-row protocol).
# Prints per-epoch throughput, the median epoch, peak RSS and the held-out RMSE of both runs.
#
# Usage: scripts/bench.sh [--skip-unbatched] [--rocksdb]   (--rocksdb adds a batched run on RocksDB state)
# Environment: BENCH_DIR (default /tmp/factorbird-bench), EPOCHS (10), FACTORBIRD_HEAP (4g).
set -euo pipefail
HOME_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${BENCH_DIR:-/tmp/factorbird-bench}"
EPOCHS="${EPOCHS:-10}"
FB="$HOME_DIR/scripts/factorbird"
# shellcheck source=lib/bench-data.sh
source "$HOME_DIR/scripts/lib/bench-data.sh"
bench_data

run() { # name, extra options...
  local name="$1"; shift
  rm -rf "$DIR/out-$name"
  /usr/bin/time -v -o "$DIR/time-$name.txt" "$FB" train --input "$DIR/data/train" --test "$DIR/data/test" \
    --output "$DIR/out-$name" --rank 10 --epochs "$EPOCHS" --parallelism 2 --ps-shards 2 "$@" \
    | tee "$DIR/log-$name.txt"
}

report() { # name
  local name="$1"
  local rss median rmse
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$DIR/time-$name.txt")
  median=$(grep -o '[0-9.]*M ratings/s' "$DIR/log-$name.txt" | awk '{print $1}' | sed 's/M//' | sort -g \
    | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2] + a[NR/2+1]) / 2}')
  rmse=$(grep -o '"finalTestRmse": [0-9.]*' "$DIR/out-$name/model.json" | awk '{print $2}')
  load=$(grep -o '([0-9.]*M lines/s)' "$DIR/log-$name.txt" | tr -d '()')
  printf "%-10s median epoch %6.2fM ratings/s   load %s   held-out RMSE %s   peak RSS %s MB\n" "$name" "$median" \
    "$load" "$rmse" "$rss"
  echo "$median $rmse"
}

echo "== batched (default: --batch-rows 4096)"
run batched
SKIP_UNBATCHED=0; ROCKSDB=0
for a in "$@"; do
  case "$a" in
    --skip-unbatched) SKIP_UNBATCHED=1 ;;
    --rocksdb) ROCKSDB=1 ;;
    *) echo "bench: unknown option $a" >&2; exit 2 ;;
  esac
done
if [[ $ROCKSDB -eq 1 ]]; then
  echo "== batched, RocksDB state"
  run rocksdb --state-backend rocksdb
fi
if [[ $SKIP_UNBATCHED -eq 0 ]]; then
  echo "== unbatched (--batch-rows 1)"
  run unbatched --batch-rows 1
fi
echo
echo "== summary ($(nproc) cores, $EPOCHS epochs, $(grep -o '"trainRatings": [0-9]*' "$DIR/data/planted.json"))"
B=$(report batched | tail -1 && report batched | head -1 >&2)
if [[ $ROCKSDB -eq 1 ]]; then
  R=$(report rocksdb | tail -1 && report rocksdb | head -1 >&2)
  awk -v b="$B" -v r="$R" 'BEGIN { split(b, x, " "); split(r, y, " "); printf "RocksDB / heap epoch throughput: %.2f\n", y[1] / x[1] }'
fi
if [[ -f "$DIR/out-unbatched/model.json" && $SKIP_UNBATCHED -eq 0 ]]; then
  U=$(report unbatched | tail -1 && report unbatched | head -1 >&2)
  awk -v b="$B" -v u="$U" 'BEGIN { split(b, x, " "); split(u, y, " ");
    printf "speed-up %.1fx; held-out RMSE difference %+.4f (batched - unbatched)\n", x[1] / y[1], x[2] - y[2] }'
fi
