#!/usr/bin/env bash
# Load benchmark of the parameter server (bounded; loopback only): 16 concurrent clients for 60 s, each
# alternating a pull and a push of 1000 keys, against an embedded 2-shard cluster or --ps host:port,...
# Prints requests/s, keys/s, p50/p99/max latency, errors and heap. Options: see PsLoad's Javadoc.
#   scripts/ps-load.sh [--clients 16] [--seconds 60] [--keys 1000] [--rank 10] [--ps 127.0.0.1:7070,...]
set -euo pipefail
HOME_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JAR="$HOME_DIR/jobs/target/factorbird-jobs.jar"
LIB="$HOME_DIR/jobs/target/lib"
if [[ ! -f "$JAR" ]]; then (cd "$HOME_DIR" && mvn -B -q -DskipTests package) >&2; fi
exec java -Xmx2g -Dlog4j.configurationFile="$HOME_DIR/conf/log4j-cli.properties" \
  -Dfactorbird.log.dir="${FACTORBIRD_LOG_DIR:-$HOME_DIR/logs}" \
  -cp "$JAR:$LIB/*" org.factorbird.jobs.PsLoad "$@"
