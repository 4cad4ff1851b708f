#!/usr/bin/env bash
# End-to-end tests of sealed secrets through the binary (docs/secrets.md):
# - lore secrets set/list/delete: the value comes from stdin or
#   --value-file, never argv; list never prints it; control.db and its WAL
#   never hold it in clear (their bytes are scanned);
# - dev mode without master_key makes DATA_DIR/master.key (0600) once and
#   reuses it; production never does;
# - rotate from key A to key B (master_key_previous = A): counts, then B
#   alone opens everything; a secret under a third key is unreadable (exit 2);
# - a wrong master key makes `lore serve` and `lore worker` refuse to start
#   in production mode, naming master_key; dev mode starts with a warning;
# - a secret setting given as secret:NAME (mcp_key) is read from the store;
# - secrets go with their tenant, and with a backup and restore.
set -uo pipefail
LORE=${1:?usage: secrets.sh path/to/lore}
T=$(mktemp -d /tmp/lore-secrets-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
unset LORE_CONFIG LORE_MASTER_KEY LORE_MASTER_KEY_PREVIOUS LORE_MODE LORE_MCP_KEY
export LORE_DATA_DIR="$T/data"
source "$(dirname "$0")/../support/check.sh"
source "$(dirname "$0")/../support/store.sh"
lore_store_for "$LORE_DATA_DIR" # PostgreSQL runs: its own database
KEY_A=key-A-0123456789abcdef0123456789abcdef
KEY_B=key-B-0123456789abcdef0123456789abcdef
KEY_C=key-C-0123456789abcdef0123456789abcdef
CLEAR1=clear-value-ONE-$RANDOM$RANDOM
CLEAR2=clear-value-TWO-$RANDOM$RANDOM
CLEAR3=clear-value-THREE-$RANDOM$RANDOM

# scan VALUE: fails when a file of the data directory's control database
# holds VALUE's bytes anywhere (on PostgreSQL: a dump of the database, and
# the data directory's files).
scan() {
  local f found=0
  if lore_store_pg && lore_store_holds "$LORE_DATA_DIR" "$1"; then
    found=1; bad "the database holds the clear value $1"
  fi
  if lore_store_pg && grep -rqaF -- "$1" "$LORE_DATA_DIR" 2>/dev/null; then
    found=1; bad "the data directory holds the clear value $1"
  fi
  for f in "$LORE_DATA_DIR"/control.db "$LORE_DATA_DIR"/control.db-wal; do
    [ -e "$f" ] || continue
    if grep -qaF -- "$1" "$f"; then found=1; bad "$f holds the clear value $1"; fi
  done
  [ "$found" -eq 0 ] && ok
}

# --- usage errors (exit 1, nothing opened, no value echoed)
expect 0 "lore --help lists secrets" -- "$LORE" --help; has "$OUT" "secrets "
expect 0 "secrets --help" -- "$LORE" secrets --help; has "$OUT" "usage: lore secrets list"
has "$OUT" "rotate"
expect 1 "no action" -- "$LORE" secrets; has "$ERR" "missing action"
expect 1 "unknown action" -- "$LORE" secrets show x; has "$ERR" "unknown action 'show'"
expect 1 "value on the command line" -- "$LORE" secrets set gh --server "$CLEAR1"
has "$ERR" "never from the command line"; hasnt "$ERR" "$CLEAR1"
expect 1 "set without owner" -- "$LORE" secrets set gh <<<"$CLEAR1"; has "$ERR" "--tenant NAME, or --server"
expect 1 "both owners" -- "$LORE" secrets set gh --tenant acme --server <<<"$CLEAR1"
has "$ERR" "exclude each other"
expect 1 "bad name" -- "$LORE" secrets set 'bad/name' --server <<<"$CLEAR1"; has "$ERR" "not a secret name"
expect 1 "json on set" -- "$LORE" secrets set gh --server --json <<<"$CLEAR1"; has "$ERR" "list only"
expect 1 "rotate with tenant" -- "$LORE" secrets rotate --tenant acme; has "$ERR" "takes no --tenant"
lore_store_untouched "$LORE_DATA_DIR" && ok || bad "a usage error created the data directory"
expect 2 "list without data" -- "$LORE" secrets list; has "$ERR" "$(lore_store_none "$LORE_DATA_DIR")"

# --- dev mode: master.key made once (0600), reused
expect 0 "set a server secret" -- "$LORE" secrets set gh.server --server <<<"$CLEAR1"
has "$OUT" "stored secret (server)/gh.server"; hasnt "$OUT" "$CLEAR1"
has "$ERR" "made a new master key"
[ -f "$LORE_DATA_DIR/master.key" ] && ok || bad "no master.key in dev mode"
[ "$(stat -c %a "$LORE_DATA_DIR/master.key")" = 600 ] && ok || bad "master.key is not 0600"
grep -qE '^[0-9a-f]{64}$' "$LORE_DATA_DIR/master.key" && ok || bad "master.key is not 64 hex digits"
DEV_ID=$(sed -n 's/.*key id \([0-9a-f]*\)).*/\1/p' <<<"$OUT")
[ ${#DEV_ID} -eq 16 ] && ok || bad "no key id in: $OUT"
expect 0 "tenant" -- "$LORE" tenant create acme
printf '%s' "$CLEAR2" >"$T/value"
expect 0 "set from --value-file" -- "$LORE" secrets set github --tenant acme --value-file "$T/value"
has "$OUT" "key id $DEV_ID"; hasnt "$ERR" "made a new master key"
expect 1 "empty value refused" -- "$LORE" secrets set empty --tenant acme </dev/null
has "$ERR" "empty"
expect 1 "a newline alone is empty" -- "$LORE" secrets set empty --tenant acme <<<""
head -c 9000 /dev/zero | tr '\0' x >"$T/big"
expect 1 "too large refused" -- "$LORE" secrets set big --tenant acme --value-file "$T/big"
has "$ERR" "longer than 8192"
expect 1 "missing value file" -- "$LORE" secrets set x --tenant acme --value-file "$T/nope"
has "$ERR" "$T/nope"
expect 2 "unknown tenant" -- "$LORE" secrets set gh --tenant nope <<<"$CLEAR3"
has "$ERR" "tenant 'nope' does not exist"
expect 0 "set the third" -- "$LORE" secrets set slack --tenant acme <<<"$CLEAR3"

# --- list never prints a value; the database never holds one in clear
expect 0 "list" -- "$LORE" secrets list
has "$OUT" "gh.server"; has "$OUT" "github"; has "$OUT" "slack"; has "$OUT" "$DEV_ID"
for v in "$CLEAR1" "$CLEAR2" "$CLEAR3"; do hasnt "$OUT$ERR" "$v"; done
expect 0 "list --json" -- "$LORE" secrets list --json
has "$OUT" '"tenant":null,"name":"gh.server"'; has "$OUT" '"tenant":"acme","name":"github"'
for v in "$CLEAR1" "$CLEAR2" "$CLEAR3"; do hasnt "$OUT" "$v"; done
expect 0 "list a tenant" -- "$LORE" secrets list --tenant acme; hasnt "$OUT" "gh.server"
has "$OUT" "github"
expect 0 "list the server's" -- "$LORE" secrets list --server; hasnt "$OUT" "github"
expect 2 "list an unknown tenant" -- "$LORE" secrets list --tenant nope; has "$ERR" "does not exist"
for v in "$CLEAR1" "$CLEAR2" "$CLEAR3"; do scan "$v"; done
if lore_store_pg; then
  lore_store_holds "$LORE_DATA_DIR" gh.server
else
  grep -qaF "gh.server" "$LORE_DATA_DIR/control.db" "$LORE_DATA_DIR/control.db-wal" 2>/dev/null
fi && ok || bad "the scan finds nothing, not even a secret's name"

# --- delete
expect 0 "delete" -- "$LORE" secrets delete slack --tenant acme; has "$OUT" "deleted secret acme/slack"
expect 2 "delete again" -- "$LORE" secrets delete slack --tenant acme; has "$ERR" "no secret acme/slack"
expect 1 "delete without owner" -- "$LORE" secrets delete github; has "$ERR" "--server"

# --- production: the master key is required and master.key is never used
expect 1 "production without master_key" -- env LORE_MODE=production "$LORE" secrets list
has "$ERR" "master_key"
DEV_KEY=$(cat "$LORE_DATA_DIR/master.key")
# Move from the dev file key to configured keys: A now, the file key as previous.
expect 0 "rotate dev key -> A" -- env LORE_MASTER_KEY=$KEY_A LORE_MASTER_KEY_PREVIOUS="$DEV_KEY" \
  "$LORE" secrets rotate
has "$OUT" "resealed 2, current 0, unreadable 0"

# --- rotation A -> B
export LORE_MODE=production LORE_MASTER_KEY=$KEY_A
expect 0 "set under A" -- "$LORE" secrets set linear --tenant acme <<<"$CLEAR3"
ID_A=$(sed -n 's/.*key id \([0-9a-f]*\)).*/\1/p' <<<"$OUT")
expect 2 "B alone cannot open A's secrets" -- env LORE_MASTER_KEY=$KEY_B "$LORE" secrets rotate
has "$OUT" "resealed 0, current 0, unreadable 3"; has "$ERR" "master_key_previous"
expect 0 "rotate A -> B" -- env LORE_MASTER_KEY=$KEY_B LORE_MASTER_KEY_PREVIOUS=$KEY_A "$LORE" secrets rotate
has "$OUT" "resealed 3, current 0, unreadable 0"; hasnt "$ERR" "can be removed now"
expect 0 "rotate again: nothing left" -- env LORE_MASTER_KEY=$KEY_B LORE_MASTER_KEY_PREVIOUS=$KEY_A \
  "$LORE" secrets rotate
has "$OUT" "resealed 0, current 3, unreadable 0"; has "$ERR" "master_key_previous can be removed now"
export LORE_MASTER_KEY=$KEY_B
expect 0 "B alone" -- "$LORE" secrets rotate; has "$OUT" "resealed 0, current 3, unreadable 0"
expect 0 "list after rotation" -- "$LORE" secrets list; hasnt "$OUT" "$ID_A"
for v in "$CLEAR1" "$CLEAR2" "$CLEAR3"; do scan "$v"; done
expect 1 "previous equal to current" -- env LORE_MASTER_KEY_PREVIOUS=$KEY_B "$LORE" secrets rotate
has "$ERR" "master_key_previous equals master_key"

# --- serve and worker refuse a wrong key in production
expect 2 "serve refuses a wrong master key" -- env LORE_MASTER_KEY=$KEY_C LORE_LISTEN=127.0.0.1:0 \
  timeout 60 "$LORE" serve
has "$ERR" "refusing to start in production mode"; has "$ERR" "3 of 3 secrets cannot be opened"
has "$ERR" "master_key_previous"; hasnt "$OUT" "listening"
expect 2 "worker refuses a wrong master key" -- env LORE_MASTER_KEY=$KEY_C timeout 60 "$LORE" worker
has "$ERR" "refusing to start in production mode"

# start_until [-c COMMAND] PATTERN ENV...: starts lore serve (or COMMAND)
# with ENV, waits for PATTERN on its stdout or stderr (up to 60 s), then
# stops it; 0 if seen.
start_until() {
  local cmd=serve
  if [ "$1" = -c ]; then cmd=$2; shift 2; fi
  local pat=$1 seen=1
  shift
  env LORE_LISTEN=127.0.0.1:0 LORE_WORKERS=1 "$@" "$LORE" $cmd >"$T/s.out" 2>"$T/s.err" &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 600); do
    if grep -q -- "$pat" "$T/s.out" "$T/s.err"; then seen=0; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return $seen
}
start_until "listening on" LORE_MASTER_KEY=$KEY_B && ok ||
  bad "production serve with the right key did not start: $(cat "$T/s.err")"
start_until "listening on" LORE_MASTER_KEY=$KEY_C LORE_MASTER_KEY_PREVIOUS=$KEY_B && ok ||
  bad "serve mid-rotation (previous key opens) did not start: $(cat "$T/s.err")"
start_until "listening on" LORE_MODE=dev LORE_MASTER_KEY=$KEY_C && ok ||
  bad "dev serve with a wrong key did not start: $(cat "$T/s.err")"
grep -q "secrets cannot be opened" "$T/s.err" && ok || bad "dev serve did not warn: $(cat "$T/s.err")"
# No secret, nothing to open: a worker makes no master.key.
FRESH=(LORE_DATA_DIR="$T/fresh" $(lore_store_env "$T/fresh")) # PostgreSQL: a database of its own
expect 0 "a fresh directory" -- env "${FRESH[@]}" "$LORE" tenant create x
start_until -c worker "job workers on" LORE_MODE=dev LORE_MASTER_KEY= "${FRESH[@]}" &&
  ok || bad "dev worker on a fresh directory did not start: $(cat "$T/s.err")"
[ ! -e "$T/fresh/master.key" ] && ok || bad "a worker without secrets made a master.key"
start_until -c worker "job workers on" LORE_MASTER_KEY=$KEY_B && ok ||
  bad "production worker with the right key did not start: $(cat "$T/s.err")"

# --- a secret setting as secret:NAME
KEY_MADE=$("$LORE" key create --tenant acme --scope read 2>/dev/null)
[[ "$KEY_MADE" =~ ^lore_[0-9a-f]{12}_ ]] && ok || bad "no key: $KEY_MADE"
expect 0 "store the MCP key" -- "$LORE" secrets set mcp.key --server <<<"$KEY_MADE"
PING='{"jsonrpc":"2.0","id":1,"method":"ping"}'
expect 0 "mcp_key = secret:mcp.key" -- env LORE_MCP_KEY=secret:mcp.key "$LORE" mcp <<<"$PING"
has "$OUT" '"result"'
expect 2 "mcp_key = secret:missing" -- env LORE_MCP_KEY=secret:missing "$LORE" mcp <<<"$PING"
has "$ERR" "mcp_key = secret:missing"; has "$ERR" "lore secrets set missing --server"
expect 2 "mcp_key = secret: under a wrong key" -- env LORE_MODE=dev LORE_MASTER_KEY=$KEY_C \
  LORE_MCP_KEY=secret:mcp.key "$LORE" mcp <<<"$PING"
has "$ERR" "mcp_key = secret:mcp.key"
expect 1 "master_key = secret:x refused" -- env LORE_MASTER_KEY=secret:x-0123456789abcdef0123456789abcdef \
  "$LORE" secrets list
has "$ERR" "cannot be secret:NAME"
expect 0 "config masks" -- env LORE_MCP_KEY=secret:mcp.key LORE_MASTER_KEY_PREVIOUS=$KEY_A "$LORE" config
hasnt "$OUT" "secret:mcp.key"; hasnt "$OUT" "$KEY_A"; hasnt "$OUT" "$KEY_B"; has "$OUT" "master_key_previous"
scan "${KEY_MADE:18}"

# --- backup and restore keep the secrets; the tenant takes its own along
# (PostgreSQL's backup is the operator's: pg_dump, then pg_restore into
# another database, which the restored directory's lore is pointed at.)
if lore_store_pg; then
  expect 2 "backup" -- "$LORE" backup "$T/bk"; has "$ERR" "no backup of its own"
  lore_store_copy "$LORE_DATA_DIR" "$T/restored" && ok || bad "pg_dump | pg_restore failed"
else
  expect 0 "backup" -- "$LORE" backup "$T/bk"
  expect 0 "restore" -- "$LORE" restore "$T/bk" --data-dir "$T/restored"
fi
expect 0 "restored secrets open" -- env LORE_DATA_DIR="$T/restored" $(lore_store_env "$T/restored") \
  "$LORE" secrets rotate
has "$OUT" "resealed 0, current 4, unreadable 0"
# A copy on the same PostgreSQL server shares the tenant roles (cluster
# objects, named after the copied install id): the original cannot drop a
# tenant's role while the copy's schema still belongs to it (docs/storage.md).
lore_store_drop "$T/restored"
expect 0 "tenant delete" -- "$LORE" tenant delete acme --yes
expect 0 "list after tenant delete" -- "$LORE" secrets list; hasnt "$OUT" "github"; has "$OUT" "gh.server"
expect 0 "tenant again" -- "$LORE" tenant create acme
expect 0 "nothing revived" -- "$LORE" secrets list --tenant acme; has "$OUT" "no secrets"

finish
