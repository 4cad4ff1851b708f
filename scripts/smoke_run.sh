#!/usr/bin/env bash
# Smoke test of the README's run command, `make run`, as a user types it (CI
# runs it after `make test`). It starts `make run` in the background on a free
# port (LORE_LISTEN=127.0.0.1:0: the kernel picks it, the server prints it) with
# a fresh data directory, waits for /health/ready, searches the sample data with
# the admin key the server printed, stops the server with SIGTERM and checks
# that both the server and `make run` exit 0. Then `make install` into a
# temporary PREFIX must give a working `lore`.
#
# Every wait is bounded; on failure the run's output is printed.
set -uo pipefail
cd "$(dirname "$0")/.."

T=$(mktemp -d /tmp/lore-smoke-XXXXXX)
MAKE_PID=
cleanup() {
    if [ -n "$MAKE_PID" ] && kill -0 "$MAKE_PID" 2>/dev/null; then
        pkill -KILL -P "$MAKE_PID" 2>/dev/null
        kill -KILL "$MAKE_PID" 2>/dev/null
    fi
    rm -rf "$T"
}
trap cleanup EXIT

fail() {
    echo "smoke_run: FAIL: $*" >&2
    echo "---- make run output ----" >&2
    cat "$T/run.log" >&2 2>/dev/null
    exit 1
}

started=$(date +%s.%N)
LORE_LISTEN=127.0.0.1:0 make --no-print-directory run DATA_DIR="$T/lore-data" \
    >"$T/run.log" 2>&1 </dev/null &
MAKE_PID=$!

# make builds the binary first (a no-op after `make test`), indexes the sample
# data, then the server prints its key and its URL.
URL=
for _ in $(seq 1 1800); do
    URL=$(grep -o 'listening on http://[^ ]*' "$T/run.log" 2>/dev/null | head -1 | cut -d' ' -f3)
    [ -n "$URL" ] && break
    kill -0 "$MAKE_PID" 2>/dev/null || fail "make run exited before the server listened"
    sleep 0.2
done
[ -n "$URL" ] || fail "no 'listening on' line within 360 s"
KEY=$(grep -o 'admin key (shown once, keep it): lore_[A-Za-z0-9_-]*' "$T/run.log" | awk '{print $NF}')
[ -n "$KEY" ] || fail "the first start printed no admin key"

ready=
for _ in $(seq 1 150); do
    code=$(curl -s -o "$T/ready.json" -w '%{http_code}' "$URL/health/ready") || code=000
    if [ "$code" = 200 ]; then ready=1; break; fi
    sleep 0.2
done
[ -n "$ready" ] || fail "/health/ready never answered 200 at $URL"
up=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')

code=$(curl -s -o "$T/search.json" -w '%{http_code}' -H "Authorization: Bearer $KEY" \
    "$URL/v1/search?q=how+are+chunks+split")
[ "$code" = 200 ] || fail "search answered $code: $(cat "$T/search.json")"
grep -q '"hits": *\[ *{' "$T/search.json" || fail "search of the sample data found nothing: $(cat "$T/search.json")"
grep -q 'chunk' "$T/search.json" || fail "the hits do not mention chunks: $(cat "$T/search.json")"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/search?q=chunks")
[ "$code" = 401 ] || fail "a search without the key answered $code, not 401"

# The server is a descendant of make (through the recipe's shell and run.sh,
# which execs it).
descendants() {
    local c
    for c in $(pgrep -P "$1"); do
        echo "$c"
        descendants "$c"
    done
}
LORE_PID=
for p in $(descendants "$MAKE_PID"); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = lore ] && LORE_PID=$p && break
done
[ -n "$LORE_PID" ] || fail "cannot find the lore process under make (pid $MAKE_PID)"
kill -TERM "$LORE_PID"
for _ in $(seq 1 300); do
    kill -0 "$MAKE_PID" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$MAKE_PID" 2>/dev/null && fail "the server did not stop within 30 s of SIGTERM"
wait "$MAKE_PID"
rc=$?
MAKE_PID=
[ "$rc" = 0 ] || fail "make run exited $rc after SIGTERM, not 0"
grep -q 'lore: stopped' "$T/run.log" || fail "the server did not log its stop"

make --no-print-directory install PREFIX="$T/prefix" >"$T/install.log" 2>&1 ||
    fail "make install: $(cat "$T/install.log")"
"$T/prefix/bin/lore" --version | grep -q '^lore ' || fail "the installed lore does not run"

echo "smoke_run: make run ready in $up s at $URL, searched, stopped with exit 0; make install works"
