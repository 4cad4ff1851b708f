#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL: tests/support/pg.sh CMD [ARGS...]
#
# initdb in a temporary directory (as the `postgres` user when run as root:
# PostgreSQL refuses to run as root), the server on 127.0.0.1 at a free
# port with its socket in that directory, fsync off (a test server loses
# nothing that matters). It creates the role `lore` as lore runs in
# production: LOGIN, CREATEROLE (tenant roles, docs/storage.md) and
# CREATEDB (tests make a fresh database each), no superuser, password auth
# over TCP; and a database `lore` it owns. The command gets
#   LORE_TEST_PG_URL    postgresql://lore:lore@127.0.0.1:PORT/lore
#   LORE_TEST_PG_ADMIN  postgresql://postgres@127.0.0.1:PORT/postgres (superuser, trust)
# and its exit status is ours. The server and directory go on exit, however
# the command ends. Needs Debian's postgresql-15 (or any 13+): scripts/deps.sh.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 CMD [ARGS...]" >&2; exit 2; }
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "pg.sh: PostgreSQL server binaries not found (scripts/deps.sh installs postgresql)" >&2
  exit 1
fi
dir=$(mktemp -d /tmp/lore-pg.XXXXXX)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$dir"
cleanup() {
  as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

as_pg "$bindir/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=trust \
  -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
# Password auth for everyone but the superuser over TCP, as a real server.
cat >"$dir/data/pg_hba.conf" <<HBA
local all all trust
host all postgres 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
HBA

# A free port: the kernel picks one for a socket we close at once; another
# process could take it in between, so a start that fails on the port tries
# again with a new one (the port, not the test, is what is retried).
started=0
for _ in 1 2 3 4 5; do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  if as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 -o \
    "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null 2>&1; then
    started=1
    break
  fi
  grep -q "could not bind\|Address already in use" "$dir/log" 2>/dev/null || break
done
[ $started = 1 ] || { echo "pg.sh: PostgreSQL did not start:" >&2; cat "$dir/log" >&2; exit 1; }

"$bindir/psql" -qX -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
  -c "CREATE ROLE lore LOGIN CREATEROLE CREATEDB PASSWORD 'lore'" \
  -c "CREATE DATABASE lore OWNER lore" >/dev/null

export LORE_TEST_PG_URL="postgresql://lore:lore@127.0.0.1:$port/lore"
export LORE_TEST_PG_ADMIN="postgresql://postgres@127.0.0.1:$port/postgres"
export PGCONNECT_TIMEOUT=10
set +e
"$@"
rc=$?
exit $rc
