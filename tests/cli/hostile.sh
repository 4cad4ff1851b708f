#!/usr/bin/env bash
# End-to-end: `lore ingest` of inputs that made the parsers take minutes or
# hundreds of MB (issue 11) finishes at once, reads them as text with a
# note, and their words are searchable. The 60 s bound is coarse: the
# Markdown alone took 33 s of CPU in a Release build before the budgets,
# far longer under the sanitizers.
set -uo pipefail
LORE=${1:?usage: hostile.sh path/to/lore}
T=$(mktemp -d /tmp/lore-hostile-XXXXXX)
trap 'rm -rf "$T"' EXIT
export LORE_DATA_DIR="$T/data"
unset LORE_CONFIG
source "$(dirname "$0")/../support/check.sh"
source "$(dirname "$0")/../support/store.sh"
lore_store_for "$LORE_DATA_DIR" # PostgreSQL runs: its own database
times() { head -c "$2" /dev/zero | tr '\0' "$1"; }

mkdir -p "$T/in"
# 80,000 nested block quotes, a word, 80,000 '['
{ times '>' 80000; printf ' quokkaword\n'; times '[' 80000; } >"$T/in/quotes.md"
# 1,000,000 nested <div> (11 MB)
{ yes '<div>' | head -n 1000000 | tr -d '\n'; printf 'wombatword'
  yes '</div>' | head -n 1000000 | tr -d '\n'; } >"$T/in/divs.html"

expect 0 "ingest" -- timeout 60 "$LORE" ingest "$T/in"
has "$ERR" "quotes.md: read as plain text, not Markdown: line 1 nests"
has "$ERR" "divs.html: read as text with the tags removed, not as HTML"
has "$ERR" "2 added"
expect 0 "search md" -- "$LORE" search quokkaword --json; has "$OUT" "quotes"
expect 0 "search html" -- "$LORE" search wombatword --json; has "$OUT" "divs"

echo "hostile.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
