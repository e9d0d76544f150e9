#!/usr/bin/env bash
# Gateway benchmark: keypool beside a direct call, nginx proxy_pass (the floor for any proxy) and
# Portkey's open-source gateway, against the same nginx upstream, in one bounded run on loopback.
# Then the core JMH benchmarks (bench/run-core-bench.sh). Regenerates docs/BENCHMARKS.md.
#
#   bench/run-gateway-bench.sh            full run (about 20 minutes on 2 cores)
#   QUICK=1 bench/run-gateway-bench.sh    smoke run (about 3 minutes), report to $BENCH_WORK/BENCHMARKS.quick.md
#
# Installs what it needs: nginx, wrk and nginx's echo module (Debian), @portkey-ai/gateway (npm, into
# $BENCH_WORK/portkey, outside the repository). Every server listens on 127.0.0.1 only; every load
# is bounded in time. Settings (environment, defaults for the full run):
#   REPS=3                 repetitions of every point; paths alternate inside each repetition
#   C1_SECONDS=6           wrk, 1 connection: pure added latency
#   SAT_SECONDS=6 SAT_CONNECTIONS=32            wrk saturation, no-delay upstream
#   RATE_SECONDS=8 RATE_WARMUP=1 RATE_CONNECTIONS=32 LOW_RATE=200
#                          open-loop fixed rates: LOW_RATE for every path, and half of keypool's
#                          saturation throughput (measured earlier in the same run)
#   DELAY_MS=50 DELAY_CONNECTIONS=256 DELAY_RATE=250 DELAY_RATE_CONNECTIONS=64   the 50 ms profile
#   STREAM_GAP_MS=10 TTFT_COUNT=300             streaming: first token at once, the rest after the gap
#   WARMUP_SECONDS=20      JVM warm-up of keypool per profile (discarded); Portkey gets half of it
#   PROFILE_SECONDS=20     JFR recording of keypool at saturation
#   KEYPOOL_JAVA_OPTS=     JVM flags of the measured keypool (unset: the launcher's, `./keypool --print-java-opts`)
#   ALT_OPTS=""            JVM flags of the extra saturation and RSS point (empty: the JVM's defaults, `java -jar`)
#   JMH=1 JMH_ARGS="-wi 3 -w 1s -i 4 -r 1s"      core JMH benchmarks (JMH=0 skips them)
#   WAIT_FOR_IDLE=1 MAX_LOAD=1.0 MAX_WAIT_SECONDS=600   wait for the 1-minute load to drop first
#   SKIP_BUILD=0 SKIP_INSTALL=0 PORT_BASE=18100 BENCH_WORK=/tmp/keypool-bench OUT=docs/BENCHMARKS.md
set -euo pipefail

. "$(dirname "$0")/env.sh"
cd "$ROOT"

QUICK=${QUICK:-0}
q() { if [ "$QUICK" = 1 ]; then echo "$2"; else echo "$1"; fi; }
REPS=${REPS:-$(q 3 1)}
C1_SECONDS=${C1_SECONDS:-$(q 6 2)}
SAT_SECONDS=${SAT_SECONDS:-$(q 6 2)}
SAT_CONNECTIONS=${SAT_CONNECTIONS:-32}
RATE_SECONDS=${RATE_SECONDS:-$(q 8 2)}
RATE_WARMUP=${RATE_WARMUP:-$(q 1 0.5)}
RATE_CONNECTIONS=${RATE_CONNECTIONS:-32}
LOW_RATE=${LOW_RATE:-200}
DELAY_MS=${DELAY_MS:-50}
DELAY_CONNECTIONS=${DELAY_CONNECTIONS:-256}
DELAY_RATE=${DELAY_RATE:-250}
DELAY_RATE_CONNECTIONS=${DELAY_RATE_CONNECTIONS:-64}
STREAM_GAP_MS=${STREAM_GAP_MS:-10}
TTFT_COUNT=${TTFT_COUNT:-$(q 300 50)}
WARMUP_SECONDS=${WARMUP_SECONDS:-$(q 20 5)}
PROFILE_SECONDS=${PROFILE_SECONDS:-$(q 20 4)}
ALT_OPTS=${ALT_OPTS:-}
KEYPOOL_JAVA_OPTS=${KEYPOOL_JAVA_OPTS-$("$ROOT/keypool" --print-java-opts)}
JMH=${JMH:-1}
JMH_ARGS=${JMH_ARGS:-$(q "-wi 3 -w 1s -i 4 -r 1s" "-wi 1 -w 1s -i 1 -r 1s -p keys=3")}
WAIT_FOR_IDLE=${WAIT_FOR_IDLE:-$(q 1 0)}
MAX_LOAD=${MAX_LOAD:-1.0}
MAX_WAIT_SECONDS=${MAX_WAIT_SECONDS:-600}
SKIP_BUILD=${SKIP_BUILD:-0}
SKIP_INSTALL=${SKIP_INSTALL:-0}
PORT_BASE=${PORT_BASE:-18100}
WORK=${BENCH_WORK:-/tmp/keypool-bench}
OUT=${OUT:-$(q "$ROOT/docs/BENCHMARKS.md" "$WORK/BENCHMARKS.quick.md")}

PORTKEY_VERSION=1.15.2
# Portkey 1.15.2 with @hono/node-server >= 1.14.2 fails every streamed answer with
# "TypeError: immutable" (Portkey-AI/gateway#1389); 1.14.1 is the newest that streams.
HONO_NODE_SERVER_VERSION=1.14.1

UP_FAST=$((PORT_BASE + 1)); UP_DELAY=$((PORT_BASE + 2)); UP_STREAM=$((PORT_BASE + 3))
PX_FAST=$((PORT_BASE + 11)); PX_DELAY=$((PORT_BASE + 12)); PX_STREAM=$((PORT_BASE + 13))
KP_PORT=$((PORT_BASE + 20)); PK_PORT=$((PORT_BASE + 30))
ECHO_MODULE=/usr/lib/nginx/modules/ngx_http_echo_module.so
FAKE_KEYS="sk-bench-000000000000key1,sk-bench-000000000000key2,sk-bench-000000000000key3"
PATHS=(direct nginx keypool portkey)

RUN=$WORK/run
RESULTS=$RUN/results.txt
META=$RUN/meta.txt
STARTED_AT=$(date +%s)

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
meta() { printf '%s=%s\n' "$1" "$2" >>"$META"; }

# ---------------------------------------------------------------------------------------------
# Processes this script started, stopped by their id on exit.
declare -A PIDS=()
stop_pid() {
  local pid=$1
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
}
stop() {
  local name=$1
  if [ -n "${PIDS[$name]:-}" ]; then
    stop_pid "${PIDS[$name]}"
    unset "PIDS[$name]"
  fi
}
cleanup() {
  for name in "${!PIDS[@]}"; do stop "$name"; done
  if [ -n "${POLICY_RC_CREATED:-}" ]; then rm -f /usr/sbin/policy-rc.d; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_http() { # url seconds
  local url=$1 deadline=$(( $(date +%s) + $2 ))
  until curl -s -o /dev/null --max-time 2 "$url"; do
    if [ "$(date +%s)" -ge "$deadline" ]; then log "no answer from $url"; return 1; fi
    sleep 0.2
  done
}

# ---------------------------------------------------------------------------------------------
install_tools() {
  local missing=()
  command -v nginx >/dev/null || missing+=(nginx)
  command -v wrk >/dev/null || missing+=(wrk)
  [ -f "$ECHO_MODULE" ] || missing+=(libnginx-mod-http-echo)
  command -v node >/dev/null || missing+=(nodejs npm)
  command -v curl >/dev/null || missing+=(curl)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]} (Debian)"
    # Debian starts the system nginx on port 80 at install unless told not to.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
      POLICY_RC_CREATED=1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  mkdir -p "$WORK/portkey"
  local want="{\"name\":\"keypool-bench-portkey\",\"private\":true,\"dependencies\":{\"@portkey-ai/gateway\":\"$PORTKEY_VERSION\"},\"overrides\":{\"@hono/node-server\":\"$HONO_NODE_SERVER_VERSION\"}}"
  if [ "$(cat "$WORK/portkey/package.json" 2>/dev/null)" != "$want" ] \
      || [ ! -f "$WORK/portkey/node_modules/@portkey-ai/gateway/build/start-server.js" ]; then
    log "installing @portkey-ai/gateway@$PORTKEY_VERSION (npm, into $WORK/portkey)"
    echo "$want" >"$WORK/portkey/package.json"
    (cd "$WORK/portkey" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
  fi
}

build() {
  if [ "$SKIP_BUILD" != 1 ]; then
    log "building keypool-server"
    ./mvnw -q -B -o -DskipTests package -pl keypool-server -am 2>"$RUN/build.log" \
      || ./mvnw -q -B -ntp -DskipTests package -pl keypool-server -am 2>>"$RUN/build.log"
  fi
  # Run from a copy: others rebuild the jar in the tree while the benchmark runs.
  cp keypool-server/target/keypool-server.jar "$RUN/keypool-server.jar"
  mkdir -p "$RUN/classes"
  "${JAVA_BIN}javac" --release 21 -d "$RUN/classes" \
    keypool-bench/src/main/java/dev/keypool/bench/GatewayLoad.java \
    keypool-bench/src/main/java/dev/keypool/bench/GatewayReport.java \
    keypool-bench/src/main/java/dev/keypool/bench/JfrProfile.java
}

wait_for_idle() {
  local load waited=0
  load=$(cut -d' ' -f1 /proc/loadavg)
  meta load_before_wait "$load"
  if [ "$WAIT_FOR_IDLE" = 1 ]; then
    while awk -v l="$load" -v m="$MAX_LOAD" 'BEGIN { exit !(l >= m) }'; do
      if [ "$waited" -ge "$MAX_WAIT_SECONDS" ]; then log "load still $load after ${waited}s; going on"; break; fi
      log "1-minute load $load >= $MAX_LOAD; waiting (${waited}s so far)"
      sleep 30; waited=$((waited + 30))
      load=$(cut -d' ' -f1 /proc/loadavg)
    done
  fi
  meta load_at_start "$(cat /proc/loadavg | cut -d' ' -f1-3)"
  meta waited_for_idle_seconds "$waited"
  meta max_load "$MAX_LOAD"
}

machine() {
  meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
  meta nproc "$(nproc)"
  meta cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
  meta kernel "$(uname -sr)"
  meta memory "$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  meta os "$(. /etc/os-release && echo "$PRETTY_NAME")"
  meta jdk "$("${JAVA_BIN}java" -version 2>&1 | sed -n 2p)"
  meta jvm_defaults "$("${JAVA_BIN}java" -XX:+PrintFlagsFinal -version 2>/dev/null \
    | awk '$2 == "InitialHeapSize" || $2 == "MaxHeapSize" { printf "%s %d MiB, ", $2, $4 / 1048576 }
           $2 ~ /^Use(G1|Serial|Parallel|Z)GC$/ && $4 == "true" { printf "%s", $2 }')"
  meta nginx "$(nginx -v 2>&1 | sed 's/.*: //')"
  meta wrk "$(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')"
  meta node "$(node --version)"
  meta portkey "@portkey-ai/gateway $PORTKEY_VERSION (@hono/node-server $HONO_NODE_SERVER_VERSION)"
  meta keypool "$("${JAVA_BIN}java" -jar "$RUN/keypool-server.jar" --version 2>/dev/null | sed 's/^keypool-server //'), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet HEAD -- keypool-core keypool-providers keypool-server 2>/dev/null || echo ' + uncommitted changes')"
  meta keypool_java_opts "${KEYPOOL_JAVA_OPTS:-(none)}"
  meta alt_opts "${ALT_OPTS:-(none: the JVM defaults)}"
  meta settings "QUICK=$QUICK REPS=$REPS C1_SECONDS=$C1_SECONDS SAT_SECONDS=$SAT_SECONDS SAT_CONNECTIONS=$SAT_CONNECTIONS RATE_SECONDS=$RATE_SECONDS RATE_WARMUP=$RATE_WARMUP RATE_CONNECTIONS=$RATE_CONNECTIONS LOW_RATE=$LOW_RATE DELAY_MS=$DELAY_MS DELAY_CONNECTIONS=$DELAY_CONNECTIONS DELAY_RATE=$DELAY_RATE DELAY_RATE_CONNECTIONS=$DELAY_RATE_CONNECTIONS STREAM_GAP_MS=$STREAM_GAP_MS TTFT_COUNT=$TTFT_COUNT WARMUP_SECONDS=$WARMUP_SECONDS PROFILE_SECONDS=$PROFILE_SECONDS"
}

# ---------------------------------------------------------------------------------------------
# Servers.
render() { # template output
  sed -e "s#@RUN@#$RUN#g; s#@ECHO_MODULE@#$ECHO_MODULE#g" \
      -e "s#@UPSTREAM_WORKERS@#1#g; s#@PROXY_WORKERS@#auto#g" \
      -e "s#@UPSTREAM_FAST@#$UP_FAST#g; s#@UPSTREAM_DELAY@#$UP_DELAY#g; s#@UPSTREAM_STREAM@#$UP_STREAM#g" \
      -e "s#@PROXY_FAST@#$PX_FAST#g; s#@PROXY_DELAY@#$PX_DELAY#g; s#@PROXY_STREAM@#$PX_STREAM#g" \
      -e "s#@DELAY_S@#$(awk -v ms="$DELAY_MS" 'BEGIN { printf "%.3f", ms / 1000 }')#g" \
      -e "s#@STREAM_GAP_S@#$(awk -v ms="$STREAM_GAP_MS" 'BEGIN { printf "%.3f", ms / 1000 }')#g" \
      "$1" >"$2"
}

start_nginx() { # name conf
  mkdir -p "$RUN/nginx-$1/logs"
  nginx -p "$RUN/nginx-$1" -c "$2" -g 'daemon off;' 2>>"$RUN/nginx-$1.log" &
  PIDS[$1]=$!
}

start_keypool() { # upstream-port [java opts...]
  local upstream=$1; shift
  rm -rf "$RUN/keypool-data"
  cat >"$RUN/keypool.env" <<EOF
OPENAI_API_KEYS=$FAKE_KEYS
OPENAI_MAX_TOKENS_PER_MINUTE_0=1000000000000
OPENAI_MAX_TOKENS_PER_MINUTE_1=1000000000000
OPENAI_MAX_TOKENS_PER_MINUTE_2=1000000000000
OPENAI_MAX_TOKENS_PER_DAY_0=1000000000000000
OPENAI_MAX_TOKENS_PER_DAY_1=1000000000000000
OPENAI_MAX_TOKENS_PER_DAY_2=1000000000000000
OPENAI_BASE_URL=http://127.0.0.1:$upstream/v1
KEYPOOL_PROVIDER_PRIORITY=openai
KEYPOOL_HOST=127.0.0.1
KEYPOOL_ADMIN_TOKEN=bench-admin-token
KEYPOOL_DATA_DIR=$RUN/keypool-data
EOF
  # shellcheck disable=SC2068
  "${JAVA_BIN}java" $@ -jar "$RUN/keypool-server.jar" --env-file "$RUN/keypool.env" --host 127.0.0.1 \
    --port "$KP_PORT" >>"$RUN/keypool.log" 2>&1 &
  PIDS[keypool]=$!
  wait_http "http://127.0.0.1:$KP_PORT/health" 60
}

start_portkey() {
  (cd "$WORK/portkey" && NODE_ENV=production exec node --import "$ROOT/bench/portkey/loopback.mjs" \
    node_modules/@portkey-ai/gateway/build/start-server.js --port="$PK_PORT" --headless) >>"$RUN/portkey.log" 2>&1 &
  PIDS[portkey]=$!
  wait_http "http://127.0.0.1:$PK_PORT/" 60
}

check_loopback_only() {
  local wide
  wide=$(ss -ltnH 2>/dev/null | awk '{print $4}' | grep -E ":($UP_FAST|$UP_DELAY|$UP_STREAM|$PX_FAST|$PX_DELAY|$PX_STREAM|$KP_PORT|$PK_PORT)$" \
    | grep -v -E '^(127\.0\.0\.1|\[::ffff:127\.0\.0\.1\]):' || true)
  if [ -n "$wide" ]; then log "refusing to go on: listening beyond loopback: $wide"; exit 1; fi
}

# The process ids that make up a path's server (for CPU, context switches and RSS).
group_pids() {
  local root
  case $1 in
    direct) root=${PIDS[upstream]} ;;
    nginx) root=${PIDS[proxy]} ;;
    keypool) root=${PIDS[keypool]} ;;
    portkey) root=${PIDS[portkey]} ;;
  esac
  echo "$root $(pgrep -P "$root" | tr '\n' ' ')"
}
cpu_ticks() { local t=0 p; for p in $(group_pids "$1"); do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo $t; }
ctx_switches() { cat $(for p in $(group_pids "$1"); do echo /proc/"$p"/task/*/status; done) 2>/dev/null | awk '/ctxt_switches/ { s += $2 } END { print s + 0 }'; }
thread_ticks() { # pid: "tid|name|ticks" per thread
  local task
  for task in /proc/"$1"/task/*; do
    echo "${task##*/}|$(cat "$task/comm" 2>/dev/null)|$(awk '{print $14 + $15}' "$task/stat" 2>/dev/null)"
  done 2>/dev/null || true
}
hwm_kb() { local s=0 p; for p in $(group_pids "$1"); do s=$((s + $(awk '/VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0))); done; echo $s; }

# ---------------------------------------------------------------------------------------------
# One profile's addresses: url_of PATH, headers_of PATH.
PROFILE=fast
upstream_port() { case $PROFILE in fast) echo $UP_FAST ;; delay) echo $UP_DELAY ;; stream) echo $UP_STREAM ;; esac; }
proxy_port() { case $PROFILE in fast) echo $PX_FAST ;; delay) echo $PX_DELAY ;; stream) echo $PX_STREAM ;; esac; }
url_of() {
  case $1 in
    direct) echo "http://127.0.0.1:$(upstream_port)/v1/chat/completions" ;;
    nginx) echo "http://127.0.0.1:$(proxy_port)/v1/chat/completions" ;;
    keypool) echo "http://127.0.0.1:$KP_PORT/v1/chat/completions" ;;
    portkey) echo "http://127.0.0.1:$PK_PORT/v1/chat/completions" ;;
  esac
}
headers_of() { # "|"-separated, as bench/wrk/chat.lua reads them
  if [ "$1" = portkey ]; then
    echo "x-portkey-provider: openai|x-portkey-custom-host: http://127.0.0.1:$(upstream_port)/v1|Authorization: Bearer ${FAKE_KEYS%%,*}"
  fi
}
body_of() { if [ "$PROFILE" = stream ]; then echo "$RUN/body-stream.json"; else echo "$RUN/body.json"; fi; }

# Paths in a different order in every repetition, so no path always runs first or last.
rotated() { local r=$1 n=${#PATHS[@]} i; for i in $(seq 0 $((n - 1))); do echo "${PATHS[$(((i + r) % n))]}"; done; }

run_wrk() { # path connections seconds tag...
  local path=$1 c=$2 s=$3; shift 3
  local tmp=$RUN/wrk.out cpu0 cpu1 cs0 cs1
  rm -f "$tmp"
  cpu0=$(cpu_ticks "$path"); cs0=$(ctx_switches "$path")
  BENCH_BODY=$(body_of) BENCH_HEADERS=$(headers_of "$path") BENCH_OUT=$tmp BENCH_TAG="$*" \
    timeout $((s + 60)) wrk -t1 -c"$c" -d"${s}s" --timeout 10s -s "$ROOT/bench/wrk/chat.lua" "$(url_of "$path")" >/dev/null 2>>"$RUN/wrk.log" || true
  cpu1=$(cpu_ticks "$path"); cs1=$(ctx_switches "$path")
  if [ -s "$tmp" ]; then
    echo "$(cat "$tmp") cpu_ticks=$((cpu1 - cpu0)) ctx_switches=$((cs1 - cs0))" >>"$RESULTS"
  else
    echo "$* failed=1" >>"$RESULTS"
  fi
}

run_rate() { # path rate connections tag...
  local path=$1 rate=$2 c=$3; shift 3
  local args=() header cpu0 cpu1 line
  IFS='|' read -r -a hs <<<"$(headers_of "$path")"
  for header in "${hs[@]}"; do [ -n "$header" ] && args+=("--header=$header"); done
  cpu0=$(cpu_ticks "$path")
  line=$(timeout $((${RATE_SECONDS%.*} + 60)) "${JAVA_BIN}java" -XX:+UseSerialGC -Xmx256m -cp "$RUN/classes" dev.keypool.bench.GatewayLoad rate \
    --url="$(url_of "$path")" --body="$(body_of)" --rate="$rate" --connections="$c" \
    --seconds="$RATE_SECONDS" --warmup="$RATE_WARMUP" --tag="$*" "${args[@]}" 2>>"$RUN/load.log") || line="$* failed=1"
  cpu1=$(cpu_ticks "$path")
  echo "$line cpu_ticks=$((cpu1 - cpu0))" >>"$RESULTS"
}

run_ttft() { # path count warmup tag...
  local path=$1 count=$2 warm=$3; shift 3
  local args=() header line
  IFS='|' read -r -a hs <<<"$(headers_of "$path")"
  for header in "${hs[@]}"; do [ -n "$header" ] && args+=("--header=$header"); done
  line=$(timeout 300 "${JAVA_BIN}java" -XX:+UseSerialGC -Xmx256m -cp "$RUN/classes" dev.keypool.bench.GatewayLoad ttft \
    --url="$(url_of "$path")" --body="$(body_of)" --count="$count" --warmup="$warm" --marker=Hello \
    --tag="$*" "${args[@]}" 2>>"$RUN/load.log") || line="$* failed=1"
  echo "$line" >>"$RESULTS"
}

# Every path answers with the fixed completion before anything is measured.
check_paths() {
  local path args code
  for path in "${PATHS[@]}"; do
    args=()
    IFS='|' read -r -a hs <<<"$(headers_of "$path")"
    for h in "${hs[@]}"; do [ -n "$h" ] && args+=(-H "$h"); done
    code=$(curl -s -o "$RUN/check-$path.out" -w '%{http_code}' --max-time 10 -X POST -H 'Content-Type: application/json' \
      "${args[@]}" --data-binary @"$(body_of)" "$(url_of "$path")" || true)
    if [ "$code" != 200 ] || ! grep -q 'total_tokens' "$RUN/check-$path.out"; then
      log "$PROFILE/$path answered $code: $(head -c 300 "$RUN/check-$path.out")"
      exit 1
    fi
  done
}

# Start the gateways fresh for a profile (so each one's peak RSS is that profile's), check every
# path, and warm them up. Warm-up results are discarded.
begin_profile() {
  PROFILE=$1
  log "profile $PROFILE: starting keypool and Portkey"
  stop keypool; stop portkey
  start_keypool "$(upstream_port)" $KEYPOOL_JAVA_OPTS
  start_portkey
  check_loopback_only
  check_paths
  log "profile $PROFILE: warm-up (discarded)"
  local c=$SAT_CONNECTIONS
  [ "$PROFILE" = delay ] && c=$DELAY_CONNECTIONS
  [ "$PROFILE" = stream ] && c=8
  BENCH_BODY=$(body_of) BENCH_OUT=$RUN/warmup.out BENCH_TAG=warmup timeout $((WARMUP_SECONDS + 60)) \
    wrk -t1 -c"$c" -d"${WARMUP_SECONDS}s" -s "$ROOT/bench/wrk/chat.lua" "$(url_of keypool)" >/dev/null 2>&1 || true
  BENCH_BODY=$(body_of) BENCH_HEADERS=$(headers_of portkey) BENCH_OUT=$RUN/warmup.out BENCH_TAG=warmup timeout $((WARMUP_SECONDS + 60)) \
    wrk -t1 -c"$c" -d"$(( (WARMUP_SECONDS + 1) / 2 ))s" -s "$ROOT/bench/wrk/chat.lua" "$(url_of portkey)" >/dev/null 2>&1 || true
  for path in direct nginx; do
    BENCH_BODY=$(body_of) BENCH_OUT=$RUN/warmup.out BENCH_TAG=warmup wrk -t1 -c"$c" -d2s -s "$ROOT/bench/wrk/chat.lua" "$(url_of $path)" >/dev/null 2>&1 || true
  done
}

end_profile() {
  local path
  for path in "${PATHS[@]}"; do
    echo "profile=$PROFILE path=$path hwm_kb=$(hwm_kb "$path")" >>"$RUN/rss.txt"
  done
}

median_rps() { # profile test path
  awk -v p="profile=$1" -v t="test=$2" -v k="path=$3" '$1 == p && $2 == t && $3 == k {
      for (i = 1; i <= NF; i++) if ($i ~ /^rps=/) { split($i, kv, "="); print kv[2] } }' "$RESULTS" \
    | sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ---------------------------------------------------------------------------------------------
main() {
  mkdir -p "$WORK"
  rm -rf "$RUN"; mkdir -p "$RUN"
  : >"$RESULTS"; : >"$META"; : >"$RUN/rss.txt"
  [ "$SKIP_INSTALL" = 1 ] || install_tools
  build
  machine
  printf '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello."}],"max_tokens":16}' >"$RUN/body.json"
  printf '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello."}],"max_tokens":16,"stream":true,"stream_options":{"include_usage":true}}' >"$RUN/body-stream.json"

  for port in $UP_FAST $UP_DELAY $UP_STREAM $PX_FAST $PX_DELAY $PX_STREAM $KP_PORT $PK_PORT; do
    if ss -ltnH | awk '{print $4}' | grep -q ":$port$"; then log "port $port is taken; set PORT_BASE"; exit 1; fi
  done
  wait_for_idle
  local measured_from
  measured_from=$(date +%s)

  render "$ROOT/bench/nginx/upstream.conf" "$RUN/upstream.conf"
  render "$ROOT/bench/nginx/proxy.conf" "$RUN/proxy.conf"
  start_nginx upstream "$RUN/upstream.conf"
  start_nginx proxy "$RUN/proxy.conf"
  wait_http "http://127.0.0.1:$UP_FAST/" 10
  wait_http "http://127.0.0.1:$PX_FAST/" 10

  # ---- no delay: added latency, saturation, fixed rates
  begin_profile fast
  local rep path
  for rep in $(seq 1 "$REPS"); do
    log "fast: c=1, repetition $rep"
    for path in $(rotated "$rep"); do run_wrk "$path" 1 "$C1_SECONDS" "profile=fast test=c1 path=$path rep=$rep"; done
  done
  for rep in $(seq 1 "$REPS"); do
    log "fast: saturation c=$SAT_CONNECTIONS, repetition $rep"
    for path in $(rotated "$rep"); do run_wrk "$path" "$SAT_CONNECTIONS" "$SAT_SECONDS" "profile=fast test=sat path=$path rep=$rep"; done
  done
  local half portkey_sat
  half=$(awk -v r="$(median_rps fast sat keypool)" 'BEGIN { printf "%d", r / 2 }')
  portkey_sat=$(median_rps fast sat portkey)
  meta half_keypool_rate "$half"
  for rep in $(seq 1 "$REPS"); do
    log "fast: open loop at $LOW_RATE/s, repetition $rep"
    for path in $(rotated "$rep"); do run_rate "$path" "$LOW_RATE" "$RATE_CONNECTIONS" "profile=fast test=rate-low path=$path rep=$rep"; done
  done
  if [ "$half" -gt 0 ]; then
    for rep in $(seq 1 "$REPS"); do
      log "fast: open loop at $half/s (half of keypool's saturation), repetition $rep"
      for path in $(rotated "$rep"); do
        if [ "$path" = portkey ] && awk -v s="$portkey_sat" -v h="$half" 'BEGIN { exit !(s < 1.2 * h) }'; then
          echo "profile=fast test=rate-half path=portkey rep=$rep skipped=above-saturation" >>"$RESULTS"
          continue
        fi
        run_rate "$path" "$half" "$RATE_CONNECTIONS" "profile=fast test=rate-half path=$path rep=$rep"
      done
    done
  fi
  end_profile

  # ---- 50 ms upstream: many requests in flight
  begin_profile delay
  for rep in $(seq 1 "$REPS"); do
    log "delay: saturation c=$DELAY_CONNECTIONS, repetition $rep"
    for path in $(rotated "$rep"); do run_wrk "$path" "$DELAY_CONNECTIONS" "$SAT_SECONDS" "profile=delay test=sat path=$path rep=$rep"; done
  done
  for rep in $(seq 1 "$REPS"); do
    log "delay: open loop at $DELAY_RATE/s, repetition $rep"
    for path in $(rotated "$rep"); do run_rate "$path" "$DELAY_RATE" "$DELAY_RATE_CONNECTIONS" "profile=delay test=rate path=$path rep=$rep"; done
  done
  end_profile

  # ---- streaming: time to first token
  begin_profile stream
  for rep in $(seq 1 "$REPS"); do
    log "stream: time to first token, repetition $rep"
    for path in $(rotated "$rep"); do run_ttft "$path" "$TTFT_COUNT" 20 "profile=stream test=ttft path=$path rep=$rep"; done
  done
  end_profile
  stop portkey

  # ---- where keypool's time goes: JFR at saturation, per-thread CPU, native memory; then the alternative flags
  PROFILE=fast
  log "profiling keypool at saturation (JFR, $PROFILE_SECONDS s)"
  stop keypool
  # shellcheck disable=SC2086
  start_keypool "$UP_FAST" $KEYPOOL_JAVA_OPTS -XX:NativeMemoryTracking=summary
  BENCH_BODY=$RUN/body.json BENCH_OUT=$RUN/warmup.out BENCH_TAG=warmup wrk -t1 -c"$SAT_CONNECTIONS" -d"${WARMUP_SECONDS}s" \
    -s "$ROOT/bench/wrk/chat.lua" "$(url_of keypool)" >/dev/null 2>&1 || true
  local kp=${PIDS[keypool]}
  thread_ticks "$kp" >"$RUN/threads-before.txt"
  "${JAVA_BIN}jcmd" "$kp" JFR.start name=bench settings=profile filename="$RUN/keypool-saturation.jfr" >/dev/null
  run_wrk keypool "$SAT_CONNECTIONS" "$PROFILE_SECONDS" "profile=fast test=profiled path=keypool rep=1"
  "${JAVA_BIN}jcmd" "$kp" JFR.stop name=bench >/dev/null
  thread_ticks "$kp" >"$RUN/threads-after.txt"
  "${JAVA_BIN}jcmd" "$kp" GC.heap_info >"$RUN/heap-default.txt" 2>&1 || true
  "${JAVA_BIN}jcmd" "$kp" VM.native_memory summary >"$RUN/nmt-profile.txt" 2>&1 || true
  "${JAVA_BIN}java" -cp "$RUN/classes" dev.keypool.bench.JfrProfile "$RUN/keypool-saturation.jfr" \
    "$(awk '/test=profiled/ { for (i = 1; i <= NF; i++) if ($i ~ /^requests=/) { split($i, kv, "="); print kv[2] } }' "$RESULTS")" \
    >"$RUN/jfr-profile.md" 2>>"$RUN/load.log" || true
  stop keypool

  log "keypool with ${ALT_OPTS:-the JVM default flags}: saturation and RSS"
  # shellcheck disable=SC2086
  start_keypool "$UP_FAST" $ALT_OPTS
  BENCH_BODY=$RUN/body.json BENCH_OUT=$RUN/warmup.out BENCH_TAG=warmup wrk -t1 -c"$SAT_CONNECTIONS" -d"${WARMUP_SECONDS}s" \
    -s "$ROOT/bench/wrk/chat.lua" "$(url_of keypool)" >/dev/null 2>&1 || true
  for rep in $(seq 1 "$REPS"); do
    run_wrk keypool "$SAT_CONNECTIONS" "$SAT_SECONDS" "profile=fast test=sat-alt path=keypool rep=$rep"
  done
  echo "profile=alt path=keypool hwm_kb=$(hwm_kb keypool)" >>"$RUN/rss.txt"
  stop keypool
  stop proxy; stop upstream
  meta gateway_seconds $(( $(date +%s) - measured_from ))
  meta load_after_gateway "$(cut -d' ' -f1-3 /proc/loadavg)"

  # ---- core JMH benchmarks (issue 2), same report
  if [ "$JMH" = 1 ]; then
    log "core JMH benchmarks: bench/run-core-bench.sh $JMH_ARGS"
    local jmh_from
    jmh_from=$(date +%s)
    # shellcheck disable=SC2086
    if bench/run-core-bench.sh $JMH_ARGS >"$RUN/jmh.log" 2>&1; then
      cp keypool-bench/target/jmh-t1.txt keypool-bench/target/jmh-t2.txt "$RUN/"
    else
      log "the JMH run failed; see $RUN/jmh.log"
    fi
    meta jmh_seconds $(( $(date +%s) - jmh_from ))
    meta jmh_args "$JMH_ARGS"
  fi
  meta total_seconds $(( $(date +%s) - STARTED_AT ))

  "${JAVA_BIN}java" -cp "$RUN/classes" dev.keypool.bench.GatewayReport "$RUN" >"$OUT.tmp"
  mv "$OUT.tmp" "$OUT"
  log "wrote $OUT ($(( $(date +%s) - STARTED_AT )) s in all); raw results in $RUN"
}

main "$@"
