#!/usr/bin/env bash
# End-to-end tests of `lore serve` as a process: --help and usage errors,
# the first start (URL and a key printed once, not again on restart), a
# clean stop on SIGTERM, and a second signal stopping at once while a
# request is still in flight.
set -uo pipefail
LORE=${1:?usage: serve.sh path/to/lore}
T=$(mktemp -d /tmp/lore-serve-XXXXXX)
PID=
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
export LORE_DATA_DIR="$T/data"
unset LORE_CONFIG
source "$(dirname "$0")/../support/store.sh"
lore_store_for "$LORE_DATA_DIR" # PostgreSQL runs: its own database
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }

# --- help and usage errors
"$LORE" serve --help >"$T/out" 2>&1; check '[ $? -eq 0 ]' "serve --help exit code"
check 'grep -q "usage: lore serve" "$T/out"' "serve --help shows usage"
"$LORE" serve --listen nowhere >/dev/null 2>"$T/err"; rc=$?
check '[ $rc -eq 1 ]' "bad --listen exits 1 (got $rc)"
check 'grep -q "needs a port" "$T/err"' "bad --listen says why: $(cat "$T/err")"
"$LORE" serve --listen 127.0.0.1:99999 >/dev/null 2>"$T/err"; rc=$?
check '[ $rc -eq 1 ]' "port out of range exits 1"
"$LORE" serve extra >/dev/null 2>&1; rc=$?
check '[ $rc -eq 1 ]' "positional argument exits 1"

# start: waits for the "listening" line; sets PID and PORT
start() {
  : >"$T/out"
  "$LORE" serve --listen 127.0.0.1:0 >"$T/out" 2>"$T/err" &
  PID=$!
  for _ in $(seq 100); do
    grep -q "listening on" "$T/out" && break
    sleep 0.05
  done
  PORT=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$T/out")
}

# --- first start: key printed once; SIGTERM stops cleanly (exit 0)
start
check '[ -n "$PORT" ]' "server printed its URL"
KEY=$(sed -n 's/^admin key (shown once, keep it): //p' "$T/out")
check '[[ "$KEY" =~ ^lore_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$ ]]' "first start prints an admin key"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT/v1/sources")
check '[ "$code" = 200 ]' "the printed key works (got $code)"
kill -TERM "$PID"; wait "$PID"; rc=$?; PID=
check '[ $rc -eq 0 ]' "SIGTERM stops with exit 0 (got $rc)"
check 'grep -q "stopped" "$T/err"' "the stop is logged"

# --- restart: no new key
start
check '! grep -q "admin key" "$T/out"' "no key printed on a later start"
check 'grep -q "default" <(curl -s -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT/v1/tenants")' "the first key still works after a restart"

# --- a request in flight (a body that has not finished) keeps the drain
# waiting; a second signal stops at once with exit 1
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
printf 'POST /v1/search HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"qu' "$KEY" >&3
sleep 0.3
kill -TERM "$PID"
sleep 0.5
check 'kill -0 "$PID" 2>/dev/null' "the server waits for the request in flight"
t0=$(date +%s%N)
kill -INT "$PID"; wait "$PID"; rc=$?; PID=
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check '[ $rc -eq 1 ]' "a second signal exits 1 (got $rc)"
check '[ $ms -lt 2000 ]' "a second signal exits at once (took $ms ms)"
check 'grep -q "second signal" "$T/err"' "the second signal is logged"
exec 3>&-

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
