#!/usr/bin/env bash
# Submits the Factorbird job jar to any running Flink cluster through its REST API and follows it: a line per
# epoch while it runs, then the summary a local run prints (held-out RMSE, model path, grid ranking, report).
#   scripts/submit.sh --rest HOST:PORT [--parallelism P] [--jar JAR] [--detach] -- train --input ... --ps ...
# The arguments after -- are those of scripts/factorbird (train or grid); --ps is required on a cluster.
# Relative local paths are made absolute (the cluster resolves paths in its own working directory), with a note.
# Exit code: 0 when the job finished, 1 when it failed (one line with the reason), 2 on usage errors.
set -euo pipefail
HOME_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JAR="$HOME_DIR/jobs/target/factorbird-jobs.jar"
usage() { sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
REST=""; PARALLELISM=""; DETACH=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rest) REST="$2"; shift 2 ;;
    --parallelism) PARALLELISM="$2"; shift 2 ;;
    --jar) JAR="$2"; shift 2 ;;
    --detach) DETACH=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    *) echo "submit: unknown option $1 (usage: submit.sh --rest HOST:PORT [--parallelism P] -- train ...)" >&2
       exit 2 ;;
  esac
done
[[ -n "$REST" && $# -gt 0 ]] || { echo "submit: usage: submit.sh --rest HOST:PORT [--parallelism P] -- train ..." >&2; exit 2; }
[[ -f "$JAR" ]] || { echo "submit: no job jar at $JAR (run mvn -B -DskipTests package)" >&2; exit 2; }
BASE="http://$REST"
# paths are resolved where the job runs (the JobManager and TaskManagers), not here: relative ones become absolute
ARGV=()
OUTPUT=""
prev=""
for a in "$@"; do
  case "$prev" in
    --input|--test|--output|--snapshot-dir|--resume|--model|--exclude|--rows|--ps-auth-secret-file|--ps-tls-truststore|--ps-tls-password-file)
      if [[ "$a" != /* && "$a" != *://* ]]; then
        abs="$(realpath -m -- "$a")"
        echo "submit: note: $prev $a is relative; passing $abs (the cluster must see this path: a local cluster," \
          "a shared mount, or give a URI such as hdfs://... or s3://...)" >&2
        a="$abs"
      fi
      [[ "$prev" == --output ]] && OUTPUT="$a" ;;
  esac
  ARGV+=("$a")
  prev="$a"
done
set -- "${ARGV[@]}"

json_field() { # name: the field "name" of the JSON object on stdin (empty when absent), through a JSON parser:
  # jq when installed (no JVM start per poll), else the project's own 'factorbird field'
  if command -v jq > /dev/null; then jq -r --arg k "$1" '.[$k] // empty' 2>/dev/null || true
  else "$HOME_DIR/scripts/factorbird" field - "$1" 2>/dev/null || true; fi
}

UPLOAD=$(curl -s -X POST -H "Expect:" -F "jarfile=@$JAR" "$BASE/jars/upload") \
  || { echo "submit: error: cannot reach the Flink REST API at $BASE" >&2; exit 1; }
JAR_ID=$(echo "$UPLOAD" | json_field filename | sed 's|.*/||')
[[ -n "$JAR_ID" ]] || { echo "submit: error: upload failed: $UPLOAD" >&2; exit 1; }
cleanup() { curl -s -X DELETE "$BASE/jars/$JAR_ID" > /dev/null || true; }
trap cleanup EXIT

ARGS=""
for a in "$@"; do
  a=${a//\\/\\\\}; a=${a//\"/\\\"}
  ARGS="$ARGS${ARGS:+,}\"$a\""
done
BODY="{\"entryClass\":\"org.factorbird.jobs.Factorbird\",\"programArgsList\":[$ARGS]"
[[ -n "$PARALLELISM" ]] && BODY="$BODY,\"parallelism\":$PARALLELISM"
BODY="$BODY}"
RUN=$(curl -s -X POST -H "Content-Type: application/json" -d "$BODY" "$BASE/jars/$JAR_ID/run")
JOB=$(echo "$RUN" | json_field jobid)
if [[ -z "$JOB" ]]; then
  REASON=$(echo "$RUN" | grep -o 'factorbird: [^\\"]*' | head -1)
  echo "submit: error: ${REASON:-the job was not accepted: $(echo "$RUN" | head -c 400)}" >&2
  exit 1
fi
echo "submitted job $JOB to $BASE"
[[ $DETACH -eq 1 ]] && exit 0
# progress lines from the job's metrics over the REST API, then the summary read from --output
"$HOME_DIR/scripts/factorbird" follow --rest "$REST" --job "$JOB" ${OUTPUT:+--output "$OUTPUT"}
