#!/usr/bin/env bash
# lore through PgBouncer in transaction mode (docs/storage.md, "PgBouncer"):
# a pgbouncer started here on a free loopback port (pool_mode transaction,
# SCRAM auth with the role's secret read from the server, four server
# connections for many clients) in front of a throwaway PostgreSQL
# (tests/support/pg.sh, which this script starts itself). Through it, with
# the store URL's listen=off:
#   - the store is created, a tenant and a key made;
#   - lore migrate --status sees a pending migration, two lore migrate at
#     once apply it once (transaction-scoped advisory locks), --status is
#     then up to date;
#   - lore serve (no workers) takes writes, a lore worker runs them, and
#     every document is searchable; both were clients of the pgbouncer, and
#     the worker did not LISTEN;
#   - a worker without listen=off finds its LISTEN deaf (lore's probe never
#     comes back), says so, and polls: the next writes are run too.
set -uo pipefail
LORE=${1:?usage: pgbouncer.sh path/to/lore}
if [ -z "${LORE_TEST_PG_URL:-}" ]; then
  exec bash "$(dirname "$0")/../support/pg.sh" bash "$0" "$@"
fi
if ! command -v pgbouncer >/dev/null; then
  echo "FAIL: pgbouncer is not installed (scripts/deps.sh installs it)" >&2
  exit 1
fi
T=$(mktemp -d /tmp/lore-pgbouncer-XXXXXX)
BPID= SPID= WPID=
cleanup() {
  for p in $SPID $WPID $BPID; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
unset LORE_CONFIG LORE_MODE LORE_MASTER_KEY
export LORE_DATA_DIR="$T/data" LORE_ACCESS_LOG=0
mkdir -p "$LORE_DATA_DIR"
source "$(dirname "$0")/../support/check.sh"
ADMIN=$LORE_TEST_PG_ADMIN
PGPORT=$(sed -n 's|.*@127\.0\.0\.1:\([0-9]*\)/.*|\1|p' <<<"$LORE_TEST_PG_URL")

wait_for() { # CMD...: every 0.1 s until it succeeds, for at most 120 s
  local end=$((SECONDS + 120))
  until "$@"; do
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.1
  done
}
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
server_sql() { psql -qAtX "${ADMIN%/postgres}/lore" "$@"; } # as the superuser, not through pgbouncer

# --- pgbouncer: transaction pooling, SCRAM with the role's stored secret
# (clients prove the password to pgbouncer, which logs in to the server
# with the keys of that exchange: no plain password in its files).
SECRET=$(server_sql -c "SELECT rolpassword FROM pg_authid WHERE rolname = 'lore'")
[[ "$SECRET" == SCRAM-SHA-256* ]] && ok || bad "the role's secret is not SCRAM: $SECRET"
printf '"lore" "%s"\n' "$SECRET" >"$T/userlist.txt"
start_bouncer() {
  BPORT=$(free_port)
  cat >"$T/pgbouncer.ini" <<INI
[databases]
lore = host=127.0.0.1 port=$PGPORT dbname=lore
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BPORT
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $T/userlist.txt
admin_users = lore
pool_mode = transaction
default_pool_size = 4
max_client_conn = 400
logfile = $T/pgbouncer.log
INI
  # PgBouncer refuses to run as root: -u makes it the server's user (in the
  # same process, so BPID is pgbouncer itself and the cleanup stops it).
  local as=()
  if [ "$(id -u)" = 0 ]; then
    chown -R postgres "$T"
    as=(-u postgres)
  fi
  pgbouncer "${as[@]}" "$T/pgbouncer.ini" >"$T/pgbouncer.out" 2>&1 &
  BPID=$!
  wait_for bash -c "exec 3<>/dev/tcp/127.0.0.1/$BPORT" 2>/dev/null
}
for _ in 1 2 3; do start_bouncer && break; kill "$BPID" 2>/dev/null; BPID=; done
[ -n "$BPID" ] && ok || bad "pgbouncer did not start: $(cat "$T/pgbouncer.out" "$T/pgbouncer.log")"
BOUNCER="postgresql://lore:lore@127.0.0.1:$BPORT"
bouncer_sql() { psql -qAtX "$BOUNCER/pgbouncer" -c "$1"; }
export LORE_STORE_URL="$BOUNCER/lore?listen=off&pool_max=12"
mode=$(bouncer_sql "SHOW CONFIG" | awk -F'|' '$1 == "pool_mode" {print $2}')
[ "$mode" = transaction ] && ok || bad "pool mode '$mode'"

# --- the store, a tenant, a key
expect 0 "tenant create" -- "$LORE" tenant create acme
expect 0 "key create" -- "$LORE" key create --tenant acme --scope read,write,admin
KEY=$(grep -o 'lore_[0-9a-f]\{12\}_[A-Za-z0-9_-]\{43\}' <<<"$OUT" | head -1)
[ -n "$KEY" ] && ok || bad "no key in: $OUT"

# --- migrations: the control store made one version older (its last
# migration undone on the server directly), then migrated through pgbouncer.
LAST=$(server_sql -c "SELECT max(version) FROM lore.schema_migrations")
server_sql -v ON_ERROR_STOP=1 \
  -c "DELETE FROM lore.schema_migrations WHERE version = $LAST" \
  -c "DROP TABLE lore.blob_chunks, lore.blobs" && ok || bad "cannot undo migration $LAST"
expect 0 "status, pending" -- "$LORE" migrate --status
has "$OUT" "^control .* pending"; has "$OUT" "migration(s) pending: run lore migrate"
for r in 1 2; do
  "$LORE" migrate >"$T/m$r.out" 2>"$T/m$r.err" &
  eval "MP$r=\$!"
done
for r in 1 2; do
  eval "wait \$MP$r" && ok || bad "concurrent migrate $r failed: $(cat "$T/m$r.err")"
done
rows=$(server_sql -c \
  "SELECT count(*) || '/' || max(version) FROM lore.schema_migrations")
[ "$rows" = "$LAST/$LAST" ] && ok || bad "schema_migrations $rows, want $LAST/$LAST"
expect 0 "status, after" -- "$LORE" migrate --status
has "$OUT" "^up to date$"; hasnt "$OUT" "pending"

# --- serve (no workers) and a worker, both through pgbouncer
LORE_WORKERS=-1 "$LORE" serve --listen 127.0.0.1:0 >"$T/serve.out" 2>"$T/serve.err" &
SPID=$!
LORE_LOG_LEVEL=info "$LORE" worker --workers 2 >"$T/worker.out" 2>"$T/worker.err" &
WPID=$!
wait_for grep -qs "listening on" "$T/serve.out"
PORT=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$T/serve.out")
[ -n "$PORT" ] && ok || bad "serve did not start: $(cat "$T/serve.err")"
B="http://127.0.0.1:$PORT"
H=(-H "Authorization: Bearer $KEY")

N=0
put_batch() { # ten more documents, d(N+1)..d(N+10), about walrus<n>
  local docs="" i
  for i in 1 2 3 4 5 6 7 8 9 10; do
    N=$((N + 1))
    docs+="${docs:+,}{\"id\":\"d$N\",\"title\":\"doc $N\",\"text\":\"Note $N about walrus$N and the tide.\"}"
  done
  code=$(curl -s -o "$T/put.json" -w '%{http_code}' "${H[@]}" -H 'Content-Type: application/json' \
    -X POST "$B/v1/documents" -d "{\"documents\":[$docs]}")
  [ "$code" = 202 ] && ok || bad "write up to d$N: $code $(cat "$T/put.json")"
}
for _ in 1 2 3 4 5; do put_batch; done
total() { curl -s "${H[@]}" "$B/v1/stats" | jq -e ".documents == $N" >/dev/null; }
wait_for total && ok || bad "not all $N documents ingested: $(curl -s "${H[@]}" "$B/v1/stats")"
for n in 1 17 50; do
  hits=$(curl -s "${H[@]}" "$B/v1/search?q=walrus$n" | jq -r '[.hits[].external_id] | join(",")')
  [ "$hits" = "d$n" ] && ok || bad "search walrus$n: '$hits'"
done
clients=$(bouncer_sql "SHOW CLIENTS" | awk -F'|' '$3 == "lore"' | wc -l)
[ "$clients" -ge 2 ] && ok || bad "$clients lore clients on pgbouncer"
# listen=off: the workers poll (LISTEN through transaction pooling would
# leave them deaf, waiting job_wake_poll_s between looks).
hasnt "$(cat "$T/worker.err")" "woken by the store"

kill -TERM "$WPID"
wait "$WPID"; rw=$?
WPID=
[ "$rw" = 0 ] && ok || bad "worker exit $rw"

# --- without listen=off the LISTEN would be deaf: lore's probe (a NOTIFY
# to a channel of the listener's own) never comes back, so the worker says
# so and polls; the writes are still run.
LORE_STORE_URL="$BOUNCER/lore?pool_max=12" LORE_LOG_LEVEL=info \
  "$LORE" worker --workers 1 >"$T/deaf.out" 2>"$T/deaf.err" &
WPID=$!
wait_for grep -qs "job wake-ups are off" "$T/deaf.err" && ok ||
  bad "no word of the deaf LISTEN: $(cat "$T/deaf.err")"
hasnt "$(cat "$T/deaf.err")" "woken by the store"
put_batch
wait_for total && ok || bad "the polling worker did not run d$N: $(curl -s "${H[@]}" "$B/v1/stats")"

kill -TERM "$SPID" "$WPID"
wait "$SPID"; rs=$?
wait "$WPID"; rw=$?
SPID= WPID=
[ "$rs" = 0 ] && [ "$rw" = 0 ] && ok || bad "serve exit $rs, worker exit $rw"
for f in serve worker deaf; do
  grep -q "error:\|ERROR\|AddressSanitizer" "$T/$f.err" && bad "$f errors: $(cat "$T/$f.err")" || ok
done
finish
