#!/usr/bin/env bash
# End-to-end tests of `lore connector`: add (generated, given and file
# secrets, source, ACL, --json, public_url), list, rotate-secret, delete
# through the binary; usage errors and their exit codes; the secret printed
# once and never in list or the control database in clear.
set -uo pipefail
LORE=${1:?usage: connector.sh path/to/lore}
T=$(mktemp -d /tmp/lore-connector-XXXXXX)
trap 'rm -rf "$T"' EXIT
export LORE_DATA_DIR="$T/data"
unset LORE_CONFIG LORE_PUBLIC_URL
source "$(dirname "$0")/../support/check.sh"
source "$(dirname "$0")/../support/store.sh"
lore_store_for "$LORE_DATA_DIR" # PostgreSQL runs: its own database
ID_RE='con_[0-9a-f]\{20\}'

# --- help and usage errors (exit 1)
expect 0 "lore --help lists connector" -- "$LORE" --help; has "$OUT" "connector "
expect 0 "connector --help" -- "$LORE" connector --help; has "$OUT" "usage: lore connector add"
has "$OUT" "rotate-secret"
expect 1 "no action" -- "$LORE" connector; has "$ERR" "missing action"
expect 1 "unknown action" -- "$LORE" connector rename; has "$ERR" "unknown action 'rename'"
expect 1 "add without kind" -- "$LORE" connector add --tenant acme; has "$ERR" "needs the kind"
expect 1 "unknown kind" -- "$LORE" connector add gitlab --tenant acme; has "$ERR" "unknown connector kind 'gitlab'"
has "$ERR" "github"
expect 1 "bad id" -- "$LORE" connector delete 12345; has "$ERR" "not a connector id"
expect 1 "grace on add" -- "$LORE" connector add github --tenant acme --grace 5; has "$ERR" "rotate-secret only"
expect 1 "secret on list" -- "$LORE" connector list --secret x; has "$ERR" "add and rotate-secret"
expect 1 "acl on rotate" -- "$LORE" connector rotate-secret con_0123456789abcdef0123 --acl group:x
has "$ERR" "add only"
expect 1 "bad tenant name" -- "$LORE" connector list --tenant "Bad/Name"; has "$ERR" "not a valid tenant name"
# --- no store yet: runtime error, nothing created
expect 2 "no store" -- "$LORE" connector list; has "$ERR" "$(lore_store_none "$T/data")"
lore_store_untouched "$T/data" && ok || bad "connector list created the data directory"

expect 0 "tenant create" -- "$LORE" tenant create acme
expect 1 "add without tenant" -- "$LORE" connector add github; has "$ERR" "needs --tenant"
expect 2 "add to a missing tenant" -- "$LORE" connector add github --tenant nope
has "$ERR" "tenant 'nope' does not exist"
expect 1 "bad acl" -- "$LORE" connector add github --tenant acme --acl bob; has "$ERR" "--acl bob"
expect 1 "bad source" -- "$LORE" connector add github --tenant acme --source "a b"; has "$ERR" "source"
expect 1 "secret with a space" -- "$LORE" connector add github --tenant acme --secret "a b"
has "$ERR" "visible ASCII"
expect 1 "both secrets" -- "$LORE" connector add github --tenant acme --secret a --secret-file /dev/null
has "$ERR" "not both"

# --- add: generated secret, text output
expect 0 "add" -- "$LORE" connector add github --tenant acme --acl group:eng,user:ana@example.com
has "$OUT" "connector: $ID_RE (github, tenant acme, source github)"
has "$OUT" "webhook:   /v1/hooks/con_"; has "$OUT" "secret:    [0-9a-f]\{64\}"
has "$ERR" "shown only this once"; has "$ERR" "public_url"
SECRET1=$(sed -n 's/^secret: *//p' <<<"$OUT")
ID1=$(grep -o "$ID_RE" <<<"$OUT" | head -1)
# --- add: given secret from a file, source, --json, public_url
printf 'from-a-file\n' >"$T/secret.txt"
expect 0 "add json" -- env LORE_PUBLIC_URL=https://lore.example.com "$LORE" connector add slack \
    --tenant acme --source team-slack --secret-file "$T/secret.txt" --json
has "$OUT" '"secret":"from-a-file"'; has "$OUT" "\"url\":\"https://lore.example.com/v1/hooks/con_"
ID2=$(grep -o "$ID_RE" <<<"$OUT" | head -1)
has "$OUT" "\"id\":\"$ID2\""; has "$OUT" "\"url\":\"https://lore.example.com/v1/hooks/$ID2\""
[ "$(wc -l <<<"$OUT")" -eq 1 ] && ok || bad "add --json printed more than one line: $OUT"
expect 1 "bad public_url" -- env LORE_PUBLIC_URL=lore.example.com/ "$LORE" connector list
has "$ERR" "public_url"

# --- list: no secret
expect 0 "list" -- "$LORE" connector list --tenant acme
has "$OUT" "$ID1"; has "$OUT" "$ID2"; has "$OUT" "team-slack"; has "$OUT" "group:eng,user:ana@example.com"
hasnt "$OUT" "$SECRET1"; hasnt "$OUT" "from-a-file"
expect 0 "list json" -- "$LORE" connector list --json
has "$OUT" "\"id\":\"$ID1\""; hasnt "$OUT" "secret\":"
# --- the control database holds no secret in clear
# scan_all: every secret seen so far, generated and given, in control.db
# and its WAL (their bytes); on PostgreSQL in a dump of the database.
SEEN=("$SECRET1" from-a-file)
holds() {
  if lore_store_pg; then
    lore_store_holds "$T/data" "$1"
  else
    grep -qa -- "$1" "$T/data/control.db" "$T/data/control.db-wal" 2>/dev/null
  fi
}
scan_all() {
  local v found=0
  for v in "${SEEN[@]}"; do
    if holds "$v"; then
      found=1; bad "the secret $v is in clear in control.db"
    fi
  done
  [ "$found" -eq 0 ] && ok
}
scan_all
holds team-slack && ok || bad "the scan finds nothing, not even a connector's source"

# --- rotate-secret
expect 0 "rotate" -- "$LORE" connector rotate-secret "$ID1" --grace 60
has "$OUT" "secret:    [0-9a-f]\{64\}"; has "$OUT" "previous:  valid until"
hasnt "$OUT" "$SECRET1"
SEEN+=("$(sed -n 's/^secret: *//p' <<<"$OUT")")
expect 0 "rotate json, no grace" -- "$LORE" connector rotate-secret "$ID1" --grace 0 --json
has "$OUT" '"secret":"[0-9a-f]\{64\}"'; hasnt "$OUT" "previous_secret_until"
SEEN+=("$(grep -o '[0-9a-f]\{64\}' <<<"$OUT" | head -1)")
printf 'slack-made-secret\n' >"$T/new.txt"
expect 0 "rotate to a given secret" -- "$LORE" connector rotate-secret "$ID1" --secret-file "$T/new.txt" --json
has "$OUT" '"secret":"slack-made-secret"'; has "$OUT" "previous_secret_until"
SEEN+=(slack-made-secret)
[ ${#SEEN[1]} -gt 0 ] && [ ${#SEEN[2]} -eq 64 ] && [ ${#SEEN[3]} -eq 64 ] && ok ||
  bad "the rotated secrets were not read from the output: ${SEEN[*]}"
scan_all
expect 1 "rotate to a bad secret" -- "$LORE" connector rotate-secret "$ID1" --secret "a b"
has "$ERR" "visible ASCII"
# --secret on the command line works (copied before argv is wiped) and warns
expect 0 "rotate to a secret given as an argument" -- "$LORE" connector rotate-secret "$ID1" \
    --secret argv-given-secret --json
has "$OUT" '"secret":"argv-given-secret"'; has "$ERR" "shell's history"; has "$ERR" "--secret-file"
expect 1 "bad grace" -- "$LORE" connector rotate-secret "$ID1" --grace -1; has "$ERR" "--grace -1"
expect 0 "another tenant" -- "$LORE" tenant create rival
expect 2 "rotate, wrong tenant" -- "$LORE" connector rotate-secret "$ID1" --tenant rival
has "$ERR" "no connector $ID1 in tenant 'rival'"

# --- delete
expect 0 "delete" -- "$LORE" connector delete "$ID1"; has "$OUT" "deleted connector $ID1"
expect 2 "delete again" -- "$LORE" connector delete "$ID1"; has "$ERR" "no connector $ID1"
expect 0 "list after delete" -- "$LORE" connector list; hasnt "$OUT" "$ID1"; has "$OUT" "$ID2"
# --- deleting the tenant deletes its connectors
expect 0 "tenant delete" -- "$LORE" tenant delete acme --yes
expect 0 "list after tenant delete" -- "$LORE" connector list; has "$OUT" "no connectors"
finish
