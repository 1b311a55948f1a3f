#!/usr/bin/env bash
# Paired comparison of two builds of the proxy, for deciding whether a change saves CPU on a VM
# whose speed drifts by 20 % from minute to minute (which makes run.sh's back-to-back ratios too
# noisy for a 5 % change). Both proxies share CPU 1 and are loaded at the same time by two load
# generators on CPU 0, so a change in machine speed hits both alike: compare their CPU ms/request
# (and req/s) within each round.
#
#   bash bench/pair.sh BASE_CLI NEW_CLI [SCENARIO] [REQUESTS] [CONCURRENCY] [ROUNDS]
#   e.g. git worktree add /tmp/base HEAD~1 && ln -s "$PWD/node_modules" /tmp/base/ && (cd /tmp/base && node esbuild.mjs --only cli)
#        node esbuild.mjs --only cli
#        bash bench/pair.sh /tmp/base/dist/cli.js dist/cli.js small 8000 32 3
#   PAIR_BASE_NODE_FLAGS / PAIR_NEW_NODE_FLAGS: node flags for each side (e.g. one build, two V8 settings)
#   PAIR_BASE_ENV / PAIR_NEW_ENV: environment for each side, VAR=value words (e.g. GLIBC_TUNABLES=...)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BASE="$1"; NEW="$2"; SC="${3:-small}"; N="${4:-8000}"; C="${5:-32}"; R="${6:-3}"
MOCK_PORT=18081; P1_PORT=18091; P2_PORT=18092
TMP="$(mktemp -d /tmp/llm-lens-pair.XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT
PORT=$MOCK_PORT taskset -c 0 node "$HERE/mock-upstream.mjs" >/dev/null 2>&1 & PIDS+=($!)
summary='let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);console.log(`${j.rps} req/s, ${j.proc.cpu_ms_per_req} CPU ms/req, RSS peak ${j.proc.rss_peak_mb} MB`)})'
for r in $(seq "$R"); do
  rm -rf "$TMP/a" "$TMP/b"; mkdir -p "$TMP/a" "$TMP/b"
  env ${PAIR_BASE_ENV:-} taskset -c 1 node ${PAIR_BASE_NODE_FLAGS:-} "$BASE" proxy --port $P1_PORT --data-dir "$TMP/a" --upstream "openai=http://127.0.0.1:$MOCK_PORT/v1" --log-level error >/dev/null 2>&1 & A=$!
  env ${PAIR_NEW_ENV:-} taskset -c 1 node ${PAIR_NEW_NODE_FLAGS:-} "$NEW" proxy --port $P2_PORT --data-dir "$TMP/b" --upstream "openai=http://127.0.0.1:$MOCK_PORT/v1" --log-level error >/dev/null 2>&1 & B=$!
  PIDS+=("$A" "$B")
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$P1_PORT/" && curl -s -o /dev/null "http://127.0.0.1:$P2_PORT/" && break; sleep 0.1; done
  taskset -c 0 node "$HERE/load.mjs" --url "http://127.0.0.1:$P1_PORT" --scenario "$SC" -n "$N" -c "$C" --pid "$A" --max-seconds 8 | node -e "$summary" > "$TMP/a.out" &
  LA=$!
  taskset -c 0 node "$HERE/load.mjs" --url "http://127.0.0.1:$P2_PORT" --scenario "$SC" -n "$N" -c "$C" --pid "$B" --max-seconds 8 | node -e "$summary" > "$TMP/b.out"
  wait "$LA"
  echo "round $r  base: $(cat "$TMP/a.out")  |  new: $(cat "$TMP/b.out")"
  kill -INT "$A" "$B"; wait "$A" "$B" 2>/dev/null || true
done
