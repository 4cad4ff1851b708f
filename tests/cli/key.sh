#!/usr/bin/env bash
# End-to-end tests of `lore key`: create, list and revoke through the binary,
# the key shown once and never stored, exit codes and error messages.
set -uo pipefail
LORE=${1:?usage: key.sh path/to/lore}
T=$(mktemp -d /tmp/lore-key-XXXXXX)
trap 'rm -rf "$T"' EXIT
export LORE_DATA_DIR="$T/data"
unset LORE_CONFIG
source "$(dirname "$0")/../support/check.sh"
source "$(dirname "$0")/../support/store.sh"
lore_store_for "$LORE_DATA_DIR" # PostgreSQL runs: its own database
KEY_RE='^lore_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$'

# --- help and usage errors (exit 1, nothing opened)
expect 0 "lore --help lists key" -- "$LORE" --help; has "$OUT" "key "
expect 0 "key --help" -- "$LORE" key --help; has "$OUT" "usage: lore key create"; has "$OUT" "--expires"
expect 1 "no action" -- "$LORE" key; has "$ERR" "missing action"
expect 1 "unknown action" -- "$LORE" key rotate; has "$ERR" "unknown action 'rotate'"
expect 1 "create without tenant" -- "$LORE" key create --scope read; has "$ERR" "needs --tenant"
expect 1 "create bad tenant name" -- "$LORE" key create --tenant "Bad/Name" --scope read
has "$ERR" "not a valid tenant name"
expect 1 "create without scope" -- "$LORE" key create --tenant acme; has "$ERR" "needs --scope"
expect 1 "bad scope" -- "$LORE" key create --tenant acme --scope read,delete
has "$ERR" "unknown scope 'delete'"
expect 1 "empty scope" -- "$LORE" key create --tenant acme --scope ""; has "$ERR" "no scope given"
expect 1 "bad principal" -- "$LORE" key create --tenant acme --scope read --principal alice@x.com
has "$ERR" "--principal alice@x.com"; has "$ERR" "user:EMAIL or group:NAME"
expect 1 "principal with newline" -- "$LORE" key create --tenant acme --scope read --principal $'user:a\nuser:b'
has "$ERR" "principal"
expect 1 "bad name" -- "$LORE" key create --tenant acme --scope read --name $'two\tparts'
has "$ERR" "--name"
expect 1 "bad expiry word" -- "$LORE" key create --tenant acme --scope read --expires tomorrow
has "$ERR" "--expires tomorrow"; has "$ERR" "30d"
expect 1 "zero expiry" -- "$LORE" key create --tenant acme --scope read --expires 0d; has "$ERR" "more than 0"
expect 1 "unknown unit" -- "$LORE" key create --tenant acme --scope read --expires 5y; has "$ERR" "--expires 5y"
expect 1 "past expiry" -- "$LORE" key create --tenant acme --scope read --expires 2001-01-01
has "$ERR" "in the past"
expect 1 "far expiry" -- "$LORE" key create --tenant acme --scope read --expires 999999d
has "$ERR" "at most"
expect 1 "scope on list" -- "$LORE" key list --scope read; has "$ERR" "applies to create only"
expect 1 "json on revoke" -- "$LORE" key revoke 0123456789ab --json; has "$ERR" "applies to list only"
expect 1 "list with argument" -- "$LORE" key list acme; has "$ERR" "takes no arguments"
expect 1 "revoke without id" -- "$LORE" key revoke; has "$ERR" "exactly one key id"
expect 1 "revoke bad id" -- "$LORE" key revoke xyz; has "$ERR" "'xyz' is not a key id"
lore_store_untouched "$LORE_DATA_DIR" && ok || bad "a usage error created the data directory"

# --- runtime errors (exit 2)
expect 2 "list without data" -- "$LORE" key list; has "$ERR" "$(lore_store_none "$LORE_DATA_DIR")"
expect 2 "create without data" -- "$LORE" key create --tenant acme --scope read
has "$ERR" "$(lore_store_none "$LORE_DATA_DIR")"
lore_store_untouched "$LORE_DATA_DIR" && ok || bad "a command that only reads created the data directory"
expect 0 "a data directory" -- "$LORE" tenant create other
expect 2 "create unknown tenant" -- "$LORE" key create --tenant acme --scope read
has "$ERR" "tenant 'acme' does not exist"; [ -z "$OUT" ] && ok || bad "printed a key: $OUT"
expect 0 "list empty" -- "$LORE" key list; has "$OUT" "no keys"
expect 2 "list unknown tenant" -- "$LORE" key list --tenant acme; has "$ERR" "tenant 'acme' does not exist"
expect 2 "revoke unknown" -- "$LORE" key revoke 0123456789ab; has "$ERR" "no key 0123456789ab"

# --- create: the key alone on stdout, the warning on stderr
expect 0 "tenant" -- "$LORE" tenant create acme
expect 0 "create" -- "$LORE" key create --tenant acme --scope read,write \
  --principal user:alice@example.com --principal group:eng --name "ci bot" --expires 30d
K1=$OUT
[[ "$K1" =~ $KEY_RE ]] && ok || bad "stdout is not just a key: '$K1'"
ID1=${K1:5:12}; SECRET1=${K1:18}
has "$ERR" "created key $ID1 for tenant acme (read,write)"; has "$ERR" "only time"
hasnt "$ERR" "$SECRET1"
expect 0 "create admin" -- "$LORE" key create --tenant acme --scope admin --scope read --expires 2099-01-01
K2=$OUT; ID2=${K2:5:12}
has "$ERR" "(read,admin)"
[ "$K1" != "$K2" ] && ok || bad "two creates gave the same key"
expect 0 "list json empty tenant" -- "$LORE" tenant create empty
expect 0 "list json none" -- "$LORE" key list --tenant empty --json; [ -z "$OUT" ] && ok || bad "json for no keys: $OUT"

# --- list: every field but the secret and its hash
expect 0 "list" -- "$LORE" key list --tenant acme
has "$OUT" "ID  *TENANT  *NAME  *SCOPES  *PRINCIPALS  *CREATED  *EXPIRES  *REVOKED"
has "$OUT" "$ID1  *acme  *ci bot  *read,write  *user:alice@example.com,group:eng  "
has "$OUT" "$ID2  *acme  *-  *read,admin  *-  .*2099-01-01T00:00:00Z"
hasnt "$OUT" "$SECRET1"; hasnt "$OUT" "${K2:18}"
HASH1=$(printf '%s' "$K1" | sha256sum | cut -c1-64)
hasnt "$OUT" "$HASH1"
expect 0 "list json" -- "$LORE" key list --json
has "$OUT" "{\"id\":\"$ID1\",\"tenant\":\"acme\",\"name\":\"ci bot\",\"scopes\":\[\"read\",\"write\"\],\"principals\":\[\"user:alice@example.com\",\"group:eng\"\]"
has "$OUT" "\"expires\":\"2099-01-01T00:00:00Z\",\"revoked\":null"
hasnt "$OUT" "$SECRET1"; hasnt "$OUT" "$HASH1"
[ "$(wc -l <<<"$OUT")" -eq 2 ] && ok || bad "list --json: want 2 lines: $OUT"
# the store has the hash and nowhere the key (on PostgreSQL: in a dump of
# its database; the data directory must not hold the key either)
if grep -rqa -- "$SECRET1" "$LORE_DATA_DIR" 2>/dev/null; then bad "the secret is in the data directory"; else ok; fi
if lore_store_pg; then
  if lore_store_holds "$LORE_DATA_DIR" "$SECRET1"; then bad "the secret is in the database"; else ok; fi
  if lore_store_holds "$LORE_DATA_DIR" "$HASH1"; then ok; else bad "the key's hash is not stored"; fi
else
  if grep -rqa -- "$HASH1" "$LORE_DATA_DIR"; then ok; else bad "the key's hash is not stored"; fi
fi

# --- revoke
expect 1 "revoke whole key" -- "$LORE" key revoke "$K1"; has "$ERR" "whole key"; hasnt "$ERR" "$SECRET1"
expect 2 "revoke other tenant" -- "$LORE" key revoke "$ID1" --tenant empty
has "$ERR" "no key $ID1 in tenant 'empty'"
expect 0 "revoke" -- "$LORE" key revoke "$ID1" --tenant acme; has "$OUT" "revoked key $ID1 (tenant acme)"
expect 0 "revoke again" -- "$LORE" key revoke "$ID1"; has "$OUT" "already revoked"
expect 0 "list revoked" -- "$LORE" key list --tenant acme --json
has "$OUT" "\"id\":\"$ID1\".*\"revoked\":\"20"
has "$OUT" "\"id\":\"$ID2\".*\"revoked\":null"

# --- deleting a tenant deletes its keys; a new tenant of that name has none
expect 0 "tenant beta" -- "$LORE" tenant create beta
expect 0 "beta key" -- "$LORE" key create --tenant beta --scope read; IDB=${OUT:5:12}
expect 0 "list all" -- "$LORE" key list; has "$OUT" "$IDB  *beta"; has "$OUT" "$ID2  *acme"
expect 0 "delete beta" -- "$LORE" tenant delete beta --yes
expect 0 "list after delete" -- "$LORE" key list; hasnt "$OUT" "$IDB"; has "$OUT" "$ID2"
expect 0 "beta again" -- "$LORE" tenant create beta
expect 0 "beta has no keys" -- "$LORE" key list --tenant beta; has "$OUT" "no keys"
expect 2 "revoke deleted" -- "$LORE" key revoke "$IDB"; has "$ERR" "no key $IDB"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
