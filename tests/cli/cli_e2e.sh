#!/usr/bin/env bash
# End-to-end tests of the lore binary: every command, its exit codes and its
# error messages, against a fresh data directory.
set -uo pipefail
LORE=${1:?usage: cli_e2e.sh path/to/lore}
T=$(mktemp -d /tmp/lore-cli-XXXXXX)
trap 'rm -rf "$T"' EXIT
export LORE_DATA_DIR="$T/data"
unset LORE_CONFIG
source "$(dirname "$0")/../support/check.sh"
source "$(dirname "$0")/../support/store.sh"
lore_store_for "$LORE_DATA_DIR" # PostgreSQL runs: its own database

# --- usage and help
expect 0 "version" -- "$LORE" --version; has "$OUT" "lore 0"
expect 1 "no command" -- "$LORE"
expect 1 "unknown command" -- "$LORE" frobnicate; has "$ERR" "unknown command 'frobnicate'"
for c in tenant ingest search get delete stats config; do
  expect 0 "$c --help" -- "$LORE" $c --help; has "$OUT" "usage: lore $c"
done
expect 1 "unknown option" -- "$LORE" search --bogus x; has "$ERR" "unknown option --bogus"
expect 1 "missing value" -- "$LORE" search --limit; has "$ERR" "needs a value"
expect 1 "bad limit" -- "$LORE" search --limit 0 hello; has "$ERR" "--limit 0"
expect 1 "bad date" -- "$LORE" search --since yesterday x; has "$ERR" "--since yesterday"

# --- config
expect 0 "config" -- "$LORE" config; has "$OUT" "data_dir"; has "$OUT" "env"
LORE_MASTER_KEY=hunter2 expect 0 "config masks" -- env LORE_MASTER_KEY=hunter2 "$LORE" config
hasnt "$OUT" "hunter2"; has "$OUT" "master_key"
expect 1 "unknown env" -- env LORE_COLOUR=blue "$LORE" config; has "$ERR" "LORE_COLOUR"
echo "bm25_k1 = lots" >"$T/bad.conf"
expect 1 "bad file" -- "$LORE" config --config "$T/bad.conf"; has "$ERR" "bad.conf:1"

# --- tenants
expect 2 "tenant list without data" -- "$LORE" tenant list; has "$ERR" "$(lore_store_none "$LORE_DATA_DIR")"
expect 0 "tenant create" -- "$LORE" tenant create acme
expect 2 "tenant create twice" -- "$LORE" tenant create acme; has "$ERR" "already exists"
expect 1 "tenant bad name" -- "$LORE" tenant create "Bad/Name"; has "$ERR" "not a valid tenant name"
expect 1 "tenant delete needs --yes" -- "$LORE" tenant delete acme; has "$ERR" "--yes"
expect 2 "search unknown tenant" -- "$LORE" search --tenant nope hello; has "$ERR" "does not exist"

# --- ingest a small handbook
mkdir -p "$T/hb/leave" "$T/hb/.hidden"
cat >"$T/hb/leave/parental.md" <<'MD'
---
title: Parental leave
author: hr
---
# Parental leave

## Eligibility
Every employee is eligible for sixteen weeks of paid parental leave.

## How to apply
Tell your manager and file the form in the HR portal.
MD
cat >"$T/hb/travel.html" <<'HTML'
<html><head><title>Travel policy</title></head><body><nav>Home | About</nav>
<main><h1>Travel</h1><p>Book flights through the travel desk &amp; keep receipts.</p></main>
<script>var tracking = "secretscript";</script></body></html>
HTML
printf 'Notes about the office coffee machine.\n' >"$T/hb/notes.txt"
printf 'hidden words zebra\n' >"$T/hb/.hidden/x.txt"
printf '\x00\x01\x02\x03binary' >"$T/hb/blob.bin"
printf '{"id": "rec-1", "title": "Quarterly numbers", "text": "Revenue grew in Q3."}\n{"id": "rec-2", "title": "Hiring", "text": "We hire engineers."}\n' >"$T/hb/records.jsonl"

expect 0 "ingest" -- "$LORE" ingest --tenant acme "$T/hb"
has "$ERR" "ingested"; has "$ERR" "blob.bin"; has "$ERR" "skipped"
expect 0 "re-ingest unchanged" -- "$LORE" ingest --tenant acme --quiet "$T/hb"
[ -z "$ERR" ] && ok || bad "quiet ingest printed: $ERR"
expect 0 "stats" -- "$LORE" stats --tenant acme; has "$OUT" "documents:       5"

expect 0 "search" -- "$LORE" search --tenant acme "parental leave"
has "$OUT" "1. Parental leave"; has "$OUT" "Eligibility"; has "$OUT" "\*\*parental\*\*"
expect 0 "search html" -- "$LORE" search --tenant acme "receipts"; has "$OUT" "Travel policy"
expect 0 "script dropped" -- "$LORE" search --tenant acme "secretscript"; hasnt "$OUT" "Travel"
expect 0 "hidden skipped" -- "$LORE" search --tenant acme zebra; hasnt "$OUT" "1."
expect 0 "jsonl id kept" -- "$LORE" search --tenant acme --json revenue
has "$OUT" '"external_id": "rec-1"'
expect 0 "dash query after --" -- "$LORE" search --tenant acme -- -coffee engineers
has "$OUT" "Hiring"; hasnt "$OUT" "coffee"
expect 0 "source filter" -- "$LORE" search --tenant acme --source nowhere leave; hasnt "$OUT" "1."

# --- get / delete by id
ID=$("$LORE" search --tenant acme --json revenue | grep -m1 '"id"' | sed 's/.*"id": "\([0-9a-f]*\)".*/\1/')
expect 0 "get" -- "$LORE" get --tenant acme "$ID"; has "$OUT" "Revenue grew"; has "$OUT" "rec-1"
expect 0 "get json" -- "$LORE" get --tenant acme --json "$ID"; has "$OUT" '"title": "Quarterly numbers"'
expect 1 "get bad id" -- "$LORE" get --tenant acme xyz; has "$ERR" "not a document id"
expect 2 "get missing" -- "$LORE" get --tenant acme 0000000000000000; has "$ERR" "no document"
expect 0 "delete" -- "$LORE" delete --tenant acme "$ID"
expect 0 "deleted gone" -- "$LORE" search --tenant acme revenue; hasnt "$OUT" "1."
expect 2 "delete again" -- "$LORE" delete --tenant acme "$ID"

# --- a changed file replaces its document under the same id
ID2=$("$LORE" search --tenant acme --json coffee | grep -m1 '"id"' | sed 's/.*"id": "\([0-9a-f]*\)".*/\1/')
printf 'Notes about the office tea kettle.\n' >"$T/hb/notes.txt"
expect 0 "re-ingest changed" -- "$LORE" ingest --tenant acme "$T/hb/notes.txt"; has "$ERR" "1 updated"
expect 0 "old words gone" -- "$LORE" search --tenant acme coffee; hasnt "$OUT" "1."
expect 0 "same id" -- "$LORE" search --tenant acme --json kettle; has "$OUT" "\"id\": \"$ID2\""

# --- ACL through the CLI
printf 'Salary bands for staff.\n' >"$T/salary.txt"
expect 0 "ingest acl" -- "$LORE" ingest --tenant acme --acl group:hr "$T/salary.txt"
expect 0 "as outsider" -- "$LORE" search --tenant acme --as user:bob@x.com salary; hasnt "$OUT" "1."
expect 0 "as member" -- "$LORE" search --tenant acme --as group:hr salary; has "$OUT" "1."
expect 1 "bad principal" -- "$LORE" ingest --tenant acme --acl bob "$T/salary.txt"; has "$ERR" "user:EMAIL"

# --- errors name the file; the rest goes on
printf '{"id": 1, "title": "x", "text": ' >"$T/broken.json"
expect 2 "broken json" -- "$LORE" ingest --tenant acme "$T/broken.json" "$T/hb/notes.txt"
has "$ERR" "broken.json"
expect 2 "missing path" -- "$LORE" ingest --tenant acme "$T/does-not-exist"; has "$ERR" "does-not-exist"

# --- JSON Lines stream: a bad line is reported by number, the others go in
{ echo '{"id":"s1","text":"alpha record"}'; echo '{"id":"s2","text":'; echo; \
  echo '{"id":"s3","text":"gamma record"}'; printf '{"id":"s4","text":"delta record"}'; } >"$T/stream.jsonl"
expect 2 "jsonl bad line" -- "$LORE" ingest --tenant acme "$T/stream.jsonl"
has "$ERR" "stream.jsonl: line 2:"; has "$ERR" "3 added"
expect 0 "jsonl others in" -- "$LORE" search --tenant acme record; has "$OUT" "gamma"; has "$OUT" "delta"

# --- field caps: an over-long id is refused by name, the other records go in
{ printf '{"id":"%05000d","text":"capped words"}\n' 0; echo '{"id":"fine","text":"capped fine"}'; } >"$T/caps.jsonl"
expect 2 "id cap" -- "$LORE" ingest --tenant acme "$T/caps.jsonl"; has "$ERR" "id is 5000 bytes; the limit is 4096"
expect 0 "capped others in" -- "$LORE" search --tenant acme --json capped; has "$OUT" '"external_id": "fine"'

# --- a walk names every error; the exit code counts errors only
mkdir -p "$T/many-bad" "$T/many-bin"
for i in $(seq 1 205); do printf '{"id": 1, "text": ' >"$T/many-bad/b$i.json"; done
for i in $(seq 1 205); do printf '\x00\x01\x02binary' >"$T/many-bin/b$i.bin"; done
# Every error is named, on every store (the job's blob holds every problem);
# notes past the first 200 are counted (jobs show lists them).
expect 2 "many problems" -- "$LORE" ingest --tenant acme "$T/many-bad"
[ "$(grep -c 'many-bad/b' <<<"$ERR")" -eq 205 ] && ok || bad "expected 205 error lines"
hasnt "$ERR" "more problems"
expect 0 "many notes" -- "$LORE" ingest --tenant acme "$T/many-bin"
[ "$(grep -c 'many-bin/b' <<<"$ERR")" -eq 200 ] && ok || bad "expected 200 note lines"
has "$ERR" "and 5 more notes (lore jobs show job_[0-9a-f]* lists them)"
has "$ERR" "205 skipped"

# --- bad queries
expect 1 "empty query" -- "$LORE" search --tenant acme ""; has "$ERR" "empty query"
expect 0 "stop words" -- "$LORE" search --tenant acme "the of"; has "$ERR" "stop words"

# --- tenant isolation and deletion
expect 0 "tenant b" -- "$LORE" tenant create beta
expect 0 "search other tenant" -- "$LORE" search --tenant beta parental; hasnt "$OUT" "1."
expect 0 "tenant list" -- "$LORE" tenant list; has "$OUT" "acme"; has "$OUT" "beta"
expect 0 "tenant delete" -- "$LORE" tenant delete beta --yes
expect 0 "acme intact" -- "$LORE" search --tenant acme parental; has "$OUT" "1."
if lore_store_pg; then # acme's schema and role are the only tenant ones left
  n=$(lore_store_sql "$LORE_DATA_DIR" "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'lore\_tenant\_%'")
  [ "$n" = 1 ] && ok || bad "tenant schemas after the delete: $n, want 1 (acme's)"
  n=$(lore_store_sql "$LORE_DATA_DIR" "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'lore\_%\_t%'")
  [ "$n" = 1 ] && ok || bad "tenant roles after the delete: $n, want 1 (acme's)"
else
  [ ! -e "$LORE_DATA_DIR/tenants/beta" ] && ok || bad "tenant directory left behind"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
