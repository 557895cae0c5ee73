#!/usr/bin/env bash
# Benchmark (not a test) of `factorbird recommend`: top-10 for every row of a model with 200,000 rows x 100,000
# columns at rank 10 (2x10^10 scores), trained for one epoch on the 10M-rating benchmark set (scripts/lib/
# bench-data.sh; generated and trained once, then reused). Prints the whole job's time, scores/s and the peak RSS.
# Usage: scripts/bench-recommend.sh [--runs N] [--exclude]   (--exclude: also exclude the training ratings)
# Environment: BENCH_DIR (default /tmp/factorbird-bench), FACTORBIRD_HEAP (4g).
set -euo pipefail
# shellcheck source=lib/help.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/help.sh"
help_if_asked "${BASH_SOURCE[0]}" "$@"
HOME_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${BENCH_DIR:-/tmp/factorbird-bench}"
FB="$HOME_DIR/scripts/factorbird"
RUNS=1; EXCLUDE=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) RUNS="$2"; shift ;;
    --exclude) EXCLUDE=(--exclude "$DIR/data/train") ;;
    *) echo "bench-recommend: unknown option $1 (known: --runs N, --exclude)" >&2; exit 2 ;;
  esac
  shift
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "bench-recommend: --runs must be a positive number but was '$RUNS'" >&2; exit 2; }
# shellcheck source=lib/bench-data.sh
source "$HOME_DIR/scripts/lib/bench-data.sh"
bench_data
MODEL="$DIR/model-recommend"
if [[ ! -f "$MODEL/model.json" ]]; then
  rm -rf "$MODEL"
  "$FB" train --input "$DIR/data/train" --output "$MODEL" --rank 10 --epochs 1 --parallelism 2 > /dev/null
fi
rows=$(find "$MODEL/rows" -name 'part*' -exec cat {} + | wc -l)
cols=$(find "$MODEL/columns" -name 'part*' -exec cat {} + | wc -l)
echo "model: $rows rows x $cols columns, rank 10: $(awk -v r="$rows" -v c="$cols" 'BEGIN { printf "%.3g", r * c }') scores"
for i in $(seq 1 "$RUNS"); do
  rm -rf "$DIR/recs"
  start=$(date +%s.%N)
  /usr/bin/time -v -o "$DIR/time-recommend.txt" "$FB" recommend --model "$MODEL" --k 10 --output "$DIR/recs" \
    --parallelism 2 "${EXCLUDE[@]}" > "$DIR/log-recommend.txt"
  end=$(date +%s.%N)
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$DIR/time-recommend.txt")
  lines=$(find "$DIR/recs" -name 'part*' -exec cat {} + | wc -l)
  awk -v s="$start" -v e="$end" -v r="$rows" -v c="$cols" -v m="$rss" -v l="$lines" -v i="$i" 'BEGIN {
    t = e - s; printf "run %d: whole job %.1f s (JVM start included): %.0fM scores/s; %d lines; peak RSS %d MB\n",
      i, t, r * c / t / 1e6, l, m }'
done
