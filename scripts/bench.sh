#!/usr/bin/env bash
# Benchmark (not a test): 10M planted ratings (200k rows x 100k columns, rank 10, skewed degrees), 10 epochs at
# rank 10, parallelism 2, 2 embedded PS shards. Runs the batched default on heap state and, optionally, on
# RocksDB state and unbatched (--batch-rows 1: one pull and one push per row, Factorbird's original per-row
# protocol, the accuracy baseline). Each configuration runs --runs times (default 3), interleaved so that the
# machine's noise hits every configuration alike; the summary gives medians over the runs of: the median epoch
# (ratings/s), the load rate (lines/s), the held-out RMSE after the last epoch and the peak RSS of the process.
#
# With --libmf DIR, LIBMF's mf-train from DIR (built there from its public source: git clone
# https://github.com/cjlin1/libmf DIR && make -C DIR; never part of this repository) runs in the same rounds on
# the same files (converted to its "row col value" text), rank 10, the same iterations, 2 threads, its defaults
# otherwise; the summary adds the ratios: whole run, per epoch (LIBMF's from a 1-iteration and an EPOCHS-iteration
# run), load, held-out RMSE. LIBMF_OPTS adds options of mf-train (e.g. "-l2 0.05 -r 0.05").
# Usage: scripts/bench.sh [--runs N] [--skip-unbatched] [--rocksdb] [--libmf DIR]
# Environment: BENCH_DIR (default /tmp/factorbird-bench), EPOCHS (10), FACTORBIRD_HEAP (4g).
set -euo pipefail
# shellcheck source=lib/help.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/help.sh"
help_if_asked "${BASH_SOURCE[0]}" "$@"
HOME_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${BENCH_DIR:-/tmp/factorbird-bench}"
EPOCHS="${EPOCHS:-10}"
FB="$HOME_DIR/scripts/factorbird"
RUNS=3; SKIP_UNBATCHED=0; ROCKSDB=0; LIBMF=
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) RUNS="$2"; shift ;;
    --skip-unbatched) SKIP_UNBATCHED=1 ;;
    --rocksdb) ROCKSDB=1 ;;
    --libmf) LIBMF="$2"; shift ;;
    *) echo "bench: unknown option $1 (known: --runs N, --skip-unbatched, --rocksdb, --libmf DIR)" >&2; exit 2 ;;
  esac
  shift
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "bench: --runs must be a positive number but was '$RUNS'" >&2; exit 2; }
if [[ -n "$LIBMF" && ! -x "$LIBMF/mf-train" ]]; then
  echo "bench: no mf-train in --libmf $LIBMF (build it: git clone https://github.com/cjlin1/libmf $LIBMF && make -C $LIBMF)" >&2
  exit 2
fi
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
  # from the final "loaded" line: a load longer than 5 s also prints "loading: ... (X M lines/s)" progress lines
  load=$(grep '^loaded' "$DIR/log-$name.txt" | grep -o '([0-9.]*M lines/s)' | tr -d '()M' | awk '{print $1}')
  rmse=$("$FB" field "$DIR/out-$name/model.json" finalTestRmse)
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$DIR/time-$name.txt")
  echo "$median $load $rmse $rss"
}

median_of() { # column number, lines on stdin
  awk -v c="$1" '{print $c}' | sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2];
    else print (a[NR/2] + a[NR/2+1]) / 2}'
}

libmf_data() { # the bench set as LIBMF text, once
  if [[ ! -f "$DIR/libmf/test.txt" ]]; then
    mkdir -p "$DIR/libmf"
    cat "$DIR"/data/train/*.csv | awk -F, '$1 != "row" { print $1, $2, $3 }' > "$DIR/libmf/train.txt"
    cat "$DIR"/data/test/*.csv | awk -F, '$1 != "row" { print $1, $2, $3 }' > "$DIR/libmf/test.txt"
  fi
}
libmf_run() { # iterations, run number: "seconds held-out-RMSE"
  local t0 t1 out
  t0=$(date +%s.%N)
  # shellcheck disable=SC2086
  out=$("$LIBMF/mf-train" -k 10 -t "$1" -s 2 ${LIBMF_OPTS:-} -p "$DIR/libmf/test.txt" "$DIR/libmf/train.txt" \
    "$DIR/libmf/model.txt")
  t1=$(date +%s.%N)
  echo "$(echo "$t1 - $t0" | bc) $(echo "$out" | awk 'NF >= 3 && $1 ~ /^[0-9]+$/ { r = $3 } END { print r }')"
}
wall() { # /usr/bin/time -v output file: elapsed seconds
  awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$1"
}
[[ -n "$LIBMF" ]] && libmf_data
: > "$DIR/libmf-runs.txt"

for i in $(seq 1 "$RUNS"); do
  if [[ -n "$LIBMF" ]]; then
    echo "== run $i/$RUNS: LIBMF $LIBMF/mf-train -k 10 -t $EPOCHS -s 2 (and -t 1 for its load)"
    one=$(libmf_run 1 "$i"); all=$(libmf_run "$EPOCHS" "$i")
    echo "$one $all" >> "$DIR/libmf-runs.txt"
    awk -v e="$EPOCHS" '{ printf "   whole run %.1f s (1 iteration: %.1f s)  per iteration %.2f s  held-out RMSE %s\n",
      $3, $1, ($3 - $1) / (e - 1), $4 }' <<< "$one $all"
  fi
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
if [[ -n "$LIBMF" ]]; then
  lw=$(median_of 3 < "$DIR/libmf-runs.txt")
  l1=$(median_of 1 < "$DIR/libmf-runs.txt")
  lr=$(median_of 4 < "$DIR/libmf-runs.txt")
  ow=$(for i in $(seq 1 "$RUNS"); do wall "$DIR/time-heap-$i.txt"; done | median_of 1)
  oe=$(for i in $(seq 1 "$RUNS"); do grep -o '[0-9.]* s  ps' "$DIR/log-heap-$i.txt" | awk '{print $1}' | median_of 1; done | median_of 1)
  ol=$(for i in $(seq 1 "$RUNS"); do grep '^loaded' "$DIR/log-heap-$i.txt" | grep -o 'in [0-9.]* s ([0-9.]*M lines' \
    | awk '{print $2}'; done | median_of 1)
  awk -v lw="$lw" -v l1="$l1" -v lr="$lr" -v ow="$ow" -v oe="$oe" -v ol="$ol" -v orr="${RMSE[heap]}" -v e="$EPOCHS" 'BEGIN {
    le = (lw - l1) / (e - 1); ll = l1 - le
    printf "LIBMF      whole run %.1f s   per iteration %.2f s   load %.1f s   held-out RMSE %s\n", lw, le, ll, lr
    printf "factorbird whole run %.1f s   per epoch %.2f s   load %.1f s   held-out RMSE %s\n", ow, oe, ol, orr
    printf "factorbird / LIBMF: whole run %.2fx   per epoch %.2fx   load %.2fx   held-out RMSE %+.4f\n",
      ow / lw, oe / le, ol / ll, orr - lr }'
fi
