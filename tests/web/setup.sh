#!/usr/bin/env bash
# Installs the pinned browser-test packages of package-lock.json
# (playwright-core, which drives Debian's chromium, and axe-core) into
# DIR/node_modules, once per lockfile, and copies this folder's scripts next
# to them so their imports resolve. Only the npm registry is contacted; no
# browser is downloaded (playwright-core has none). Usage: setup.sh DIR
set -euo pipefail
src="$(cd "$(dirname "$0")" && pwd)"
exec bash "$src/../support/npm_setup.sh" "$src" "$1" node_modules/playwright-core
