#!/usr/bin/env bash
# Benchmark (not a test): the streaming job's throughput and its latency from a file's arrival to its ratings being
# trained on. A planted set (100k rows x 20k columns, rank 8, 4M ratings, half of them held back as the stream) is
# trained on its first half (5 epochs); `stream` then runs locally (parallelism 2, 2 embedded PS shards,
# --batch-ms 100, the directory listed every --monitor-ms MONITOR_MS) and prints its summed progress every 0.1 s.
# Latency: LATENCY_FILES files of 1,000 ratings dropped 2 s apart; each one's latency is the time from its move
# into the watched directory to the first progress line counting all of its ratings (resolution 0.1 s; the
# directory listing interval is part of it). Throughput: then one file of the remaining ratings (~1.9M); ratings/s
# between the first progress line that counted any of them and the one that counted the last. Prints the median and max latency and
# the throughput.
# Usage: scripts/bench-stream.sh   Environment: BENCH_DIR (default /tmp/factorbird-bench-stream), MONITOR_MS (200),
#        LATENCY_FILES (10).
set -euo pipefail
# shellcheck source=lib/help.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/help.sh"
help_if_asked "${BASH_SOURCE[0]}" "$@"
HOME_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${BENCH_DIR:-/tmp/factorbird-bench-stream}"
MONITOR_MS="${MONITOR_MS:-200}"
LATENCY_FILES="${LATENCY_FILES:-10}"
FB="$HOME_DIR/scripts/factorbird"
mkdir -p "$DIR"
if [[ ! -f "$DIR/data/planted.json" ]]; then
  rm -rf "$DIR/data"
  "$FB" generate --output "$DIR/data" --rows 100000 --cols 20000 --ratings 4000000 --rank 8 --noise 0.3 \
    --test-fraction 0.5 --seed 3 > /dev/null
fi
rm -rf "$DIR/model" "$DIR/live" "$DIR/incoming" "$DIR/pieces" "$DIR/log.txt"
"$FB" train --input "$DIR/data/train" --output "$DIR/model" --epochs 5 > /dev/null
mkdir -p "$DIR/incoming" "$DIR/pieces"
# the stream: the held-back half, without its header, cut into LATENCY_FILES small pieces and one big one
cat "$DIR"/data/test/*.csv | grep -v '^row' > "$DIR/pieces/all.csv"
total=$(wc -l < "$DIR/pieces/all.csv")
for i in $(seq 1 "$LATENCY_FILES"); do
  sed -n "$(( (i - 1) * 1000 + 1 )),$(( i * 1000 ))p" "$DIR/pieces/all.csv" > "$DIR/pieces/small-$i.csv"
done
tail -n +"$(( LATENCY_FILES * 1000 + 1 ))" "$DIR/pieces/all.csv" > "$DIR/pieces/big.csv"
big=$(wc -l < "$DIR/pieces/big.csv")
now() { date +%s.%N; }
# the job, its lines stamped with the time they were printed
( "$FB" stream --model "$DIR/model" --input "$DIR/incoming" --output "$DIR/live" --batch-ms 100 \
    --monitor-ms "$MONITOR_MS" --report-seconds 0.1 --checkpoint-seconds 30 --export-every 3600 \
    --run-seconds $(( 40 + 2 * LATENCY_FILES )) 2>&1 \
  | while IFS= read -r line; do printf '%s %s\n' "$(now)" "$line"; done > "$DIR/log.txt" ) &
job=$!
until grep -q 'stream: ' "$DIR/log.txt" 2>/dev/null; do sleep 0.2; done
sleep 2
: > "$DIR/moves.txt"
for i in $(seq 1 "$LATENCY_FILES"); do
  printf '%s %d\n' "$(now)" "$(( i * 1000 ))" >> "$DIR/moves.txt"
  mv "$DIR/pieces/small-$i.csv" "$DIR/incoming/"
  sleep 2
done
printf '%s %d\n' "$(now)" "$(( LATENCY_FILES * 1000 + big ))" > "$DIR/big-move.txt"
mv "$DIR/pieces/big.csv" "$DIR/incoming/"
with_commas=$(echo "$total" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta')
until grep -q "stream: $with_commas ratings" "$DIR/log.txt" || ! kill -0 "$job" 2>/dev/null; do sleep 0.5; done
kill "$job" 2>/dev/null || true
wait "$job" 2>/dev/null || true
# progress lines: time, ratings so far
grep ' stream: ' "$DIR/log.txt" | awk '{ gsub(",", "", $3); print $1, $3 }' > "$DIR/counts.txt"
awk 'NR == FNR { t[NR] = $1; need[NR] = $2; n = NR; next }
  { for (k = 1; k <= n; k++) if (!(k in lat) && $2 >= need[k] && $1 >= t[k]) lat[k] = $1 - t[k] }
  END { for (k = 1; k <= n; k++) print (k in lat) ? lat[k] : "inf" }' "$DIR/moves.txt" "$DIR/counts.txt" \
  | sort -g | awk '{ v[NR] = $1 } END { printf "latency from arrival to trained (%d files of 1,000 ratings): median %.2f s, max %.2f s\n",
      NR, (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[NR] }'
awk -v base="$(( LATENCY_FILES * 1000 ))" '
  $2 > base && !first { first = $1; c0 = $2 } $2 > base && $2 > c1 { last = $1; c1 = $2 }
  END { printf "throughput: %d ratings in %.2f s between the first and the last line counting them: %.0f ratings/s\n",
          c1 - c0, last - first, (c1 - c0) / (last - first) }' "$DIR/counts.txt"
grep -o 'prequential RMSE [0-9.]*' "$DIR/log.txt" | tail -1 | sed 's/^/last /'
