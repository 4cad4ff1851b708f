#!/usr/bin/env bash
# The npm install shared by the test folders that pin Node packages
# (tests/embed, tests/mcp, tests/web): each keeps its own package.json and
# package-lock.json (the pinned versions) and a setup.sh that calls this.
#
#   npm_setup.sh SRC DIR PROBE
#
# Installs SRC's package.json and package-lock.json into DIR/node_modules with
# `npm ci`, once per lockfile (DIR/.stamp holds the lockfile's SHA-256, DIR/.lock
# serialises tests running in parallel: one installs, the others wait), and
# again when DIR/PROBE (a path the install must have made) is missing; then
# copies SRC's *.mjs next to node_modules so their imports resolve. Only the
# npm registry is contacted. The caller's environment reaches npm (for
# variables a package's install script reads). Prints nothing on success.
set -euo pipefail
src="$1" dir="$2" probe="$3"
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9
want="$(sha256sum "$src/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$dir/.stamp" 2>/dev/null || true)" != "$want" ] || [ ! -e "$dir/$probe" ]; then
  if ! command -v npm >/dev/null; then
    echo "$(basename "$src")/setup.sh: npm is missing (make deps installs it)" >&2
    exit 1
  fi
  cp "$src/package.json" "$src/package-lock.json" "$dir/"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
  echo "$want" >"$dir/.stamp"
fi
cp "$src"/*.mjs "$dir/"
