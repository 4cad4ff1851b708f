#!/usr/bin/env bash
# lore migrate (docs/storage.md, "Migrations"): --status lists the control
# store and every tenant with the migrations applied and known, marking the
# pending ones; a production lore serve (and worker) refuses a store with
# pending migrations and names the command; lore migrate applies them all,
# and several runs at once end with one applied set; running it again does
# nothing. A store is made to look older by undoing its last migrations
# with the sqlite3 shell (on PostgreSQL, cli_migrate_pg, with psql: the
# control schema's last migration, the blobs, and each tenant schema made
# empty again).
set -uo pipefail
LORE=${1:?usage: migrate.sh path/to/lore}
T=$(mktemp -d /tmp/lore-migrate-XXXXXX)
trap 'rm -rf "$T"' EXIT
export LORE_DATA_DIR="$T/data"
unset LORE_CONFIG LORE_MODE LORE_MASTER_KEY LORE_STORE_URL
source "$(dirname "$0")/../support/check.sh"
source "$(dirname "$0")/../support/store.sh"
lore_store_for "$LORE_DATA_DIR" # PostgreSQL runs: its own database
# The store's migrations, read and undone behind lore's back.
control_sql() {
  if lore_store_pg; then lore_store_sql "$LORE_DATA_DIR" "SET search_path = lore; $1"
  else sqlite3 "$LORE_DATA_DIR/control.db" "$1"; fi
}
undo_control() { # the last migration: SQLite's sessions, PostgreSQL's blobs
  if lore_store_pg; then
    control_sql "DELETE FROM schema_migrations WHERE version=$CONTROL; DROP TABLE blob_chunks, blobs;"
  else
    control_sql "DELETE FROM schema_migrations WHERE version=$CONTROL; DROP TABLE sessions;"
  fi
}
undo_tenant() { # TENANT: none of its migrations applied
  if lore_store_pg; then
    local s o
    s=$(lore_store_tenant_schema "$LORE_DATA_DIR" "$1") &&
      o=$(lore_store_sql "$LORE_DATA_DIR" "SELECT nspowner::regrole FROM pg_namespace WHERE nspname = '$s'") &&
      lore_store_sql "$LORE_DATA_DIR" "BEGIN; DROP SCHEMA $s CASCADE; CREATE SCHEMA $s AUTHORIZATION $o;
        UPDATE lore.tenants SET schema_version = 0 WHERE name = '$1'; COMMIT;" >/dev/null
  else
    sqlite3 "$LORE_DATA_DIR/tenants/$1/lore.db" \
      "DELETE FROM schema_migrations; DROP TABLE kv; DROP TABLE chunks; DROP TABLE documents;"
  fi
}
KEY=0123456789abcdef0123456789abcdef0123

expect 0 "migrate --help" -- "$LORE" migrate --help; has "$OUT" "usage: lore migrate"
expect 1 "migrate takes no arguments" -- "$LORE" migrate now; has "$ERR" "no arguments"
expect 2 "no store yet" -- "$LORE" migrate --status; has "$ERR" "$(lore_store_none "$LORE_DATA_DIR")"
N=12
for i in $(seq 1 $N); do
  expect 0 "tenant create t$i" -- "$LORE" tenant create "t$i"
done

expect 0 "status, fresh" -- "$LORE" migrate --status
has "$OUT" "store: $(lore_store_pg && echo postgres || echo sqlite)"; has "$OUT" "^control .* up to date"; has "$OUT" "^tenant t7 .* up to date"
has "$OUT" "^up to date$"; hasnt "$OUT" "pending"
CONTROL=$(control_sql "SELECT max(version) FROM schema_migrations")
TENANT=$(lore_store_tenant_sql "$LORE_DATA_DIR" t1 "SELECT max(version) FROM schema_migrations")
[ "$CONTROL" -ge "$(lore_store_pg && echo 2 || echo 7)" ] && [ "$TENANT" -ge 1 ] && ok ||
  bad "versions $CONTROL $TENANT"

# Older: the control store without its last migration, every tenant
# without all of its own.
undo_control || bad "undo control"
for i in $(seq 1 $N); do
  undo_tenant "t$i" || bad "undo t$i"
done
expect 0 "status, pending" -- "$LORE" migrate --status
has "$OUT" "^control .* $((CONTROL - 1)) .* $CONTROL  pending"
has "$OUT" "^tenant t3 .* 0 .* $TENANT  pending"
has "$OUT" "$((1 + N * TENANT)) migration(s) pending: run lore migrate"
expect 0 "status applied nothing" -- "$LORE" migrate --status; has "$OUT" "pending: run lore migrate"

# Production refuses to start on it, and names the command; nothing applied.
expect 2 "production serve refuses" -- env LORE_MODE=production LORE_MASTER_KEY=$KEY \
  "$LORE" serve --listen 127.0.0.1:0
has "$ERR" "production mode"; has "$ERR" "lore migrate"
expect 2 "production worker refuses" -- env LORE_MODE=production LORE_MASTER_KEY=$KEY \
  "$LORE" worker
has "$ERR" "lore migrate"
expect 2 "production commands refuse a pending control store" -- \
  env LORE_MODE=production LORE_MASTER_KEY=$KEY "$LORE" tenant list
has "$ERR" "lore migrate"
expect 0 "still pending" -- "$LORE" migrate --status; has "$OUT" "pending: run lore migrate"

# Three runs at once: each migration applied exactly once, all succeed.
for r in 1 2 3; do
  "$LORE" migrate >"$T/m$r.out" 2>"$T/m$r.err" &
  eval "P$r=\$!"
done
for r in 1 2 3; do
  eval "wait \$P$r" && ok || bad "concurrent migrate $r failed: $(cat "$T/m$r.err")"
done
for r in 1 2 3; do
  grep -q "^up to date: $((N + 1)) database(s)" "$T/m$r.out" && ok || bad "run $r: $(cat "$T/m$r.out")"
done
# exactly once each: one row per version, none missing
rows=$(control_sql "SELECT count(*) || '/' || max(version) FROM schema_migrations")
[ "$rows" = "$CONTROL/$CONTROL" ] && ok || bad "control schema_migrations $rows"
for i in $(seq 1 $N); do
  rows=$(lore_store_tenant_sql "$LORE_DATA_DIR" "t$i" \
    "SELECT count(*) || '/' || max(version) FROM schema_migrations")
  [ "$rows" = "$TENANT/$TENANT" ] && ok || bad "t$i schema_migrations $rows"
done
expect 0 "status after" -- "$LORE" migrate --status; has "$OUT" "^up to date$"; hasnt "$OUT" "pending"
expect 0 "idempotent" -- "$LORE" migrate; has "$OUT" "up to date: $((N + 1)) database(s) (0 migration(s) were pending)"
expect 0 "the migrated tenants work" -- "$LORE" tenant list; has "$OUT" "t12"

# Only tenants pending: the store opens, serve's own check refuses.
undo_tenant t5 || bad "undo t5"
expect 2 "production serve refuses a pending tenant" -- env LORE_MODE=production \
  LORE_MASTER_KEY=$KEY "$LORE" serve --listen 127.0.0.1:0
has "$ERR" "refusing to start in production mode"; has "$ERR" "tenant t5"; has "$ERR" "lore migrate"
expect 0 "migrate t5" -- "$LORE" migrate; has "$OUT" "(1 migration(s) were pending)"

# Production serve starts on the migrated store.
: >"$T/s.out"
env LORE_MODE=production LORE_MASTER_KEY=$KEY "$LORE" serve --listen 127.0.0.1:0 >"$T/s.out" 2>"$T/s.err" &
pid=$!
seen=1
for _ in $(seq 1 600); do
  if grep -q "listening on" "$T/s.out"; then seen=0; break; fi
  kill -0 $pid 2>/dev/null || break
  sleep 0.1
done
kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null
[ $seen -eq 0 ] && ok || bad "serve on the migrated store did not start: $(cat "$T/s.err")"
finish
