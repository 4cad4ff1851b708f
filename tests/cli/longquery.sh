#!/usr/bin/env bash
# `lore search` with long queries, --like and bad bytes: a 600-word query
# and a pasted 4 KB paragraph return hits; --json lists the dropped terms
# (the least selective: the words every fixture document has) and plain
# output names them on stderr; --like puts the document first and an ACL
# hides it as a missing one; a query that is not UTF-8 is a usage error.
# The fixtures are those of tests/search/long_text.h, built in bash.
set -uo pipefail
LORE=${1:?usage: longquery.sh path/to/lore}
T=$(mktemp -d /tmp/lore-longquery-XXXXXX)
trap 'rm -rf "$T"' EXIT
export LORE_DATA_DIR="$T/data"
unset LORE_CONFIG
source "$(dirname "$0")/../support/check.sh"
source "$(dirname "$0")/../support/store.sh"
lore_store_for "$LORE_DATA_DIR" # PostgreSQL runs: its own database
want() { if [ "$2" = "$3" ]; then ok; else bad "$1: got '$2', want '$3'"; fi; }
py() { python3 -c "import json,sys; r=json.loads(sys.stdin.read()); $1" <<<"$OUT" 2>&1; }

L=bdfghklmnp
word() { printf 'q%s%s%sx' "${L:$(($1 / 100 % 10)):1}" "${L:$(($1 / 10 % 10)):1}" "${L:$(($1 % 10)):1}"; }
COMMON=44 DOCS=16 PER=16
commons=""
for ((j = 0; j < COMMON; j++)); do commons+="$(word $j) "; done
: >"$T/fix.jsonl"
for ((d = 0; d < DOCS; d++)); do
  text="$commons"
  for ((k = 0; k < PER; k++)); do text+="$(word $((COMMON + d * PER + k))) "; done
  printf '{"id":"lt%d","title":"Fixture %d","text":"%s"}\n' "$d" "$d" "$text" >>"$T/fix.jsonl"
done
printf '{"id":"incident","title":"Billing deploy incident postmortem","text":"The billing service deploy failed during the database migration; the invoice exporter broke because a column was renamed. We restored the replica snapshot and added a canary stage for schema changes."}\n' >>"$T/fix.jsonl"
printf '{"id":"secret","title":"Fixture secret","text":"%s qzzzx"}\n' "$commons" >"$T/secret.jsonl"
expect 0 "ingest" -- "$LORE" ingest --quiet "$T/fix.jsonl"
expect 0 "ingest secret" -- "$LORE" ingest --quiet --acl group:secret "$T/secret.jsonl"

# 600 words (each of the 300 twice), 3,599 bytes
Q600=""
for r in 1 2; do for ((j = 0; j < 300; j++)); do Q600+="$(word $j) "; done; done
Q600=${Q600% }
want "600 words" "$(wc -w <<<"$Q600" | tr -d ' ')" 600
expect 0 "600-word query --json" -- "$LORE" search --json --limit 50 -- "$Q600"
want "600-word hits" "$(py 'print(len(r["hits"]))')" "$DOCS"
want "600-word dropped_total" "$(py 'print(r["dropped_total"])')" "$COMMON"
want "dropped are the common words" "$(py "c=set('$commons'.split()); print(sorted(r['dropped_terms'])==sorted(c))")" True
has "$ERR" "44 common words left out of the long query"
expect 0 "600-word query, plain" -- "$LORE" search -- "$Q600"
has "$ERR" "44 common words left out of the long query: $(word 0)\|44 common words left out of the long query: q"
has "$OUT" "Fixture"

# a pasted paragraph of just under 4 KB
S=("Last Tuesday the nightly deploy of the billing service failed halfway through the database migration, and customers in Europe saw timeouts on the checkout page."
  "The on-call engineer rolled back the release, but the schema change had already renamed a column that the invoice exporter still reads every fifteen minutes."
  "We paged the payments team, restored the column from a replica snapshot and replayed the exporter queue by hand, which took about three hours."
  "Root cause: the migration script assumed a maintenance window that was removed from the runbook in March, and nobody updated the checklist."
  "Follow-ups include a canary stage for schema changes, an alert on exporter lag, and a rehearsal of the rollback procedure with the support rotation."
  "Please send me the postmortem template, the Grafana dashboards for exporter latency, and any earlier incident reports about invoice delays or duplicate charges."
  "I also want to know who owns the replica snapshots, how long they are retained, and whether restoring one requires approval from security."
  "Finally, list the services that depend on the invoice table so we can warn their owners before the next migration ships.")
PARA=""
for ((i = 0; ; i++)); do
  next="${S[$((i % 8))]} (note $((i + 1)))"
  [ -n "$PARA" ] && next=" $next"
  [ $((${#PARA} + ${#next})) -ge 4096 ] && break
  PARA+="$next"
done
[ "${#PARA}" -gt 3900 ] && ok || bad "paragraph is ${#PARA} bytes"
expect 0 "paragraph --json" -- "$LORE" search --json -- "$PARA"
want "paragraph finds the incident" "$(py 'print(r["hits"][0]["external_id"])')" incident
want "paragraph dropped_terms is a list" "$(py 'print(type(r["dropped_terms"]).__name__)')" list
expect 1 "over 4096 bytes" -- "$LORE" search -- "$PARA $PARA"
has "$ERR" "the limit is 4096"

# --like: the document first, then those sharing its words
expect 0 "find lt0" -- "$LORE" search --json -- "$(word 44)"
ID0=$(py 'print(r["hits"][0]["id"])')
expect 0 "--like" -- "$LORE" search --json --like "$ID0" --limit 4
want "--like first" "$(py 'print(r["hits"][0]["external_id"])')" lt0
want "--like hits" "$(py 'print(len(r["hits"]))')" 4
want "--like echoes the id" "$(py 'print(r["like"])')" "$ID0"
expect 0 "find secret" -- "$LORE" search --json qzzzx
IDS=$(py 'print(r["hits"][0]["id"])')
expect 2 "--like hidden" -- "$LORE" search --like "$IDS" --as user:bob@example.com
has "$ERR" "no document with id"
expect 2 "--like missing" -- "$LORE" search --like 0123456789abcdef0123 --as user:bob@example.com
has "$ERR" "no document with id"
expect 0 "--like visible with the principal" -- "$LORE" search --json --like "$IDS" --as group:secret
want "--like secret first" "$(py 'print(r["hits"][0]["external_id"])')" secret
expect 1 "--like and a query" -- "$LORE" search --like "$ID0" words
has "$ERR" "not both"

# not UTF-8: a usage error naming the byte
expect 1 "invalid UTF-8" -- "$LORE" search $'\xff\xfe'
has "$ERR" "not valid UTF-8"

echo "longquery.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
