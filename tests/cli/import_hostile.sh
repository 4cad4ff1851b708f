#!/usr/bin/env bash
# `lore import slack` on a hostile export: entry names carrying terminal
# escape sequences (an OSC that retitles the terminal, a clear-screen CSI)
# are reported with their control bytes shown as \xNN, never written raw
# to the operator's terminal.
set -uo pipefail
LORE=${1:?usage: import_hostile.sh path/to/lore}
T=$(mktemp -d /tmp/lore-import-hostile-XXXXXX)
trap 'rm -rf "$T"' EXIT
export LORE_DATA_DIR="$T/data"
unset LORE_CONFIG
source "$(dirname "$0")/../support/check.sh"
source "$(dirname "$0")/../support/store.sh"
lore_store_for "$LORE_DATA_DIR" # PostgreSQL runs: its own database

python3 - "$T/evil.zip" <<'PY'
import sys, zipfile
top = "ev\x1b]0;pwned\x07il\x1b[2J/"
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr(top + "channels.json", '[{"id":"C0000001","name":"general"}]')
    z.writestr(top + "users.json", '[]')
    z.writestr(top + "general/2020-01-01.json", 'this is not JSON')
PY

expect 0 "tenant create" -- "$LORE" tenant create acme
"$LORE" import slack "$T/evil.zip" --tenant acme --quiet >"$T/out" 2>"$T/err"
ERR=$(cat "$T/err")
has "$ERR" "general/2020-01-01.json"
has "$ERR" 'ev\\x1b]0;pwned\\x07il\\x1b\[2J/'
if LC_ALL=C grep -q $'\x1b' "$T/err" "$T/out"; then bad "an escape byte reached the terminal"; else ok; fi
if LC_ALL=C grep -q $'\x07' "$T/err" "$T/out"; then bad "a BEL byte reached the terminal"; else ok; fi
finish
