#!/usr/bin/env bash
# A local standalone Flink 2.3 session cluster built from Maven artifacts (the Flink distribution tarball is not
# on Maven Central): 1 JobManager and N TaskManagers as separate JVMs, the web UI / REST API on --rest-port.
#   scripts/flink-cluster.sh start [--dir DIR] [--taskmanagers N] [--slots S] [--rest-port P] [--rpc-port P]
#                                  [--tm-memory SIZE] [--prometheus-port P|P1-P2] [--owner-pid PID]
#   scripts/flink-cluster.sh stop [--dir DIR]
#   scripts/flink-cluster.sh status [--dir DIR]
# Defaults: DIR run/flink, 2 TaskManagers x 2 slots, REST 8081, RPC 6123, 1536m per TaskManager.
# --prometheus-port: Flink's Prometheus reporter on each process (the first free port of the range), so the job's
# metrics (factorbird_epoch, factorbird_trainRmse, ...) are scraped from http://HOST:PORT/metrics; default: off.
# The classpath is jobs/target/lib (Flink, RocksDB, file systems, log4j: the 'provided' dependencies of jobs/).
# To use an existing Flink installation instead, see README.md ("Running on a cluster").
set -euo pipefail
HOME_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LIB="$HOME_DIR/jobs/target/lib"
usage() { sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
CMD="${1:-}"; shift || true
if [[ "$CMD" == "--help" || "$CMD" == "-h" || "$CMD" == "help" || -z "$CMD" ]]; then usage; exit 0; fi
DIR="$HOME_DIR/run/flink"; TMS=2; SLOTS=2; REST=8081; RPC=6123; TM_MEMORY=1536m; OWNER=; PROM=
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dir) DIR="$2"; shift 2 ;;
    --taskmanagers) TMS="$2"; shift 2 ;;
    --slots) SLOTS="$2"; shift 2 ;;
    --rest-port) REST="$2"; shift 2 ;;
    --rpc-port) RPC="$2"; shift 2 ;;
    --tm-memory) TM_MEMORY="$2"; shift 2 ;;
    --prometheus-port) PROM="$2"; shift 2 ;;
    --owner-pid) OWNER="$2"; shift 2 ;;   # stop the cluster once this process is gone (test suites)
    -h|--help) usage; exit 0 ;;
    *) echo "flink-cluster: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"

record_pid() { # pid: also into $FACTORBIRD_PID_LOG when set (CI ends leftovers by pid)
  if [[ -n "${FACTORBIRD_PID_LOG:-}" ]]; then echo "$1" >> "$FACTORBIRD_PID_LOG"; fi
}
stop_pid() { # pid-file
  local f="$1" pid
  [[ -f "$f" ]] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
    echo "stopped $(basename "$f" .pid) (pid $pid)"
  fi
  rm -f "$f"
}

case "$CMD" in
  start)
    if [[ ! -d "$LIB" ]]; then
      echo "flink-cluster: building the project first (mvn -B -q -DskipTests package) ..." >&2
      (cd "$HOME_DIR" && mvn -B -q -DskipTests package) >&2
    fi
    if [[ -f "$DIR/jobmanager.pid" ]] && kill -0 "$(cat "$DIR/jobmanager.pid")" 2>/dev/null; then
      echo "flink-cluster: already running in $DIR (stop it first)" >&2; exit 1
    fi
    mkdir -p "$DIR/conf" "$DIR/log" "$DIR/tmp" "$DIR/upload"
    sed -e "s|@RPC_PORT@|$RPC|g" -e "s|@REST_PORT@|$REST|g" -e "s|@SLOTS@|$SLOTS|g" -e "s|@DIR@|$DIR|g" \
        -e "s|@TM_MEMORY@|$TM_MEMORY|g" "$HOME_DIR/conf/flink-config.yaml" > "$DIR/conf/config.yaml"
    if [[ -n "$PROM" ]]; then
      printf '%s\n' "metrics.reporter.prom.factory.class: org.apache.flink.metrics.prometheus.PrometheusReporterFactory" \
        "metrics.reporter.prom.port: $PROM" >> "$DIR/conf/config.yaml"
    fi
    cp "$HOME_DIR/conf/log4j-flink.properties" "$DIR/conf/log4j.properties"
    OPENS=$(sed -n 's/^env.java.opts.all: //p' "$DIR/conf/config.yaml")
    params() { java -cp "$LIB/*" org.apache.flink.runtime.util.bash.BashJavaUtils "$1" --configDir "$DIR/conf" \
                 2>/dev/null | sed -n 's/^BASH_JAVA_UTILS_EXEC_RESULT://p'; }
    JM=$(params GET_JM_RESOURCE_PARAMS); JM_JVM=$(echo "$JM" | sed -n 1p); JM_DYN=$(echo "$JM" | sed -n 2p)
    TM=$(params GET_TM_RESOURCE_PARAMS); TM_JVM=$(echo "$TM" | sed -n 1p); TM_DYN=$(echo "$TM" | sed -n 2p)
    if [[ -z "$JM_JVM" || -z "$TM_JVM" ]]; then
      echo "flink-cluster: cannot compute memory settings from $DIR/conf/config.yaml" >&2; exit 1
    fi
    # shellcheck disable=SC2086
    nohup java $JM_JVM $OPENS -Dlog.file="$DIR/log/jobmanager.log" \
      -Dlog4j.configurationFile="file:$DIR/conf/log4j.properties" -cp "$LIB/*" \
      org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint --configDir "$DIR/conf" $JM_DYN \
      > "$DIR/log/jobmanager.out" 2>&1 < /dev/null &
    echo $! > "$DIR/jobmanager.pid"; record_pid $!
    for i in $(seq 1 "$TMS"); do
      # shellcheck disable=SC2086
      nohup java $TM_JVM $OPENS -Dlog.file="$DIR/log/taskmanager-$i.log" \
        -Dlog4j.configurationFile="file:$DIR/conf/log4j.properties" -cp "$LIB/*" \
        org.apache.flink.runtime.taskexecutor.TaskManagerRunner --configDir "$DIR/conf" $TM_DYN \
        > "$DIR/log/taskmanager-$i.out" 2>&1 < /dev/null &
      echo $! > "$DIR/taskmanager-$i.pid"; record_pid $!
    done
    for _ in $(seq 1 450); do
      if curl -sf "http://localhost:$REST/overview" 2>/dev/null | grep -q "\"taskmanagers\":$TMS"; then
        echo "flink-cluster: up with $TMS TaskManagers x $SLOTS slots; web UI and REST at http://localhost:$REST"
        if [[ -n "$OWNER" ]]; then
          nohup bash -c "while kill -0 $OWNER 2>/dev/null; do sleep 1; done; '$0' stop --dir '$DIR'" \
            > "$DIR/log/owner-watch.out" 2>&1 < /dev/null &
        fi
        exit 0
      fi
      for f in "$DIR"/*.pid; do
        if ! kill -0 "$(cat "$f")" 2>/dev/null; then
          echo "flink-cluster: $(basename "$f" .pid) exited; see $DIR/log/" >&2
          for g in "$DIR"/*.pid; do stop_pid "$g" >/dev/null; done
          exit 1
        fi
      done
      sleep 0.2
    done
    echo "flink-cluster: not up after 90 s; see $DIR/log/" >&2
    for g in "$DIR"/*.pid; do stop_pid "$g" >/dev/null; done
    exit 1
    ;;
  stop)
    shopt -s nullglob
    for f in "$DIR"/taskmanager-*.pid "$DIR"/jobmanager.pid; do stop_pid "$f"; done
    ;;
  status)
    REST_PORT=$(sed -n 's/^rest.port: //p' "$DIR/conf/config.yaml" 2>/dev/null || true)
    curl -sf "http://localhost:${REST_PORT:-$REST}/overview" || { echo "flink-cluster: not running" >&2; exit 3; }
    echo
    ;;
  *)
    echo "usage: flink-cluster.sh start|stop|status [--dir DIR] [--taskmanagers N] [--slots S] [--rest-port P]" >&2
    exit 2 ;;
esac
