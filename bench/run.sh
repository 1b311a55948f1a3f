#!/usr/bin/env bash
# Direct-vs-proxy benchmark in one run (LLM Lens copy of the shared harness; `npm run bench`).
#
#   bench/run.sh [--label NAME] [--] [PROXY_CMD [ARGS...]]
#
# Without PROXY_CMD it measures LLM Lens itself (bench/targets/llm-lens.sh, dist/cli.js, logging ON
# into a real data dir under the run's results folder, deleted afterwards unless BENCH_KEEP_DATA=1).
#
# Starts the mock upstream, starts PROXY_CMD with env PORT=<proxy port> and
# UPSTREAM=http://127.0.0.1:<mock port>, waits until the port listens, smoke-tests
# every scenario through both paths, then runs all scenarios BENCH_ROUNDS times,
# alternating direct/proxy order (ABBA), and prints overhead ratios.
# Every process it starts is stopped by PID (process group) on exit.
#
# Knobs (env, defaults in brackets):
#   BENCH_SCENARIOS     ["small:1:400 small:32:3000 large:1:100 large:32:320 stream:1:300 stream:32:1500 stream-paced:32:400"]
#                       name:concurrency:requests; names: small large stream stream-paced messages messages-stream
#   BENCH_ROUNDS        [3]     alternating rounds
#   BENCH_RUN_MAX_S     [5]     cap on one load run's measuring time (slow proxies get fewer samples)
#   BENCH_BUDGET_S      [300]   whole-run wall-clock budget; rounds stop early past it
#   BENCH_KEEP_DATA     [0]     1 = keep the proxy's data dir ($OUT/data) after the run
#   BENCH_IDLE_S        [20]    after the rounds, seconds without traffic before large:32 runs once more in the
#                               same proxy (RSS before/after the quiet spell, after-idle.json); 0 skips it
#   BENCH_FRESH         [1]     0 skips the last step: large:32 in a proxy process of its own (fresh.json)
#   BENCH_MOCK_PORT     [18080] BENCH_PROXY_PORT [18090]
#   BENCH_PROXY_HEADERS []      extra headers sent only to the proxy, separated by newlines or '|';
#                               the token {UPSTREAM} is replaced by the upstream URL
#   BENCH_PROXY_PREFIX  []      path prefix the proxy expects before /v1/...
#   BENCH_PIN           [1]     on >=2 CPUs: proxy on CPU 1, mock + load generator on CPU 0 (taskset)
#   BENCH_READY_S       [30]    how long to wait for the proxy port
#   BENCH_OUT           [bench/results/<label>-<time>]  where results.jsonl, summary.json and logs go
#   MOCK_LATENCY_MS, MOCK_CHUNKS, MOCK_CHUNK_DELAY_MS   passed to the mock (see mock-upstream.mjs)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LABEL=""
while [ $# -gt 0 ]; do
  case "$1" in
    --label) LABEL="$2"; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) break ;;
  esac
done
if [ $# -eq 0 ]; then
  set -- "$HERE/targets/llm-lens.sh"
  [ -n "$LABEL" ] || LABEL="llm-lens"
fi
if [ -z "$LABEL" ]; then # refs/minimal/start.sh -> minimal ; ./myproxy.sh -> myproxy
  case "$(basename "$1")" in start.sh|run.sh|start|index.js|index.mjs|main.js) LABEL="$(basename "$(cd "$(dirname "$1")" && pwd)")" ;;
    *) LABEL="$(basename "$1")"; LABEL="${LABEL%.*}" ;; esac
fi
LABEL="${LABEL//[^A-Za-z0-9_.-]/_}"

SCENARIOS="${BENCH_SCENARIOS:-small:1:400 small:32:3000 large:1:100 large:32:320 stream:1:300 stream:32:1500 stream-paced:32:400}"
ROUNDS="${BENCH_ROUNDS:-3}"
RUN_MAX_S="${BENCH_RUN_MAX_S:-5}"
BUDGET_S="${BENCH_BUDGET_S:-300}"
MOCK_PORT="${BENCH_MOCK_PORT:-18080}"
PROXY_PORT="${BENCH_PROXY_PORT:-18090}"
PREFIX="${BENCH_PROXY_PREFIX:-}"
READY_S="${BENCH_READY_S:-30}"
PIN="${BENCH_PIN:-1}"
OUT="${BENCH_OUT:-$HERE/results/$LABEL-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
RESULTS="$OUT/results.jsonl"; : > "$RESULTS"
UPSTREAM="http://127.0.0.1:$MOCK_PORT"
DIRECT_URL="$UPSTREAM"
PROXY_URL="http://127.0.0.1:$PROXY_PORT$PREFIX"

# load.mjs uses the project's own undici (node_modules at the repository root).
(cd "$HERE" && node -e 'require.resolve("undici")') || { echo "undici is not installed: run npm install at the repository root" >&2; exit 1; }
# The proxy under test keeps its records here (logging ON is what we measure).
export BENCH_DATA_DIR="$OUT/data"

# ---- CPU pinning (2-core box: give the proxy its own core) ----
PIN_LOAD=(); PIN_PROXY=()
if [ "$PIN" = "1" ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  PIN_LOAD=(taskset -c 0); PIN_PROXY=(taskset -c 1)
else
  PIN=0
fi

# ---- process management: only what we start, by PID / own process group ----
MOCK_PID=""; PROXY_PID=""
stop_group() { # $1 = pid that leads its own process group (started with setsid)
  local pid="$1" i
  [ -n "$pid" ] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
  stop_group "$PROXY_PID"; stop_group "$MOCK_PID"
  if [ "${BENCH_KEEP_DATA:-0}" != "1" ] && [ -d "$BENCH_DATA_DIR" ]; then
    du -sh "$BENCH_DATA_DIR" 2>/dev/null | sed 's/^/# proxy data dir size: /' >&2 || true
    rm -rf "$BENCH_DATA_DIR"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # port timeout_s pid
  local end=$((SECONDS + $2))
  while [ $SECONDS -lt $end ]; do
    port_busy "$1" && return 0
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
listener_pid() { # pid of the process listening on port $1 (falls back to $2)
  local p
  p="$(ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2 || true)"
  echo "${p:-$2}"
}

for p in "$MOCK_PORT" "$PROXY_PORT"; do
  if port_busy "$p"; then echo "port $p is already in use; set BENCH_MOCK_PORT/BENCH_PROXY_PORT" >&2; exit 1; fi
done

host_busy_pct() { # busy % of all CPUs over 1 s, from /proc/stat
  local a b
  a=($(head -1 /proc/stat)); sleep 1; b=($(head -1 /proc/stat))
  local idle=$(( (b[4]+b[5]) - (a[4]+a[5]) )) total=0 i
  for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
  echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}
BUSY_BEFORE="$(host_busy_pct)"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "# bench: label=$LABEL rounds=$ROUNDS pin=$PIN out=$OUT" >&2
echo "# host before start: ${BUSY_BEFORE}% CPU busy, loadavg $LOAD_BEFORE" >&2
[ "$BUSY_BEFORE" -lt 15 ] || echo "WARNING: the machine is already ${BUSY_BEFORE}% busy; expect noisy numbers" >&2
echo "# proxy cmd: $*" >&2

PORT="$MOCK_PORT" MOCK_HOST=127.0.0.1 setsid "${PIN_LOAD[@]}" node "$HERE/mock-upstream.mjs" >"$OUT/mock.log" 2>&1 </dev/null &
MOCK_PID=$!
wait_port "$MOCK_PORT" 10 "$MOCK_PID" || { echo "mock did not start:" >&2; cat "$OUT/mock.log" >&2; exit 1; }

T_START=$SECONDS
PORT="$PROXY_PORT" UPSTREAM="$UPSTREAM" setsid "${PIN_PROXY[@]}" "$@" >"$OUT/proxy.log" 2>&1 </dev/null &
PROXY_PID=$!
if ! wait_port "$PROXY_PORT" "$READY_S" "$PROXY_PID"; then
  echo "proxy did not listen on 127.0.0.1:$PROXY_PORT within ${READY_S}s; its log:" >&2; tail -30 "$OUT/proxy.log" >&2; exit 1
fi
STARTUP_S=$((SECONDS - T_START))
WATCH_PID="$(listener_pid "$PROXY_PORT" "$PROXY_PID")"
if ss -ltnH "sport = :$PROXY_PORT" 2>/dev/null | grep -qv '127.0.0.1:'; then
  echo "WARNING: proxy listens on a non-loopback address:" >&2; ss -ltnH "sport = :$PROXY_PORT" >&2
fi

# headers for the proxy only
HDR_ARGS=()
if [ -n "${BENCH_PROXY_HEADERS:-}" ]; then
  while IFS= read -r h; do
    h="${h#"${h%%[![:space:]]*}"}"; [ -n "$h" ] || continue
    HDR_ARGS+=(--header "${h//\{UPSTREAM\}/$UPSTREAM}")
  done < <(printf '%s\n' "$BENCH_PROXY_HEADERS" | tr '|' '\n')
fi

load() { "${PIN_LOAD[@]}" node "$HERE/load.mjs" "$@"; }

# ---- smoke test: every scenario kind through both paths must succeed ----
declare -A SEEN=()
for spec in $SCENARIOS; do
  name="${spec%%:*}"; [ -z "${SEEN[$name]:-}" ] || continue; SEEN[$name]=1
  for tgt in direct proxy; do
    if [ "$tgt" = direct ]; then r="$(load --url "$DIRECT_URL" --scenario "$name" -n 3 -c 1 --warmup 0)"
    else r="$(load --url "$PROXY_URL" --scenario "$name" -n 3 -c 1 --warmup 0 "${HDR_ARGS[@]}")"; fi
    if ! grep -q '"errors":0,' <<<"$r"; then
      echo "smoke test failed for $tgt/$name: $r" >&2; echo "proxy log tail:" >&2; tail -20 "$OUT/proxy.log" >&2; exit 1
    fi
  done
done
echo "# smoke ok; proxy listening after ~${STARTUP_S}s, watching pid $WATCH_PID" >&2

# ---- alternating rounds ----
i=0
for r in $(seq 1 "$ROUNDS"); do
  for spec in $SCENARIOS; do
    IFS=: read -r name conc reqs <<<"$spec"
    i=$((i + 1))
    if [ $((i % 2)) -eq 1 ]; then order="direct proxy"; else order="proxy direct"; fi
    for tgt in $order; do
      left=$((BUDGET_S - SECONDS))
      if [ "$left" -lt 8 ]; then echo "# budget of ${BUDGET_S}s reached, stopping in round $r" >&2; break 3; fi
      cap=$RUN_MAX_S; [ "$cap" -lt $((left - 5)) ] || cap=$((left - 5))
      if [ "$tgt" = direct ]; then
        line="$(load --url "$DIRECT_URL" --scenario "$name" -c "$conc" -n "$reqs" --max-seconds "$cap" --mock-pid "$MOCK_PID")"
      else
        line="$(load --url "$PROXY_URL" --scenario "$name" -c "$conc" -n "$reqs" --max-seconds "$cap" --pid "$WATCH_PID" --mock-pid "$MOCK_PID" "${HDR_ARGS[@]}")"
      fi
      printf '{"round":%d,"target":"%s","spec":"%s",%s\n' "$r" "$tgt" "$spec" "${line#\{}" >>"$RESULTS"
      printf '# r%d %-16s %-6s %s\n' "$r" "$spec" "$tgt" \
        "$(grep -o '"rps":[0-9.]*\|"errors":[0-9]*\|"other_cpu_pct":[0-9.]*' <<<"$line" | tr '\n' ' ')" >&2
    done
  done
done

# ---- the same process after a quiet spell, then large:32 once more ----
# V8 keeps the heap it grew under load until its memory reducer runs, some seconds after traffic
# stops; glibc keeps its high-water mark. This shows what a proxy that has been quiet for a while
# holds, and large:32's peak in it: what a user's long-running proxy sees, rather than one under
# back-to-back load. BENCH_IDLE_S=0 skips it.
IDLE_S="${BENCH_IDLE_S:-20}"
IDLE_SPEC="$(tr ' ' '\n' <<<"$SCENARIOS" | grep '^large:32:' | head -1 || true)"
if [ -n "$IDLE_SPEC" ] && [ "$IDLE_S" -gt 0 ] && [ $((BUDGET_S - SECONDS)) -ge $((IDLE_S + 30)) ] && kill -0 "$WATCH_PID" 2>/dev/null; then
  rss_mb() { awk '/^VmRSS:/{printf "%.1f", $2/1024}' "/proc/$1/status" 2>/dev/null || echo null; }
  BUSY_RSS="$(rss_mb "$WATCH_PID")"
  sleep "$IDLE_S"
  IDLE_RSS="$(rss_mb "$WATCH_PID")"
  # How much history the process holds: LLM Lens answers /api/health with its stored-request count
  # (its in-memory index grows with it); any other proxy leaves this null.
  STORED="$(node -e 'fetch(process.argv[1]).then((r) => r.json()).then((j) => console.log(Number.isFinite(j?.data?.requests) ? j.data.requests : "null"), () => console.log("null"))' "$PROXY_URL/api/health" 2>/dev/null || echo null)"
  IFS=: read -r name conc reqs <<<"$IDLE_SPEC"
  line="$(load --url "$PROXY_URL" --scenario "$name" -c "$conc" -n "$reqs" --max-seconds "$RUN_MAX_S" --pid "$WATCH_PID" --mock-pid "$MOCK_PID" "${HDR_ARGS[@]}")"
  printf '{"spec":"%s","idle_s":%s,"rss_before_idle_mb":%s,"rss_after_idle_mb":%s,"stored_requests":%s,%s\n' "$IDLE_SPEC" "$IDLE_S" "${BUSY_RSS:-null}" "${IDLE_RSS:-null}" "${STORED:-null}" "${line#\{}" >"$OUT/after-idle.json"
  printf '# after %ss quiet: proxy RSS %s -> %s MB; then %-16s %s\n' "$IDLE_S" "$BUSY_RSS" "$IDLE_RSS" "$IDLE_SPEC" "$(grep -o '"rps":[0-9.]*\|"errors":[0-9]*\|"rss_peak_mb":[0-9.]*' <<<"$line" | tr '\n' ' ')" >&2
fi

# ---- large:32 again, in a proxy process of its own ----
# The rounds above run every scenario in one proxy process, so large:32's RSS there carries what the
# process kept from the others (its index, V8's heap sizing, malloc's high-water mark). This run
# measures the 1 MB uploads alone: a fresh proxy and data dir, the same load, once.
FRESH_SPEC="$(tr ' ' '\n' <<<"$SCENARIOS" | grep '^large:32:' | head -1 || true)"
if [ -n "$FRESH_SPEC" ] && [ "${BENCH_FRESH:-1}" = "1" ] && [ $((BUDGET_S - SECONDS)) -ge 20 ]; then
  stop_group "$PROXY_PID"; PROXY_PID=""
  rm -rf "$BENCH_DATA_DIR"; mkdir -p "$BENCH_DATA_DIR"
  PORT="$PROXY_PORT" UPSTREAM="$UPSTREAM" setsid "${PIN_PROXY[@]}" "$@" >"$OUT/proxy-fresh.log" 2>&1 </dev/null &
  PROXY_PID=$!
  if wait_port "$PROXY_PORT" "$READY_S" "$PROXY_PID"; then
    IFS=: read -r name conc reqs <<<"$FRESH_SPEC"
    line="$(load --url "$PROXY_URL" --scenario "$name" -c "$conc" -n "$reqs" --max-seconds "$RUN_MAX_S" --pid "$(listener_pid "$PROXY_PORT" "$PROXY_PID")" --mock-pid "$MOCK_PID" "${HDR_ARGS[@]}")"
    printf '{"spec":"%s",%s\n' "$FRESH_SPEC" "${line#\{}" >"$OUT/fresh.json"
    printf '# fresh %-16s proxy  %s\n' "$FRESH_SPEC" "$(grep -o '"rps":[0-9.]*\|"errors":[0-9]*\|"rss_peak_mb":[0-9.]*' <<<"$line" | tr '\n' ' ')" >&2
  else
    echo "# the fresh proxy did not start; skipping its large:32 run" >&2
  fi
fi

cat >"$OUT/meta.json" <<EOF
{"label":"$LABEL","cmd":$(printf '%s' "$*" | node -e 'process.stdout.write(JSON.stringify(require("fs").readFileSync(0,"utf8")))'),"rounds":$ROUNDS,"scenarios":"$SCENARIOS","pin":$PIN,"startup_s":$STARTUP_S,"host_busy_before_pct":$BUSY_BEFORE,"loadavg_before":"$LOAD_BEFORE","loadavg_after":"$(cut -d' ' -f1-3 /proc/loadavg)","wall_s":$SECONDS,"node":"$(node -v)","nproc":$(nproc),"cpu":"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')","mock":{"latency_ms":"${MOCK_LATENCY_MS:-0}","chunks":"${MOCK_CHUNKS:-20}","chunk_delay_ms":"${MOCK_CHUNK_DELAY_MS:-0}"}}
EOF
node "$HERE/report.mjs" "$OUT"
node "$HERE/targets.mjs" "$OUT" || true
echo "# total wall time ${SECONDS}s; results in $OUT" >&2
