#!/usr/bin/env bash
# Runs the core JMH benchmarks (acquire+commit beside the AtomicLong floor) with 1 and 2 threads.
# Usage: bench/run-core-bench.sh [extra JMH args]   Results: keypool-bench/target/jmh-*.txt
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$ROOT"
./mvnw -q -B -ntp -DskipTests -pl keypool-bench -am package
for threads in 1 2; do
  "$JAVA" -jar keypool-bench/target/keypool-benchmarks.jar AcquireCommitBenchmark \
    -t "$threads" -rf text -rff "keypool-bench/target/jmh-t$threads.txt" "$@"
done
echo
for threads in 1 2; do
  echo "== $threads thread(s) =="
  cat "keypool-bench/target/jmh-t$threads.txt"
done
