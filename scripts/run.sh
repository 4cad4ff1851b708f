#!/usr/bin/env bash
# `make run`: lore on its embedded defaults. Indexes this repository's own
# docs/ into the default tenant the first time (so there is something to
# search), then runs `lore serve` in the foreground. On its first start the
# server prints an admin key, once. Ctrl-C stops it (drains requests first).
#
# The data directory is lore's own default (~/.local/share/lore, or
# $XDG_DATA_HOME/lore, or $LORE_DATA_DIR when set), the same one every lore
# command finds from any directory; `make run DATA_DIR=path` picks another,
# made absolute here so the commands printed below work from anywhere.
set -euo pipefail
LORE=${1:-build/release/lore}
if [ -n "${2:-}" ]; then
  mkdir -p "$2"
  LORE_DATA_DIR="$(cd "$2" && pwd)"
  export LORE_DATA_DIR
fi
# The directory exactly as lore resolves it (lore config prints it absolute).
DATA_DIR=$("$LORE" config | sed -n 's/^data_dir *= \(.*[^ ]\) *  # .*/\1/p')
[ -n "$DATA_DIR" ] || { echo "lore: cannot tell the data directory (lore config)" >&2; exit 1; }
BIN_DIR="$(cd "$(dirname "$LORE")" && pwd)"

if [ -e lore-data/control.db ] && [ "$(pwd)/lore-data" != "$DATA_DIR" ]; then
  echo "lore: note: ./lore-data (from an older lore) is not used; to keep it: make run DATA_DIR=./lore-data"
fi
if [ ! -e "$DATA_DIR/tenants/default/lore.db" ]; then
  echo "lore: indexing docs/ and README.md into the default tenant of $DATA_DIR (sample data)"
  "$LORE" ingest --quiet --source docs docs/ README.md
fi
LISTEN=${LORE_LISTEN:-127.0.0.1:7700}
MCP="LORE_MCP_KEY=\$KEY lore mcp"
[ -n "${LORE_DATA_DIR:-}" ] && MCP="LORE_DATA_DIR=$DATA_DIR $MCP"
cat <<MSG
lore: starting the server; data in $DATA_DIR. Try, with the admin key it prints (KEY=lore_...):
  curl -H "Authorization: Bearer \$KEY" 'http://$LISTEN/v1/search?q=how+are+chunks+split'
  export PATH="$BIN_DIR:\$PATH"   # or make install; then, from any directory:
  lore search "how are chunks split"     # the same engine from the command line
  $MCP             # MCP over stdio for an AI agent
MSG
exec "$LORE" serve
