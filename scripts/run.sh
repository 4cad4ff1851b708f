#!/usr/bin/env bash
# `make run`: lore on its embedded defaults. Indexes this repository's own
# docs/ into the default tenant the first time (so there is something to
# search), then runs `lore serve` in the foreground. On its first start the
# server prints an admin key, once. Ctrl-C stops it (drains requests first).
set -euo pipefail
LORE=${1:-build/release/lore}
DATA_DIR=${2:-./lore-data}
export LORE_DATA_DIR="$DATA_DIR"

if [ ! -e "$DATA_DIR/tenants/default/lore.db" ]; then
  echo "lore: indexing docs/ and README.md into the default tenant (sample data)"
  "$LORE" ingest --quiet --source docs docs/ README.md
fi
LISTEN=${LORE_LISTEN:-127.0.0.1:7700}
cat <<MSG
lore: starting the server; data in $DATA_DIR. Try, with the admin key it prints:
  curl -H "Authorization: Bearer \$KEY" 'http://$LISTEN/v1/search?q=how+are+chunks+split'
  $LORE search "how are chunks split"      # the same engine from the command line
MSG
exec "$LORE" serve
