#!/usr/bin/env bash
# The one-command demo: generate a planted data set (noise sigma 0.3, so the best possible held-out RMSE is
# 0.3), train on it locally (embedded Flink + embedded 2-shard parameter server), and compare.
# Usage: scripts/demo.sh [WORK_DIR]   (default: ./demo; removed and re-created)
set -euo pipefail
# shellcheck source=lib/help.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/help.sh"
help_if_asked "${BASH_SOURCE[0]}" "$@"
HOME_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${1:-$HOME_DIR/demo}"
SIGMA=0.3
rm -rf "$WORK"
"$HOME_DIR/scripts/factorbird" generate --output "$WORK/data" --rows 2000 --cols 1000 --ratings 600000 \
  --rank 8 --noise "$SIGMA" --seed 7
"$HOME_DIR/scripts/factorbird" train --input "$WORK/data/train" --test "$WORK/data/test" \
  --output "$WORK/model" --rank 10 --epochs 20 | tee "$WORK/train.log"
RMSE=$("$HOME_DIR/scripts/factorbird" field "$WORK/model/model.json" finalTestRmse)
awk -v r="$RMSE" -v s="$SIGMA" 'BEGIN { printf "final held-out RMSE %.4f; planted noise floor %.4f; ratio %.3f\n", r, s, r / s }'
echo "factors: $WORK/model/rows/, $WORK/model/columns/; summary: $WORK/model/model.json"
