#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages lore needs to build, test and run, but
# only those that are missing, so a second run costs nothing. Uses sudo when
# not root. The list is the one place our system dependencies are named.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git
  clang libclang-rt-14-dev libfuzzer-14-dev clang-format
  libsqlite3-dev sqlite3 libjansson-dev libutf8proc-dev libstemmer-dev
  libcmark-gfm-dev libcmark-gfm-extensions-dev libxml2-dev libzip-dev
  poppler-utils zip zlib1g-dev
  libmicrohttpd-dev libcurl4-openssl-dev curl libssl-dev openssl jq
  redis-server
  chromium
  libpq-dev postgresql pgbouncer
)
# postgresql, libpq-dev: the PostgreSQL store backend (built when pkg-config
# finds libpq) and its tests, which start a throwaway server
# (tests/support/pg.sh; Debian 12's postgresql is 15). pgbouncer: lore through
# PgBouncer in transaction mode (tests/cli/pgbouncer.sh starts its own).
# chromium: the web page's end-to-end tests (tests/cli/web.sh) drive Debian's
# build with playwright-core from npm (tests/web/setup.sh).

# The MCP tests drive lore with npm's official clients (tests/mcp/setup.sh
# installs them, and Node 22, from the npm registry); npm needs a Node.js.
if ! command -v npm >/dev/null; then PACKAGES+=(nodejs npm); fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "lore: installing missing packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
