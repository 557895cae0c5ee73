#!/usr/bin/env bash
# Benchmark (not a test): the cost of a grid search in one pass, with and without successive halving. On the 10M
# planted set of scripts/bench.sh, in one script run: 1 model; a grid of 64 (rank 8,16 x lambda 0.01,0.02,0.04,0.08
# x learning-rate 0.005,0.01,0.02,0.04 x init-std 0.05,0.1) trained in full; the same 64 with --prune halving
# (--prune-every PRUNE_EVERY, --keep KEEP, --first-rung FIRST_RUNG: rung passes on shares of the rows first). All
# EPOCHS full epochs at parallelism 2 with 2 PS shards, the grids on the
# same 5% validation split. Prints the wall times, their ratios to one model, both grids' best held-out RMSE and
# the PS megabytes of every epoch of the pruned grid (falling as models stop).
# Usage: scripts/bench-grid.sh   Environment: BENCH_DIR (default /tmp/factorbird-bench), EPOCHS (10),
#        PRUNE_EVERY (1), KEEP (0.25), FIRST_RUNG (0.0625), SKIP_FULL=1 to leave out the full 64-model grid.
set -euo pipefail
# shellcheck source=lib/help.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/help.sh"
help_if_asked "${BASH_SOURCE[0]}" "$@"
HOME_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${BENCH_DIR:-/tmp/factorbird-bench}"
EPOCHS="${EPOCHS:-10}"
PRUNE_EVERY="${PRUNE_EVERY:-1}"
KEEP="${KEEP:-0.25}"
FIRST_RUNG="${FIRST_RUNG:-0.0625}"
FB="$HOME_DIR/scripts/factorbird"
# shellcheck source=lib/bench-data.sh
source "$HOME_DIR/scripts/lib/bench-data.sh"
bench_data
timed() { # name, command...
  local name="$1"; shift
  rm -rf "$DIR/out-$name"
  local t0 t1
  t0=$(date +%s.%N)
  "$@" > "$DIR/log-$name.txt"
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }'
}
best() { # the best model's final held-out RMSE, from OUT/model.json
  "$FB" field "$DIR/out-$1/model.json" finalTestRmse
}
COMMON=(--input "$DIR/data/train" --test "$DIR/data/test" --epochs "$EPOCHS" --parallelism 2 --ps-shards 2)
GRID=(--rank 8,16 --lambda 0.01,0.02,0.04,0.08 --learning-rate 0.005,0.01,0.02,0.04 --init-std 0.05,0.1
  --validation 0.05)
pruned=$(timed pruned "$FB" grid "${COMMON[@]}" "${GRID[@]}" --output "$DIR/out-pruned" --prune halving \
  --prune-every "$PRUNE_EVERY" --keep "$KEEP" --first-rung "$FIRST_RUNG")
# one model: the search's winner trained alone (what the search costs on top of training what it finds), and the
# defaults of plain train
hp() { "$FB" field "$DIR/out-pruned/model.json" "hyperParameters.$1"; }
single=$(timed single "$FB" train "${COMMON[@]}" --output "$DIR/out-single" --rank "$(hp rank)" \
  --learning-rate "$(hp learningRate)" --lambda "$(hp lambda)" --lambda-bias "$(hp lambdaBias)" \
  --schedule "$(hp schedule)" --decay "$(hp decay)" --init-std "$(hp initStd)")
default=$(timed default "$FB" train "${COMMON[@]}" --output "$DIR/out-default")
echo "pruned grid: PS megabytes per epoch, as models stop"
grep -E 'halving after|^model [0-9]+ epoch' "$DIR/log-pruned.txt" | awk '
  /halving after/ { print "  " $0; next }
  { split($4, e, "/"); for (i = 1; i <= NF; i++) if ($i == "ps") mb[e[1]] = $(i + 1) }
  END { for (k in mb) print "  epoch " k ": " mb[k] " MB" }' | sort -V
if [[ "${SKIP_FULL:-0}" != 1 ]]; then
  full=$(timed full "$FB" grid "${COMMON[@]}" "${GRID[@]}" --output "$DIR/out-full")
  awk -v s="$single" -v d="$default" -v f="$full" -v p="$pruned" -v bf="$(best full)" -v bp="$(best pruned)" 'BEGIN {
    printf "winner alone: %.1f s   defaults: %.1f s   full grid of 64: %.1f s (%.2fx)   halving grid of 64: %.1f s (%.2fx the winner alone, %.2fx the defaults)\n",
      s, d, f, f / s, p, p / s, p / d
    printf "best held-out RMSE: full %.4f   halving %.4f   difference %+.4f\n", bf, bp, bp - bf }'
else
  awk -v s="$single" -v d="$default" -v p="$pruned" -v bp="$(best pruned)" 'BEGIN {
    printf "winner alone: %.1f s   defaults: %.1f s   halving grid of 64: %.1f s (%.2fx the winner alone, %.2fx the defaults); best held-out RMSE %.4f\n", s, d, p, p / s, p / d, bp }'
fi
