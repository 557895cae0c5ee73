#!/usr/bin/env bash
# Benchmark (not a test): the cost per rating as the data grows, on RocksDB state with the parameter server in
# its own processes. For each size N (millions of ratings; default 10 30 100) generates a planted set of
# N x 100k rows, N x 10k columns and N M ratings (10 per row on average: the shape of the 100M case, 10M rows x
# 1M columns), rank 10, Zipf skew 0.8, 1% held out; starts 2 PS shards with scripts/ps-cluster.sh; trains
# 3 epochs at rank 10, parallelism 2, RocksDB state; and prints one line per size: load rate, median epoch,
# nanoseconds per rating per core, peak RSS of the training JVM and of each PS process, measured keyed state
# and PS table against `factorbird estimate`, and bytes per epoch against the estimate.
#
# Usage: scripts/bench-scale.sh [SIZE...]        e.g. scripts/bench-scale.sh 10 30 100
# Environment: BENCH_DIR (default /tmp/factorbird-bench), EPOCHS (3), FACTORBIRD_HEAP (6g), PS_PORT (7370),
# FILES (4: the training ratings in 4 files; FILES=1 puts them in one file, which every source subtask reads a
# byte range of), TRAIN_OPTS (more options of train, e.g. "--batch-rows 65536").
# Disk: ~19 bytes per rating of text plus ~9 bytes of RocksDB state (100M: ~2.9 GB).
set -euo pipefail
# shellcheck source=lib/help.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/help.sh"
help_if_asked "${BASH_SOURCE[0]}" "$@"
HOME_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${BENCH_DIR:-/tmp/factorbird-bench}"
EPOCHS="${EPOCHS:-3}"
FILES="${FILES:-4}"
[[ "$FILES" =~ ^[1-9][0-9]*$ ]] || { echo "bench-scale: FILES must be a positive number but was '$FILES'" >&2; exit 2; }
PORT="${PS_PORT:-7370}"
FB="$HOME_DIR/scripts/factorbird"
export FACTORBIRD_HEAP="${FACTORBIRD_HEAP:-6g}"
SIZES=("$@")
[[ ${#SIZES[@]} -eq 0 ]] && SIZES=(10 30 100)
for n in "${SIZES[@]}"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "bench-scale: sizes are millions of ratings, e.g. 10 30 100; got '$n'" >&2; exit 2; }
done
mkdir -p "$DIR"
CONF="$DIR/ps-scale.yaml"
cat > "$CONF" <<EOF
cluster-id: bench-scale
bind: 127.0.0.1
heap: 1g
stats-interval: 5
log-dir: $DIR/ps-logs
pid-dir: $DIR/ps-run
log4j: $HOME_DIR/conf/log4j-ps.properties
servers:
  - host: 127.0.0.1
    port: $PORT
    shard: 0
  - host: 127.0.0.1
    port: $((PORT + 1))
    shard: 1
EOF
stop_ps() { "$HOME_DIR/scripts/ps-cluster.sh" stop --config "$CONF" > /dev/null 2>&1 || true; }
trap stop_ps EXIT

RESULTS=()
for n in "${SIZES[@]}"; do
  rows=$((n * 100000)); cols=$((n * 10000)); ratings=$((n * 1000000))
  data="$DIR/scale-$n"
  [[ "$FILES" -ne 4 ]] && data="$DIR/scale-$n-files-$FILES"
  if [[ ! -f "$data/planted.json" ]]; then
    rm -rf "$data"
    "$FB" generate --output "$data" --rows "$rows" --cols "$cols" --ratings "$ratings" --rank 10 --noise 0.5 \
      --skew 0.8 --test-fraction 0.01 --files "$FILES" --seed 11
  fi
  rm -rf "$DIR/ps-logs"
  "$HOME_DIR/scripts/ps-cluster.sh" start --config "$CONF" > /dev/null
  out="$DIR/out-scale-$n"
  rm -rf "$out"
  echo "== $n M ratings: $rows rows x $cols columns, $FILES training file(s), RocksDB, $EPOCHS epochs"
  /usr/bin/time -v -o "$DIR/time-scale-$n.txt" "$FB" train --input "$data/train" --test "$data/test" \
    --output "$out" --rank 10 --epochs "$EPOCHS" --parallelism 2 --state-backend rocksdb \
    --ps "127.0.0.1:$PORT,127.0.0.1:$((PORT + 1))" --ps-cluster-id bench-scale ${TRAIN_OPTS:-} \
    | tee "$DIR/log-scale-$n.txt"
  # peak RSS of each PS process (VmHWM), read before stopping them
  ps_rss=""
  for s in 0 1; do
    pid=$(cat "$DIR/ps-run/ps-$s.pid")
    ps_rss+="$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status")/"
  done
  # the largest table shard 0 logged (a finished job's table is freed a few seconds after its end)
  table=$(grep -ho 'tables [0-9.]* MB' "$DIR"/ps-logs/ps-0.log | awk '{print $2}' | sort -g | tail -1 || true)
  stop_ps
  rm -rf "$out/rows" "$out/columns"
  trss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$DIR/time-scale-$n.txt")
  # the "loaded ..." line (the "loading: ..." progress lines before it count lines read, not packed)
  load=$(grep '^loaded' "$DIR/log-scale-$n.txt" | grep -o '([0-9.]*M lines/s)' | tr -d '()M' | awk '{print $1}')
  loads=$(grep '^loaded' "$DIR/log-scale-$n.txt" | grep -o 'in [0-9.]* s ([0-9.]*M lines' | awk '{print $2}')
  whole=$(grep -o '^finished in [0-9.]* s' "$DIR/log-scale-$n.txt" | awk '{print $3}')
  state=$(grep -o 'keyed state [0-9.]* MB' "$DIR/log-scale-$n.txt" | awk '{print $3}')
  median=$(grep -o '[0-9.]*M ratings/s' "$DIR/log-scale-$n.txt" | sed 's/M ratings.s//' | sort -g \
    | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2] + a[NR/2+1]) / 2}')
  mb=$(grep -o 'ps [0-9.]* MB' "$DIR/log-scale-$n.txt" | tail -1 | awk '{print $2}')
  train=$("$FB" field "$data/planted.json" trainRatings)
  heldout=$(awk -v t="$train" -v r="$ratings" 'BEGIN { printf "%.4f", 1 - t / r }')
  est=$("$FB" estimate --rows "$rows" --cols "$cols" --ratings "$ratings" --rank 10 --ps-shards 2 \
    --parallelism 2 --slots 2 --holdout "$heldout" --skew 0.8 --state-backend rocksdb)
  est_table=$(grep 'per PS shard' <<< "$est" | awk '{print $4}' | tr -d ,)
  est_state=$(grep 'per subtask' <<< "$est" | awk '{print $3}' | tr -d ,)
  est_mb=$(grep 'per epoch' <<< "$est" | awk '{print $3}' | tr -d ,)
  line=$(awk -v n="$n" -v whole="$whole" -v load="$load" -v loads="$loads" -v m="$median" -v trss="$trss" -v prss="${ps_rss%/}" \
    -v st="$state" -v est_st="$est_state" -v tb="$table" -v est_tb="$est_table" -v mb="$mb" -v est_mb="$est_mb" \
    'BEGIN { printf "%4dM  run %6.1f s  load %6.1f s %5.2fM lines/s  epoch %5.2fM ratings/s %6.0f ns/rating/core  RSS train %5d MB, PS %s MB  state %7.1f MB (est %7.1f)  PS table %6.1f MB (est %6.1f)  %7.1f MB/epoch (est %7.1f)\n",
      n, whole, loads, load, m, 2e3 / m, trss, prss, st, est_st, tb, est_tb, mb, est_mb }')
  RESULTS+=("$line")
done
echo
echo "== cost per rating as the data grows ($(nproc) cores; RocksDB state, 2 PS processes, parallelism 2, rank 10;" \
  "state and table per subtask / per shard)"
printf '%s\n' "${RESULTS[@]}"
