#!/usr/bin/env bash
# JMH micro-benchmarks of the SGD kernel, the PS codec and the column store (not part of the test suite).
#   scripts/jmh.sh [JMH options, e.g. -f 1 -wi 3 -i 5 KernelBenchmark]
# Defaults: 1 fork, 3 warm-up and 5 measured iterations of 1 s. On a shared 2-core machine compare medians and
# ratios within one run, not absolute numbers across runs.
set -euo pipefail
# shellcheck source=lib/help.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/help.sh"
help_if_asked "${BASH_SOURCE[0]}" "$@"
HOME_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$HOME_DIR"
mvn -B -q -DskipTests install -pl ps-client,ps-server -am > /dev/null
mvn -B -q -DskipTests test-compile -pl pipeline
CP_FILE=$(mktemp)
mvn -B -q dependency:build-classpath -pl pipeline -Dmdep.outputFile="$CP_FILE" -Dmdep.includeScope=test > /dev/null
CP="pipeline/target/test-classes:pipeline/target/classes:$(cat "$CP_FILE")"
rm -f "$CP_FILE"
ARGS=("$@")
[[ ${#ARGS[@]} -eq 0 ]] && ARGS=(-f 1 -wi 3 -i 5 -w 1s -r 1s)
exec java -cp "$CP" org.openjdk.jmh.Main "${ARGS[@]}"
