#!/usr/bin/env bash
# `make run`: lore's main job on its embedded defaults. Until the HTTP server
# exists that job is the engine on the command line: index this repository's
# own docs/ into a "demo" tenant and answer a sample query.
set -euo pipefail
LORE=${1:-build/release/lore}
DATA_DIR=${2:-./lore-data}
export LORE_DATA_DIR="$DATA_DIR"

"$LORE" tenant list >/dev/null
if ! "$LORE" tenant list | grep -q '^demo '; then
  "$LORE" tenant create demo
fi
"$LORE" ingest --tenant demo --source docs docs/ README.md
echo
echo '$ lore search --tenant demo "how are chunks split"'
"$LORE" search --tenant demo --limit 3 "how are chunks split"
echo
echo "Data is in $DATA_DIR. Try:  LORE_DATA_DIR=$DATA_DIR $LORE search --tenant demo 'your words'"
