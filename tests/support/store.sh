# The store of a shell test's data directory, on the backend the run names:
# the shell twin of support/test_store.h, sourced by tests/cli/*.sh.
#
# The SQLite run (LORE_TEST_STORE_URL unset, plain `cli_<name>`) is the
# test as it always was: the data directory is the store, lore_store_for and
# lore_store_env do nothing, lore_store_pg answers false. In a PostgreSQL
# run (CMake's `cli_<name>_pg`: tests/support/store_pg.sh starts a
# throwaway PostgreSQL and sets LORE_TEST_STORE_URL to a role that may
# CREATE DATABASE) each data directory gets a database of its own, named
# after the directory's path and made on first use, so every process
# started on one directory (servers, workers, the CLI) shares one store and
# two directories never do. The databases are not dropped: the throwaway
# PostgreSQL goes with the test.
#
#   lore_store_pg          true in a PostgreSQL run
#   lore_store_for DIR     PostgreSQL: exports LORE_STORE_URL, DIR's store,
#                          for every lore the script starts from then on
#   lore_store_env DIR     PostgreSQL: prints LORE_STORE_URL=URL (DIR's), one
#                          word for `env $(lore_store_env DIR) lore ...`;
#                          SQLite: prints nothing
#   lore_store_url DIR     prints DIR's store URL (PostgreSQL only)
#   lore_store_reset DIR   PostgreSQL: DIR's database dropped and made anew
#                          (the twin of `rm -rf DIR` on SQLite)
#   lore_store_drop DIR    PostgreSQL: DIR's database dropped
#   lore_store_sql DIR SQL runs SQL on DIR's database as the superuser,
#                          prints rows unaligned, fields split by '|'
#   lore_store_tenant_sql DIR TENANT SQL   runs SQL on a tenant's tables, as
#                          sqlite3 on DIR/tenants/TENANT/lore.db would (SQLite
#                          runs do just that), on PostgreSQL in the tenant's
#                          schema; the SQL must read the same on both
#   lore_store_holds DIR TEXT   true when DIR's database holds TEXT's bytes
#                          anywhere: a dump of all its data, searched for
#                          TEXT and for TEXT in hex (as bytea is dumped);
#                          a dump that fails ends the test
#   lore_store_tenant_schema DIR TENANT   prints the tenant's schema name
#   lore_store_copy DIR NEW    PostgreSQL: NEW's database made anew as a copy
#                          of DIR's (pg_dump | pg_restore, as an operator
#                          backs up and restores one)
#   lore_store_none DIR    prints the start of lore's error for a store that
#                          is not there: "no lore data at DIR" on SQLite, "no
#                          lore store where store_url points" on PostgreSQL
#   lore_store_untouched DIR   true when nothing made DIR's store: no DIR,
#                          and on PostgreSQL no lore schema in its database
#
# A stray LORE_STORE_URL from the caller's shell would point the SQLite run
# elsewhere: it is dropped.
unset LORE_STORE_URL

lore_store_pg() {
  case "${LORE_TEST_STORE_URL:-}" in postgres://* | postgresql://*) return 0 ;; esac
  return 1
}

# _lore_store_swap URL DB: URL with its database replaced by DB.
_lore_store_swap() {
  local base=${1%%\?*}
  local query=${1#"$base"}
  printf '%s/%s%s\n' "${base%/*}" "$2" "$query"
}

# _lore_store_db DIR: the database name of DIR (its absolute path hashed).
_lore_store_db() {
  local abs
  abs=$(realpath -m -- "$1")
  printf 'lore_sh_%s\n' "$(printf '%s' "$abs" | md5sum | cut -c1-20)"
}

_lore_store_psql() { # URL SQL (no NOTICE of a DROP ... IF EXISTS that had nothing to drop)
  PGOPTIONS="-c client_min_messages=warning" psql -qtAX -v ON_ERROR_STOP=1 -F '|' -d "$1" -c "$2"
}

lore_store_url() {
  lore_store_pg || { echo "lore_store_url: not a PostgreSQL run" >&2; return 1; }
  local db
  db=$(_lore_store_db "$1")
  if [ "$(_lore_store_psql "$LORE_TEST_STORE_URL" \
    "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
    _lore_store_psql "$LORE_TEST_STORE_URL" "CREATE DATABASE $db" >&2 || return 1
  fi
  _lore_store_swap "$LORE_TEST_STORE_URL" "$db"
}

lore_store_for() {
  lore_store_pg || return 0
  local url
  url=$(lore_store_url "$1") || { echo "lore_store_for: no database for $1" >&2; exit 1; }
  export LORE_STORE_URL=$url
}

lore_store_env() {
  lore_store_pg || return 0
  local url
  url=$(lore_store_url "$1") || return 1
  printf 'LORE_STORE_URL=%s\n' "$url"
}

lore_store_drop() {
  lore_store_pg || return 0
  _lore_store_psql "$LORE_TEST_STORE_URL" "DROP DATABASE IF EXISTS $(_lore_store_db "$1") WITH (FORCE)"
}

lore_store_reset() {
  lore_store_pg || return 0
  lore_store_drop "$1" &&
    _lore_store_psql "$LORE_TEST_STORE_URL" "CREATE DATABASE $(_lore_store_db "$1")"
}

# The superuser's URL on DIR's database (tenant schemas belong to roles of
# their own; the superuser reads them all). pg.sh exports LORE_TEST_PG_ADMIN.
_lore_store_admin() {
  local db
  db=$(_lore_store_db "$1")
  _lore_store_swap "${LORE_TEST_PG_ADMIN:-$LORE_TEST_STORE_URL}" "$db"
}

lore_store_sql() {
  _lore_store_psql "$(_lore_store_admin "$1")" "$2"
}

lore_store_holds() {
  local hex dump
  hex=$(printf '%s' "$2" | od -An -tx1 -v | tr -d ' \n')
  # Dumped whole first: grep -q stopping early would fail pg_dump (pipefail).
  if ! dump=$(pg_dump --data-only -d "$(_lore_store_admin "$1")"); then
    echo "FAIL: lore_store_holds: cannot dump the database of $1" >&2
    exit 1 # a scan that saw nothing must not pass as "not held"
  fi
  grep -qaF -e "$2" -e "$hex" <<<"$dump"
}

lore_store_tenant_schema() {
  local id
  id=$(lore_store_sql "$1" "SELECT id FROM lore.tenants WHERE name = '$2'")
  [ -n "$id" ] && printf 'lore_tenant_%s\n' "$id"
}

lore_store_none() {
  if lore_store_pg; then echo "no lore store where store_url points"; else echo "no lore data at $1"; fi
}

lore_store_untouched() {
  [ ! -e "$1" ] || return 1
  lore_store_pg || return 0
  [ "$(lore_store_sql "$1" "SELECT count(*) FROM pg_namespace WHERE nspname = 'lore'")" = 0 ]
}

lore_store_tenant_sql() {
  if ! lore_store_pg; then
    sqlite3 -cmd ".timeout 5000" "$1/tenants/$2/lore.db" "$3"
    return
  fi
  local schema
  schema=$(lore_store_tenant_schema "$1" "$2") || { echo "no tenant $2 in $1's store" >&2; return 1; }
  lore_store_sql "$1" "SET search_path = $schema; $3"
}

lore_store_copy() {
  lore_store_reset "$2" || return 1
  local dump=$2.pgdump # beside the directory, in the test's temporary one
  pg_dump -Fc -f "$dump" -d "$(_lore_store_admin "$1")" &&
    pg_restore --exit-on-error -d "$(_lore_store_admin "$2")" "$dump"
}
