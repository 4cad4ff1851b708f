#!/usr/bin/env bash
# End-to-end tests of `lore reindex` and `lore jobs`: a re-index applies a
# changed title_weight (scores move, hits stay), runs as a job visible in
# `lore jobs list`, and `--no-wait` leaves it to a `lore worker`.
set -uo pipefail
LORE=${1:?usage: reindex.sh path/to/lore}
T=$(mktemp -d /tmp/lore-reindex-XXXXXX)
WPID=
trap '[ -n "$WPID" ] && kill -9 $WPID 2>/dev/null; rm -rf "$T"' EXIT
export LORE_DATA_DIR="$T/data"
unset LORE_CONFIG
source "$(dirname "$0")/../support/check.sh"
source "$(dirname "$0")/../support/store.sh"
lore_store_for "$LORE_DATA_DIR" # PostgreSQL runs: its own database

expect 0 "reindex --help" -- "$LORE" reindex --help; has "$OUT" "usage: lore reindex"
expect 1 "all and tenant" -- "$LORE" reindex --all --tenant x; has "$ERR" "exclude each other"
expect 0 "jobs --help" -- "$LORE" jobs --help; has "$OUT" "lore jobs list"
expect 1 "jobs unknown" -- "$LORE" jobs frob; has "$ERR" "unknown subcommand"
expect 1 "jobs bad state" -- "$LORE" jobs list --state nope; has "$ERR" "ready, leased, done, dead"

mkdir -p "$T/docs"
for i in $(seq 1 40); do
  printf '# Topic %d\n\nbody text about otters and rivers number %d\n' "$i" "$i" >"$T/docs/d$i.md"
done
printf '# Otters\n\nA page whose title is the query word.\n' >"$T/docs/title.md"
expect 0 "ingest" -- "$LORE" ingest --quiet "$T/docs"
expect 0 "search before" -- "$LORE" search otters --json --limit 50
before=$(grep -o '"score": *[0-9.e+-]*' <<<"$OUT" | head -1)
nbefore=$(grep -o '"id":' <<<"$OUT" | wc -l)
[ "$nbefore" -eq 41 ] && ok || bad "expected 41 hits before, got $nbefore"

# A heavier title weight, applied by re-indexing: the title match scores higher.
expect 0 "reindex" -- env LORE_TITLE_WEIGHT=10 "$LORE" reindex; has "$OUT" "re-indexed tenant default"
expect 0 "search after" -- env LORE_TITLE_WEIGHT=10 "$LORE" search otters --json --limit 50
after=$(grep -o '"score": *[0-9.e+-]*' <<<"$OUT" | head -1)
nafter=$(grep -o '"id":' <<<"$OUT" | wc -l)
[ "$nafter" -eq 41 ] && ok || bad "expected 41 hits after, got $nafter"
[ "$before" != "$after" ] && ok || bad "re-index did not change the top score ($before)"
expect 0 "jobs list" -- "$LORE" jobs list --state done; has "$OUT" "reindex"; has "$OUT" "path"

# --no-wait queues it; a lore worker runs it.
expect 0 "reindex no-wait" -- "$LORE" reindex --no-wait; has "$OUT" "queued re-index of tenant default"
id=$(grep -o 'job job_[0-9a-f]*' <<<"$OUT" | cut -d' ' -f2)
# job ids are opaque: job_ and 24 hex digits, never the queue's row number
[[ "$id" =~ ^job_[0-9a-f]{24}$ ]] && ok || bad "job id '$id' is not job_ and 24 hex digits"
expect 0 "job is ready" -- "$LORE" jobs show "$id"; has "$OUT" "state:        ready"
has "$OUT" "id:           $id"
expect 0 "jobs list shows it" -- "$LORE" jobs list --state ready; has "$OUT" "$id"
expect 1 "jobs show bad id" -- "$LORE" jobs show 12abc; has "$ERR" "not a job id"
expect 2 "jobs show unknown id" -- "$LORE" jobs show job_0123456789abcdef01234567; has "$ERR" "no job"
# the row numbers of jobs queued since ids became opaque name nothing
expect 2 "jobs show a row number" -- "$LORE" jobs show 1; has "$ERR" "no job 1"
"$LORE" worker --workers 1 >"$T/worker.out" 2>&1 &
WPID=$!
for _ in $(seq 1 100); do
  "$LORE" jobs show "$id" 2>/dev/null | grep -q "state:        done" && break
  sleep 0.1
done
expect 0 "job done by the worker" -- "$LORE" jobs show "$id"; has "$OUT" "state:        done"
has "$OUT" "worker:       worker:"
kill -TERM $WPID; wait $WPID; rc=$?; WPID=
[ "$rc" -eq 0 ] && ok || bad "worker exit $rc on SIGTERM"
has "$(cat "$T/worker.out")" "stopped after finishing"
expect 0 "search still" -- "$LORE" search otters --json --limit 50
n=$(grep -o '"id":' <<<"$OUT" | wc -l)
[ "$n" -eq 41 ] && ok || bad "expected 41 hits after the second re-index, got $n"
expect 0 "purge done" -- "$LORE" jobs purge --state done; has "$OUT" "job(s) purged"
expect 0 "jobs empty" -- "$LORE" jobs list --state done
[ "$(wc -l <<<"$OUT")" -eq 1 ] && ok || bad "done jobs left after purge: $OUT"

echo "reindex.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
