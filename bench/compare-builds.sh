#!/usr/bin/env bash
# Two keypool builds side by side on the gateway's hot path: the same nginx upstream, the same JVM
# flags, the same wrk loads, the builds alternating round by round so that a noisy machine moves
# both alike. Prints one line per run and, at the end, the new build's figures as ratios of the
# baseline's (medians over the rounds). A quick check for a change; bench/run-gateway-bench.sh is
# the full report.
#
#   bench/compare-builds.sh BASELINE.jar NEW.jar
#
# Settings (environment): ROUNDS=3 SECONDS_EACH=6 WARMUP=10 CONNECTIONS=32 STREAM=0 (1: compare a
# streamed chat too) KEYPOOL_JAVA_OPTS (default: the launcher's) PORT_BASE=18500
# BENCH_WORK=/tmp/keypool-compare. Needs nginx with its echo module and wrk (Debian's); installs
# them when missing, as run-gateway-bench.sh does. Loopback only; every load is bounded in time.
set -euo pipefail

. "$(dirname "$0")/env.sh"
BASE_JAR=$(readlink -f "${1:?baseline jar}")
NEW_JAR=$(readlink -f "${2:?new jar}")
ROUNDS=${ROUNDS:-3}
SECONDS_EACH=${SECONDS_EACH:-6}
WARMUP=${WARMUP:-10}
CONNECTIONS=${CONNECTIONS:-32}
STREAM=${STREAM:-0}
PORT_BASE=${PORT_BASE:-18500}
WORK=${BENCH_WORK:-/tmp/keypool-compare}
JAVA_OPTS=${KEYPOOL_JAVA_OPTS-$("$ROOT/keypool" --print-java-opts)}
UPSTREAM=$((PORT_BASE + 1))
GATEWAY=$((PORT_BASE + 2))
ECHO_MODULE=/usr/lib/nginx/modules/ngx_http_echo_module.so

missing=()
command -v nginx >/dev/null || missing+=(nginx)
command -v wrk >/dev/null || missing+=(wrk)
[ -f "$ECHO_MODULE" ] || missing+=(libnginx-mod-http-echo)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

rm -rf "$WORK" && mkdir -p "$WORK/body" "$WORK/data"
cat >"$WORK/upstream.conf" <<EOF
load_module $ECHO_MODULE;
worker_processes 1;
pid $WORK/upstream.pid;
error_log $WORK/upstream-error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 600s;
  client_body_temp_path $WORK/body;
  server {
    listen 127.0.0.1:$UPSTREAM backlog=4096;
    location = /v1/chat/completions {
      default_type application/json;
      if (\$request_body ~ '"stream":true') { rewrite ^ /stream last; }
      return 200 '{"id":"chatcmpl-bench0001","object":"chat.completion","created":1732800000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":9,"total_tokens":28},"system_fingerprint":"fp_bench"}';
    }
    location = /stream {
      default_type text/event-stream;
      echo_read_request_body;
      echo 'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}';
      echo '';
      echo 'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hello!"},"finish_reason":null}]}';
      echo '';
      echo 'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}';
      echo '';
      echo 'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":19,"completion_tokens":2,"total_tokens":21}}';
      echo '';
      echo 'data: [DONE]';
      echo '';
    }
  }
}
EOF
cat >"$WORK/keypool.env" <<EOF
OPENAI_API_KEYS=sk-bench-000000000000key1,sk-bench-000000000000key2,sk-bench-000000000000key3
OPENAI_BASE_URL=http://127.0.0.1:$UPSTREAM/v1
KEYPOOL_PROVIDER_PRIORITY=openai
KEYPOOL_ADMIN_TOKEN=bench-admin-token
KEYPOOL_DATA_DIR=$WORK/data
EOF
printf '%s' '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello."}],"max_tokens":16}' >"$WORK/plain.json"
printf '%s' '{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Say hello."}],"max_tokens":16}' >"$WORK/stream.json"

UPSTREAM_PID=
GATEWAY_PID=
cleanup() {
  [ -n "$GATEWAY_PID" ] && kill "$GATEWAY_PID" 2>/dev/null || true
  [ -f "$WORK/upstream.pid" ] && kill "$(cat "$WORK/upstream.pid")" 2>/dev/null || true
}
trap cleanup EXIT
nginx -c "$WORK/upstream.conf" -p "$WORK" -g 'daemon on;'

wait_http() {
  for _ in $(seq 1 300); do
    curl -s -o /dev/null --max-time 2 "$1" && return 0
    sleep 0.2
  done
  echo "no answer from $1" >&2
  return 1
}

load() { # tag connections body
  BENCH_BODY=$3 BENCH_HEADERS="Authorization: Bearer bench" BENCH_OUT=$WORK/results.txt BENCH_TAG="$1" \
    timeout $((SECONDS_EACH + 30)) wrk -t1 -c"$2" -d"${SECONDS_EACH}s" --latency -s "$ROOT/bench/wrk/chat.lua" \
    "http://127.0.0.1:$GATEWAY/v1/chat/completions" >/dev/null
}

run_build() { # name jar round
  rm -rf "$WORK/data" && mkdir -p "$WORK/data"
  # shellcheck disable=SC2086
  "$JAVA" $JAVA_OPTS -jar "$2" --env-file "$WORK/keypool.env" --host 127.0.0.1 --port "$GATEWAY" \
    >"$WORK/$1.log" 2>&1 &
  GATEWAY_PID=$!
  wait_http "http://127.0.0.1:$GATEWAY/health"
  BENCH_BODY=$WORK/plain.json BENCH_HEADERS="Authorization: Bearer bench" BENCH_OUT=$WORK/warmup.txt BENCH_TAG=warmup \
    timeout $((WARMUP + 30)) wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" -s "$ROOT/bench/wrk/chat.lua" \
    "http://127.0.0.1:$GATEWAY/v1/chat/completions" >/dev/null
  local before after
  before=$(awk '{print $14 + $15}' "/proc/$GATEWAY_PID/stat")
  load "$1 round=$3 point=c1" 1 "$WORK/plain.json"
  load "$1 round=$3 point=c$CONNECTIONS" "$CONNECTIONS" "$WORK/plain.json"
  after=$(awk '{print $14 + $15}' "/proc/$GATEWAY_PID/stat")
  local requests
  requests=$(tail -n 2 "$WORK/results.txt" | sed 's/.*requests=\([0-9]*\).*/\1/' | awk '{ s += $1 } END { print s }')
  echo "$1 round=$3 cpu_ticks=$((after - before)) requests=$requests" >>"$WORK/cpu.txt"
  if [ "$STREAM" = 1 ]; then
    load "$1 round=$3 point=stream" "$CONNECTIONS" "$WORK/stream.json"
  fi
  kill "$GATEWAY_PID" && wait "$GATEWAY_PID" 2>/dev/null || true
  GATEWAY_PID=
}

for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then order="base new"; else order="new base"; fi
  for name in $order; do
    if [ "$name" = base ]; then jar=$BASE_JAR; else jar=$NEW_JAR; fi
    echo "$(date +%H:%M:%S) round $round: $name" >&2
    run_build "$name" "$jar" "$round"
  done
done

echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$WORK/results.txt"
awk '
  { tag=$1; point=""; for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "point") point = kv[2]; v[kv[1]] = kv[2] }
    key = tag " " point; n[key]++; rps[key, n[key]] = v["rps"]; p50[key, n[key]] = v["p50_us"]; p99[key, n[key]] = v["p99_us"] }
  function median(arr, key, count,   i, j, t, a) {
    for (i = 1; i <= count; i++) a[i] = arr[key, i]
    for (i = 1; i <= count; i++) for (j = i + 1; j <= count; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return count % 2 ? a[(count + 1) / 2] : (a[count / 2] + a[count / 2 + 1]) / 2
  }
  END {
    for (key in n) { split(key, parts, " "); if (parts[1] == "new") points[parts[2]] = 1 }
    for (point in points) {
      b = "base " point; w = "new " point
      printf "%-8s new ÷ baseline: req/s %.2f× (%.0f vs %.0f), p50 %.2f×, p99 %.2f×\n", point,
        median(rps, w, n[w]) / median(rps, b, n[b]), median(rps, w, n[w]), median(rps, b, n[b]),
        median(p50, w, n[w]) / median(p50, b, n[b]), median(p99, w, n[w]) / median(p99, b, n[b])
    }
  }' "$WORK/results.txt"
awk '{ split($3, t, "="); split($4, r, "="); ticks[$1] += t[2]; requests[$1] += r[2] }
  END { printf "gateway CPU per request over the c1 and c%s points, new ÷ baseline: %.2f× (%.0f vs %.0f µs)\n", "'"$CONNECTIONS"'",
        (ticks["new"] / requests["new"]) / (ticks["base"] / requests["base"]),
        ticks["new"] * 10000 / requests["new"], ticks["base"] * 10000 / requests["base"] }' "$WORK/cpu.txt"
