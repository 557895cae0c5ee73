#!/usr/bin/env bash
# Sourced by the benchmark scripts: generates the 10M-rating planted benchmark set into "$DIR/data" once
# (200k rows x 100k columns, rank 10, Zipf skew 0.8, noise 0.5, 10% held out, 2 part files).
bench_data() {
  if [[ ! -f "$DIR/data/planted.json" ]]; then
    rm -rf "$DIR/data"
    "$FB" generate --output "$DIR/data" --rows 200000 --cols 100000 --ratings 10000000 --rank 10 \
      --noise 0.5 --skew 0.8 --test-fraction 0.1 --files 2 --seed 7
  fi
}
