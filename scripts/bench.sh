#!/usr/bin/env bash
# Benchmark (not a test): 10M planted ratings (200k rows x 100k columns, rank 10, skewed degrees), 10 epochs at
# rank 10, parallelism 2, 2 embedded PS shards. Runs the batched default on heap state and, optionally, on
# RocksDB state and unbatched (--batch-rows 1: one pull and one push per row, Factorbird's original per-row
# protocol, the accuracy baseline). Each configuration runs --runs times (default 3), interleaved so that the
# machine's noise hits every configuration alike; the summary gives medians over the runs of: the median epoch
# (ratings/s), the load rate (lines/s), the held-out RMSE after the last epoch and the peak RSS of the process.
#
# Usage: scripts/bench.sh [--runs N] [--skip-unbatched] [--rocksdb]
# Environment: BENCH_DIR (default /tmp/factorbird-bench), EPOCHS (10), FACTORBIRD_HEAP (4g).
set -euo pipefail
# shellcheck source=lib/help.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/help.sh"
help_if_asked "${BASH_SOURCE[0]}" "$@"
HOME_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${BENCH_DIR:-/tmp/factorbird-bench}"
EPOCHS="${EPOCHS:-10}"
FB="$HOME_DIR/scripts/factorbird"
RUNS=3; SKIP_UNBATCHED=0; ROCKSDB=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) RUNS="$2"; shift ;;
    --skip-unbatched) SKIP_UNBATCHED=1 ;;
    --rocksdb) ROCKSDB=1 ;;
    *) echo "bench: unknown option $1 (known: --runs N, --skip-unbatched, --rocksdb)" >&2; exit 2 ;;
  esac
  shift
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "bench: --runs must be a positive number but was '$RUNS'" >&2; exit 2; }
# shellcheck source=lib/bench-data.sh
source "$HOME_DIR/scripts/lib/bench-data.sh"
bench_data

CONFIGS=(heap)
[[ $ROCKSDB -eq 1 ]] && CONFIGS+=(rocksdb)
[[ $SKIP_UNBATCHED -eq 0 ]] && CONFIGS+=(unbatched)

options() { # config -> its extra options
  case "$1" in
    heap) ;;
    rocksdb) echo "--state-backend rocksdb" ;;
    unbatched) echo "--batch-rows 1" ;;
  esac
}

run() { # config, run number
  local name="$1-$2"
  rm -rf "$DIR/out-$name"
  # shellcheck disable=SC2046
  /usr/bin/time -v -o "$DIR/time-$name.txt" "$FB" train --input "$DIR/data/train" --test "$DIR/data/test" \
    --output "$DIR/out-$name" --rank 10 --epochs "$EPOCHS" --parallelism 2 --ps-shards 2 $(options "$1") \
    > "$DIR/log-$name.txt"
  rm -rf "$DIR/out-$name/rows" "$DIR/out-$name/columns" # keep model.json, not gigabytes of factors
}

# one line per run: median epoch (M ratings/s), load (M lines/s), held-out RMSE, peak RSS (MB)
measure() { # config, run number
  local name="$1-$2"
  local median load rmse rss
  median=$(grep -o '[0-9.]*M ratings/s' "$DIR/log-$name.txt" | awk '{print $1}' | sed 's/M//' | sort -g \
    | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2] + a[NR/2+1]) / 2}')
  load=$(grep -o '([0-9.]*M lines/s)' "$DIR/log-$name.txt" | tr -d '()M' | awk '{print $1}')
  rmse=$("$FB" field "$DIR/out-$name/model.json" finalTestRmse)
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$DIR/time-$name.txt")
  echo "$median $load $rmse $rss"
}

median_of() { # column number, lines on stdin
  awk -v c="$1" '{print $c}' | sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2];
    else print (a[NR/2] + a[NR/2+1]) / 2}'
}

for i in $(seq 1 "$RUNS"); do
  for c in "${CONFIGS[@]}"; do
    echo "== run $i/$RUNS: $c $(options "$c")"
    run "$c" "$i"
    measure "$c" "$i" | awk '{printf "   median epoch %.2fM ratings/s  load %.2fM lines/s  held-out RMSE %s  peak RSS %s MB\n",
      $1, $2, $3, $4}'
  done
done

echo
echo "== summary: medians of $RUNS runs ($(nproc) cores, $EPOCHS epochs, parallelism 2, 2 PS shards," \
  "$("$FB" field "$DIR/data/planted.json" trainRatings) training ratings)"
declare -A EPOCH RMSE
for c in "${CONFIGS[@]}"; do
  rows=$(for i in $(seq 1 "$RUNS"); do measure "$c" "$i"; done)
  EPOCH[$c]=$(median_of 1 <<< "$rows")
  RMSE[$c]=$(median_of 3 <<< "$rows")
  printf "%-10s epoch %6.2fM ratings/s (runs: %s)   load %.2fM lines/s   held-out RMSE %s   peak RSS %s MB\n" \
    "$c" "${EPOCH[$c]}" "$(awk '{printf "%s%.2f", (NR > 1 ? " " : ""), $1}' <<< "$rows")" \
    "$(median_of 2 <<< "$rows")" "${RMSE[$c]}" "$(median_of 4 <<< "$rows")"
done
if [[ $ROCKSDB -eq 1 ]]; then
  awk -v h="${EPOCH[heap]}" -v r="${EPOCH[rocksdb]}" \
    'BEGIN { printf "RocksDB / heap epoch throughput: %.2f\n", r / h }'
fi
if [[ $SKIP_UNBATCHED -eq 0 ]]; then
  awk -v h="${EPOCH[heap]}" -v u="${EPOCH[unbatched]}" -v hr="${RMSE[heap]}" -v ur="${RMSE[unbatched]}" \
    'BEGIN { printf "batched / unbatched: speed-up %.1fx; held-out RMSE difference %+.4f\n", h / u, hr - ur }'
fi
