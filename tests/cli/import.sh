#!/usr/bin/env bash
# `lore import` through the binary: the help says what it does (a Slack
# workspace export, streamed, bad files reported by name, re-import changes
# nothing), `lore --help` lists it, and usage errors (exit 1) and runtime
# errors (exit 2) name what is wrong without creating a data directory.
# The import itself is tests/connectors/test_slack_import.c.
set -uo pipefail
LORE=${1:?usage: import.sh path/to/lore}
T=$(mktemp -d /tmp/lore-import-XXXXXX)
trap 'rm -rf "$T"' EXIT
export LORE_DATA_DIR="$T/data"
unset LORE_CONFIG
source "$(dirname "$0")/../support/check.sh"
source "$(dirname "$0")/../support/store.sh"
lore_store_for "$LORE_DATA_DIR" # PostgreSQL runs: its own database

expect 0 "lore --help lists import" -- "$LORE" --help
has "$OUT" "^  import .*Slack workspace export"
has "$OUT" "^  connector .*rotate"
expect 0 "import --help" -- "$LORE" import --help
has "$OUT" "usage: lore import slack EXPORT.zip"
has "$OUT" "users.json\|channels.json"; has "$OUT" "groups.json"
has "$OUT" "group:slack:CHANNEL_ID"; has "$OUT" "streamed"; has "$OUT" "reported by name"
has "$OUT" "instead of duplicating"; has "$OUT" "--connector ID"

expect 1 "no kind" -- "$LORE" import; has "$ERR" "no kind given"
expect 1 "unknown kind" -- "$LORE" import github x.zip; has "$ERR" "unknown kind 'github'"
expect 1 "no export" -- "$LORE" import slack; has "$ERR" "give one export"
expect 1 "two exports" -- "$LORE" import slack a.zip b.zip; has "$ERR" "give one export"
expect 1 "connector with source" -- "$LORE" import slack a.zip --connector con_0123456789abcdef0123 \
  --source x
has "$ERR" "do not add --source or --acl"
expect 2 "unreadable export" -- "$LORE" import slack "$T/nope.zip"; has "$ERR" "$T/nope.zip: cannot read it"
printf 'not a zip\n' >"$T/notzip.zip"
expect 2 "no store" -- "$LORE" import slack "$T/notzip.zip" --tenant acme; has "$ERR" "$(lore_store_none "$T/data")"
lore_store_untouched "$T/data" && ok || bad "lore import created the data directory"
expect 0 "tenant" -- "$LORE" tenant create acme
expect 2 "not a ZIP" -- "$LORE" import slack "$T/notzip.zip" --tenant acme; has "$ERR" "not a ZIP archive"
has "$ERR" "notzip.zip"
expect 2 "unknown tenant" -- "$LORE" import slack "$T/notzip.zip" --tenant nope; has "$ERR" "nope"
finish
