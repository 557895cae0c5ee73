#!/usr/bin/env bash
# Benchmark (not a test): the cost of a grid search in one pass. On the 10M planted set of scripts/bench.sh,
# trains 1 model, then a grid of 8 (rank 10; lambda 0.01,0.02,0.03,0.05 x learning-rate 0.005,0.01) in one job,
# both 10 epochs at parallelism 2 with 2 PS shards, and prints both wall times and their ratio.
# Usage: scripts/bench-grid.sh   Environment: BENCH_DIR (default /tmp/factorbird-bench), EPOCHS (10).
set -euo pipefail
HOME_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${BENCH_DIR:-/tmp/factorbird-bench}"
EPOCHS="${EPOCHS:-10}"
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
COMMON=(--input "$DIR/data/train" --test "$DIR/data/test" --rank 10 --epochs "$EPOCHS" --parallelism 2 --ps-shards 2)
single=$(timed single "$FB" train "${COMMON[@]}" --output "$DIR/out-single" --lambda 0.03 --learning-rate 0.01)
grid=$(timed grid "$FB" grid "${COMMON[@]}" --output "$DIR/out-grid" --lambda 0.01,0.02,0.03,0.05 \
  --learning-rate 0.005,0.01)
grep -A 9 "best first" "$DIR/log-grid.txt" || true
awk -v s="$single" -v g="$grid" 'BEGIN { printf "single model: %.1f s   grid of 8: %.1f s   ratio %.2f\n", s, g, g / s }'
