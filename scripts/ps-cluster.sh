#!/usr/bin/env bash
# Starts, stops or checks the parameter-server processes listed in conf/ps-cluster.yaml (or --config FILE).
#   scripts/ps-cluster.sh start  [--config FILE] [--wait-ms MS]   start every local shard, wait until each answers
#   scripts/ps-cluster.sh status [--config FILE]                  STATUS of every shard (exit 3 if one is down)
#   scripts/ps-cluster.sh stop   [--config FILE]                  TERM (then KILL after 10 s) every local shard
# Logs: logs/ps/ps-<shard>.log, pid files: run/ps/ps-<shard>.pid (both set in the file).
set -euo pipefail
HOME_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JAR="$HOME_DIR/jobs/target/factorbird-jobs.jar"
LIB="$HOME_DIR/jobs/target/lib"
if [[ ! -f "$JAR" || ! -d "$LIB" ]]; then
  echo "ps-cluster: building the project first (mvn -B -q -DskipTests package) ..." >&2
  (cd "$HOME_DIR" && mvn -B -q -DskipTests package) >&2
fi
cd "$HOME_DIR"
exec java -Xmx256m -Dlog4j.configurationFile="$HOME_DIR/conf/log4j-cli.properties" \
  -Dfactorbird.log.dir="${FACTORBIRD_LOG_DIR:-$HOME_DIR/logs}" \
  -cp "$JAR:$LIB/*" org.factorbird.ps.server.PsCluster "$@"
