#!/usr/bin/env bash
# Installs the pinned browser-test packages of package-lock.json
# (playwright-core, which drives Debian's chromium, and axe-core) into
# DIR/node_modules, once per lockfile, and copies this folder's scripts next
# to them so their imports resolve. Only the npm registry is contacted; no
# browser is downloaded (playwright-core has none). Usage: setup.sh DIR
set -euo pipefail
src="$(cd "$(dirname "$0")" && pwd)"
dir="$1"
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9 # tests run in parallel; one installs, the others wait
want="$(sha256sum "$src/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$dir/.stamp" 2>/dev/null || true)" != "$want" ] || [ ! -d "$dir/node_modules/playwright-core" ]; then
  if ! command -v npm >/dev/null; then
    echo "setup.sh: npm is missing (make deps installs it)" >&2
    exit 1
  fi
  cp "$src/package.json" "$src/package-lock.json" "$dir/"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
  echo "$want" >"$dir/.stamp"
fi
cp "$src"/*.mjs "$dir/"
