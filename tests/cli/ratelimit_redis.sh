#!/usr/bin/env bash
# Two `lore serve` processes on one data directory and one Redis (a
# redis-server started here on a free loopback port, stopped at the end):
#   - a key's budget is shared: the 2xx across both nodes stay within it;
#   - Redis stopped: both keep serving on memory limits, /health/ready says
#     "degraded" with the reason, one warning each, the metrics show it;
#   - Redis back: shared again by itself, /health/ready "ready";
#   - a key revoked through one node is refused by the other at once;
#   - redis_url as secret:NAME; a wrong password stops `lore serve` with an
#     error naming redis_url; the URL's password is never printed.
set -uo pipefail
LORE=${1:?usage: ratelimit_redis.sh path/to/lore}
T=$(mktemp -d /tmp/lore-rlredis-XXXXXX)
PIDS=() RPID=
cleanup() {
  for p in "${PIDS[@]}" $RPID; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
unset LORE_CONFIG
export LORE_DATA_DIR="$T/data" LORE_ACCESS_LOG=0 LORE_WORKERS=-1
source "$(dirname "$0")/../support/store.sh"
lore_store_for "$LORE_DATA_DIR" # PostgreSQL runs: one database for both nodes
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }

if ! command -v redis-server >/dev/null; then
  echo "FAIL: redis-server is not installed (make deps / scripts/deps.sh installs it)" >&2
  exit 1
fi

# A free port: the kernel picks one for a listener we close at once.
free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
  echo 0
}

# start_redis [args]: redis-server on $RPORT. 0 once its own log says it
# accepts connections (a port another process holds would answer a probe
# too); 1 when it exits (the port was taken) or is not up in 60 s.
start_redis() {
  : >"$T/redis.log"
  redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$T" \
    --logfile "$T/redis.log" --daemonize no "$@" >/dev/null 2>&1 &
  RPID=$!
  for _ in $(seq 1200); do
    grep -q "Ready to accept connections" "$T/redis.log" 2>/dev/null && return 0
    kill -0 "$RPID" 2>/dev/null || { wait "$RPID" 2>/dev/null; RPID=; return 1; }
    sleep 0.05
  done
  stop_redis
  return 1
}
stop_redis() { kill -9 "$RPID" 2>/dev/null; wait "$RPID" 2>/dev/null; RPID=; }

# start_node NAME [env...]: waits for "listening"; sets PORT_<NAME>
start_node() {
  local name=$1; shift
  env "$@" "$LORE" serve --listen 127.0.0.1:0 >"$T/$name.out" 2>"$T/$name.err" &
  PIDS+=($!)
  eval "PID_$name=$!"
  for _ in $(seq 200); do
    grep -q "listening on" "$T/$name.out" && break
    kill -0 "$!" 2>/dev/null || break
    sleep 0.05
  done
  eval "PORT_$name=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$T/$name.out")"
}

code() { # node key path -> HTTP status
  local port_var="PORT_$1"
  curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $2" \
    "http://127.0.0.1:${!port_var}$3"
}
health() { local port_var="PORT_$1"; curl -s "http://127.0.0.1:${!port_var}/health/ready"; }

# burst KEY N: N reads on each node, interleaved; sets OK_A OK_B (2xx) and MS
burst() {
  OK_A=0 OK_B=0
  local t0 c
  t0=$(date +%s%N)
  for _ in $(seq "$2"); do
    c=$(code A "$1" /v1/sources); [ "$c" = 200 ] && OK_A=$((OK_A + 1))
    c=$(code B "$1" /v1/sources); [ "$c" = 200 ] && OK_B=$((OK_B + 1))
  done
  MS=$((($(date +%s%N) - t0) / 1000000))
}
# The budget of 6 reads a minute: a burst of 10, one more every 10 s.
budget() { echo $((10 + MS / 10000 + 1)); }

# A port taken between free_port and the start: another port, not a retry
# of the test.
for _ in 1 2 3 4 5; do
  RPORT=$(free_port)
  start_redis && break
done
[ -n "$RPID" ] || { echo "FAIL: redis-server did not start: $(tail -3 "$T/redis.log")" >&2; exit 1; }
"$LORE" tenant create default >/dev/null 2>&1
READ=$("$LORE" key create --tenant default --scope read 2>/dev/null)
ADMIN=$("$LORE" key create --tenant default --scope admin 2>/dev/null)
check '[[ "$READ" =~ ^lore_ && "$ADMIN" =~ ^lore_ ]]' "keys made: $READ $ADMIN"

# --- redis_url as secret:NAME (its password never printed)
"$LORE" secrets set redis.url --server <<<"redis://:unused@127.0.0.1:$RPORT/0" >/dev/null 2>&1
check '[ $? -eq 0 ]' "stored the Redis URL as a secret"
LORE_REDIS_URL="redis://:unused@127.0.0.1:$RPORT" "$LORE" config >"$T/config.out" 2>&1
check 'grep -q "^redis_url" "$T/config.out" && ! grep -q "unused" "$T/config.out"' \
  "lore config masks the Redis URL: $(grep redis_url "$T/config.out")"
# the stored URL has a password Redis does not ask for: Redis 7 answers
# AUTH without requirepass with an error, so the node refuses to start
start_node S LORE_REDIS_URL=secret:redis.url LORE_RATE_READ_PER_MIN=6
wait "$PID_S" 2>/dev/null; rc=$?
check '[ $rc -eq 2 ]' "a refused AUTH stops lore serve (exit $rc)"
check 'grep -q "redis_url" "$T/S.err" && grep -q "AUTH" "$T/S.err"' \
  "the error names redis_url and AUTH: $(cat "$T/S.err")"
check '! grep -q "unused" "$T/S.err"' "the password is not in the error"
"$LORE" secrets set redis.url --server <<<"redis://127.0.0.1:$RPORT/0" >/dev/null 2>&1

export LORE_RATE_READ_PER_MIN=6
start_node A LORE_REDIS_URL=secret:redis.url
start_node B LORE_REDIS_URL="redis://127.0.0.1:$RPORT/0"
check '[ -n "$PORT_A" ] && [ -n "$PORT_B" ]' "both nodes started: $(cat "$T/A.err" "$T/B.err")"
check 'health A | grep -q "\"status\":\"ready\""' "node A ready: $(health A)"

# --- one budget across both nodes
burst "$READ" 15
total=$((OK_A + OK_B)) max=$(budget)
check '[ $total -le $max ]' "2xx across nodes ($OK_A + $OK_B = $total) within the budget ($max)"
check '[ $total -ge 10 ]' "the burst of 10 was served ($total)"
check '[ $OK_A -gt 0 ] && [ $OK_B -gt 0 ]' "both nodes served some ($OK_A, $OK_B)"
echo "shared: $OK_A + $OK_B = $total of 30 reads allowed in $MS ms (budget $max)"
n=$(redis-cli -p "$RPORT" --scan --pattern 'lore:ratelimit:key:*:read' | wc -l)
check '[ "$n" = 1 ]' "one bucket in Redis for the key ($n)"
ttl=$(redis-cli -p "$RPORT" --scan --pattern 'lore:ratelimit:key:*:read' | head -1 |
  xargs redis-cli -p "$RPORT" pttl)
check '[ "$ttl" -gt 0 ] && [ "$ttl" -le 100000 ]' "the bucket expires at its time-to-full ($ttl ms)"

# --- Redis stopped: memory limits, degraded, one warning
stop_redis
c=$(code A "$READ" /v1/sources)
check '[ "$c" = 200 ]' "node A serves with Redis down (got $c)"
h=$(health A)
check 'grep -q "\"status\":\"degraded\"" <<<"$h"' "health degraded: $h"
check 'grep -q "Redis is unreachable" <<<"$h"' "the reason names Redis: $h"
check '! grep -q "127.0.0.1:$RPORT" <<<"$h"' "the reason (no key needed) does not give Redis's address: $h"
hc=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT_A/health/ready")
check '[ "$hc" = 200 ]' "degraded is still HTTP 200 ($hc)"
burst "$READ" 12
# each node's own bucket: full at the outage (node A spent one above), one
# more token every 10 s of the burst
more=$((MS / 10000 + 1))
check '[ $OK_A -ge 9 ] && [ $OK_A -le $((9 + more)) ] && [ $OK_B -ge 10 ] && [ $OK_B -le $((10 + more)) ]' \
  "each node limits alone in memory ($OK_A, $OK_B of 12 in $MS ms)"
for n in A B; do
  w=$(grep -c "unavailable since" "$T/$n.err")
  check '[ "$w" = 1 ]' "node $n warned once about the outage ($w)"
done
m=$(curl -s "http://127.0.0.1:$PORT_A/metrics")
check 'grep -q "^lore_ratelimit_redis_up 0" <<<"$m"' "metric: Redis down"
check 'grep -Eq "^lore_ratelimit_fallback_decisions_total [1-9]" <<<"$m"' "metric: fallbacks"
check 'grep -Eq "^lore_ratelimit_redis_errors_total [1-9]" <<<"$m"' "metric: errors"

# --- Redis back: shared again by itself
start_redis || bad "redis-server did not restart"
sleep 2.5 # one probe interval
code A "$ADMIN" /v1/keys >/dev/null
code B "$ADMIN" /v1/keys >/dev/null
check 'health A | grep -q "\"status\":\"ready\""' "node A ready again: $(health A)"
check 'health B | grep -q "\"status\":\"ready\""' "node B ready again: $(health B)"
for n in A B; do
  check 'grep -q "reachable again" "$T/$n.err"' "node $n logged the return"
done
burst "$READ" 15
total=$((OK_A + OK_B)) max=$(budget)
check '[ $total -le $max ] && [ $total -ge 10 ]' "shared again: $OK_A + $OK_B = $total within $max"
m=$(curl -s "http://127.0.0.1:$PORT_B/metrics")
check 'grep -q "^lore_ratelimit_redis_up 1" <<<"$m"' "metric: Redis up"

# --- a key revoked through node A is refused by node B at its next request
K2=$("$LORE" key create --tenant default --scope read 2>/dev/null)
ID2=$(cut -d_ -f2 <<<"$K2")
check '[ "$(code B "$K2" /v1/sources)" = 200 ]' "node B accepts the new key"
c=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "Authorization: Bearer $ADMIN" \
  "http://127.0.0.1:$PORT_A/v1/keys/$ID2")
check '[ "$c" = 204 ] || [ "$c" = 200 ]' "node A revokes it (got $c)"
c=$(code B "$K2" /v1/sources)
check '[ "$c" = 401 ]' "node B refuses the revoked key at once (got $c)"

# --- a wrong password: lore serve stops with a clear error
kill -TERM "$PID_A" "$PID_B"; wait "$PID_A" "$PID_B" 2>/dev/null
stop_redis
start_redis --requirepass right-one || bad "redis-server with requirepass did not start"
start_node W LORE_REDIS_URL="redis://:wrong-one@127.0.0.1:$RPORT"
wait "$PID_W" 2>/dev/null; rc=$?
check '[ $rc -eq 2 ]' "wrong password: exit 2 (got $rc)"
check 'grep -q "WRONGPASS" "$T/W.err" && grep -q "check the password in redis_url" "$T/W.err"' \
  "the error says what to fix: $(cat "$T/W.err")"
check '! grep -q "wrong-one" "$T/W.err"' "the password is not printed"
start_node N LORE_REDIS_URL="redis://127.0.0.1:$RPORT"
wait "$PID_N" 2>/dev/null; rc=$?
check '[ $rc -eq 2 ] && grep -q "set the password in redis_url" "$T/N.err"' \
  "no password where one is needed: $(cat "$T/N.err")"
start_node G LORE_REDIS_URL="redis://:right-one@127.0.0.1:$RPORT"
check '[ -n "$PORT_G" ] && health G | grep -q "\"status\":\"ready\""' "the right password works"
kill -TERM "$PID_G"; wait "$PID_G" 2>/dev/null
check '! grep -q "right-one" "$T/G.out" "$T/G.err"' "the password is not printed"
start_node U LORE_REDIS_URL="http://127.0.0.1:$RPORT"
wait "$PID_U" 2>/dev/null; rc=$?
check '[ $rc -eq 1 ] && grep -q "redis_url must start with redis://" "$T/U.err"' \
  "a bad URL is refused: $(cat "$T/U.err")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
