#!/usr/bin/env bash
# The web page's weight (bytes on the wire for a first visit, sign-in and
# first search) and time to first result, in Debian's chromium against a
# seeded `lore serve`. Usage: bench/web_weight.sh [path/to/lore] [runs]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LORE=$(realpath "${1:-$ROOT/build/release/lore}")
RUNS=${2:-20}
T=$(mktemp -d /tmp/lore-webbench-XXXXXX)
LORE_BIN="$LORE"
source "$ROOT/tests/mcp/lib.sh"
LORE="$LORE_BIN"
trap 'mcp_stop; rm -rf "$T"' EXIT
WDIR="$(dirname "$LORE")/web-node"
bash "$ROOT/tests/web/setup.sh" "$WDIR"
mcp_serve LORE_ACCESS_LOG=0
B="http://127.0.0.1:$PORT"
for i in $(seq 1 100); do
  printf '{"source":"wiki","id":"d%d","title":"Otter page %d","text":"Otters paragraph %d: otters live in rivers and eat fish; page %d of the otter handbook."}\n' "$i" "$i" "$i" "$i"
done | jq -s '{documents: .}' >"$T/batch.json"
curl -sf -X POST "$B/v1/documents?wait=30" -H "Authorization: Bearer $ADMIN" \
  -H 'Content-Type: application/json' --data-binary @"$T/batch.json" >/dev/null
BASE="$B" KEY="$ADMIN" WEB_NODE="$WDIR" RUNS="$RUNS" node "$ROOT/bench/web_weight.mjs"
