#!/usr/bin/env bash
# Idle workers on PostgreSQL are woken by LISTEN/NOTIFY, not by polling
# (docs/jobs.md, "Workers"): a `lore worker` whose own polls are set to a
# day (job_poll_ms, job_wake_poll_s) runs the jobs that a `lore serve` with
# no workers of its own enqueues, round after round; only a notification
# can have woken it. Its LISTEN connection killed (pg_terminate_backend),
# it warns once, listens again by itself, and the next write is run too.
# SIGTERM stops it cleanly (its wait is cancelled, not sat out). Runs
# under tests/support/pg.sh (a throwaway PostgreSQL), starting it itself.
# Waits have generous caps (120 s); nothing is timed.
set -uo pipefail
LORE=${1:?usage: pg_wake.sh path/to/lore}
if [ -z "${LORE_TEST_PG_URL:-}" ]; then
  exec bash "$(dirname "$0")/../support/pg.sh" bash "$0" "$@"
fi
T=$(mktemp -d /tmp/lore-pgwake-XXXXXX)
WPID= SPID=
cleanup() {
  for p in $WPID $SPID; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
unset LORE_CONFIG LORE_MODE LORE_MASTER_KEY
export LORE_DATA_DIR="$T/data" LORE_STORE_URL="$LORE_TEST_PG_URL" LORE_ACCESS_LOG=0
mkdir -p "$LORE_DATA_DIR"
source "$(dirname "$0")/../support/check.sh"
ADMIN=$LORE_TEST_PG_ADMIN

# wait_for CMD...: runs CMD every 0.1 s until it succeeds, at most 120 s.
wait_for() { # CMD...: every 0.1 s until it succeeds, for at most 120 s
  local end=$((SECONDS + 120))
  until "$@"; do
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.1
  done
}
logged() { grep -q -- "$1" "$T/worker.err"; }
# gone PID: the process has exited (a zombie not yet waited for counts)
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null; }

expect 0 "tenant create" -- "$LORE" tenant create acme
expect 0 "key create" -- "$LORE" key create --tenant acme --scope read,write
KEY=$(grep -o 'lore_[0-9a-f]\{12\}_[A-Za-z0-9_-]\{43\}' <<<"$OUT" | head -1)
[ -n "$KEY" ] && ok || bad "no key in: $OUT"

# The worker: one thread, its own look for jobs once a day.
env LORE_JOB_POLL_MS=86400000 LORE_JOB_WAKE_POLL_S=86400 LORE_LOG_LEVEL=info \
  "$LORE" worker --workers 1 >"$T/worker.out" 2>"$T/worker.err" &
WPID=$!
wait_for logged "woken by the store (LISTEN)" && ok ||
  bad "the worker never listened: $(cat "$T/worker.err")"

# The server: accepts writes, runs none.
LORE_WORKERS=-1 "$LORE" serve --listen 127.0.0.1:0 >"$T/serve.out" 2>"$T/serve.err" &
SPID=$!
wait_for grep -qs "listening on" "$T/serve.out"
PORT=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$T/serve.out")
[ -n "$PORT" ] && ok || bad "serve did not start: $(cat "$T/serve.err")"
B="http://127.0.0.1:$PORT"

put() { # put WORD: one document about WORD; prints the HTTP code
  curl -s -o "$T/put.json" -w '%{http_code}' -H "Authorization: Bearer $KEY" \
    -H 'Content-Type: application/json' -X POST "$B/v1/documents" \
    -d "{\"documents\":[{\"id\":\"$1\",\"title\":\"$1\",\"text\":\"A note about $1 and nothing else.\"}]}"
}
found() { # found WORD: the document is searchable
  curl -s -H "Authorization: Bearer $KEY" "$B/v1/search?q=$1" | jq -e '.hits | length > 0' >/dev/null
}
round() { # round WORD: written through serve, run by the worker
  local code
  code=$(put "$1")
  [ "$code" = 202 ] && ok || bad "write $1: $code $(cat "$T/put.json")"
  wait_for found "$1" && ok || bad "$1 was never run: worker log: $(tail -5 "$T/worker.err")"
}

# Each round's job is enqueued while the worker sleeps (the one before it
# is done, so the worker has claimed and found nothing since).
for word in aardvark bandicoot capybara; do round "$word"; done

# The LISTEN connection dies: one warning, back by itself, woken again.
killed=$(psql -qAtX "$ADMIN" -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
  WHERE datname = 'lore' AND query LIKE 'LISTEN lore_jobs%'")
[ "$killed" = 1 ] && ok || bad "terminated $killed LISTEN sessions, want 1"
wait_for logged "job wake-ups (LISTEN lore_jobs) are back" && ok ||
  bad "the worker did not listen again: $(cat "$T/worker.err")"
n=$(grep -c "job wake-ups (LISTEN lore_jobs):" "$T/worker.err")
[ "$n" = 1 ] && ok || bad "$n warnings about the lost LISTEN, want 1: $(cat "$T/worker.err")"
round dormouse

# SIGTERM: the worker stops (its wait is cancelled) and exits 0.
kill -TERM "$WPID"
wait_for gone "$WPID" && ok || bad "the worker did not stop on SIGTERM"
wait "$WPID"
rc=$?
WPID=
[ "$rc" = 0 ] && ok || bad "worker exit $rc: $(tail -5 "$T/worker.err")"
grep -q "ERROR\|AddressSanitizer" "$T/worker.err" && bad "worker errors: $(cat "$T/worker.err")" || ok
finish
