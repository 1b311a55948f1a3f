#!/usr/bin/env bash
# LLM Lens under the harness contract (PORT, UPSTREAM), logging ON into a real data dir.
# `npm run bench` builds dist/cli.js first; run.sh sets BENCH_DATA_DIR inside the results folder.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[ -f "$ROOT/dist/cli.js" ] || { echo "dist/cli.js is missing: run 'node esbuild.mjs --only cli' (npm run bench does)" >&2; exit 1; }
DATA="${BENCH_DATA_DIR:-$(mktemp -d /tmp/llm-lens-bench.XXXXXX)}"
# The V8 flags `npm start` and the llm-lens bin use (see README, "Performance"); LENS_NODE_FLAGS
# replaces them, and LENS_NODE_ENV (VAR=value words) is added to node's environment, to measure
# another setting.
exec env ${LENS_NODE_ENV:-} node ${LENS_NODE_FLAGS:---max-semi-space-size=8 --heap-growing-percent=20 --liftoff-only} "$ROOT/dist/cli.js" proxy --host 127.0.0.1 --port "$PORT" --data-dir "$DATA" \
  --upstream "openai=$UPSTREAM/v1" --upstream "anthropic=$UPSTREAM" --log-level warn
