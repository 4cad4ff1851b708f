#!/usr/bin/env bash
# ACLs and tenants through vectors, end to end: a real `lore serve` with a
# real embedding model (tests/embed/server.mjs, USE-Lite over the OpenAI
# protocol). The permission matrix of tests/api/test_api_permissions.c (a
# user ACL, another user's, a group's, the whole tenant, a user-or-group),
# with texts close in meaning so every document is a near neighbour of every
# query, and a second tenant holding a near copy. For mode=semantic and
# mode=hybrid, through REST (GET and POST, with explain), the MCP search tool
# and `lore search --mode --as`:
#   - each principal set sees exactly its documents (a full page: limit 50
#     gives them all, limit 1 gives its best visible one even when hidden
#     documents are nearer), and no answer names a hidden or foreign
#     document anywhere in its body;
#   - a query that is a hidden document's own text still shows only what
#     the key may see;
#   - tenant B's key sees only B's document, tenant A's keys never see it.
set -uo pipefail
source "$(dirname "$0")/../support/semantic.sh"
semantic_begin semacl "${1:-}"
"${L[@]}" tenant create acme >/dev/null 2>&1
"${L[@]}" tenant create other >/dev/null 2>&1
W=$(new_key acme read,write,admin)
WO=$(new_key other read,write,admin)
[[ "$W" =~ ^lore_ && "$WO" =~ ^lore_ ]] || { echo "FAIL: cannot create keys" >&2; exit 1; }

# The matrix: external id, title, ACL, text. The texts all speak of time off
# for new parents (or of holidays), so each is a near neighbour of Q.
IDS=(alice-only bob-only eng-group everyone alice-or-sales)
TITLES=("Family policy" "Maternity and paternity" "Engineering handbook" "Holidays" "Sales benefits")
ACLS=('["user:alice@example.com"]' '["user:bob@example.com"]' '["group:eng"]' '[]'
  '["user:alice@example.com","group:sales"]')
TEXTS=("Parental leave is 16 weeks, paid in full."
  "New mothers and fathers get four months away from work."
  "Engineers who become parents take sixteen weeks of leave."
  "Staff receive twenty-five vacation days per year."
  "Time off for a newborn child is granted on request.")
FOREIGN="Foreign parental policy"
Q="how many days off after having a baby"

for i in "${!IDS[@]}"; do
  post "$W" "$(jq -cn --arg id "${IDS[$i]}" --arg t "${TITLES[$i]}" --arg x "${TEXTS[$i]}" \
    --argjson acl "${ACLS[$i]}" '{source: "perm", id: $id, title: $t, text: $x, acl: $acl}')" ||
    exit 1
done
post "$WO" '{"source":"perm","id":"foreign","title":"Foreign parental policy","text":"Parental leave lasts sixteen weeks at full pay, and new mothers get four months."}' ||
  exit 1

# Viewers: principals (space-separated; "" = a key acting for no one) and
# the documents they may see (indexes into IDS), as in the REST matrix.
VIEW_P=("user:alice@example.com" "user:bob@example.com group:eng"
  "user:carol@example.com group:sales" "")
VIEW_SEE=("0 3 4" "1 2 3" "3 4" "3")
KEYS=()
for v in "${!VIEW_P[@]}"; do
  # shellcheck disable=SC2086 # the principals are words
  k=$(new_key acme read ${VIEW_P[$v]})
  [[ "$k" =~ ^lore_ ]] || { echo "FAIL: cannot create the key of viewer $v" >&2; exit 1; }
  KEYS+=("$k")
done
KEY_B=$(new_key other read)

# Every chunk embedded: the metric drains, and the tenant's administrator
# finds all five documents by meaning (no test below passes on an empty
# vector index).
wait_drained 180 "$W" "$WO"
ALL=$(printf '%s\n' "${TITLES[@]}" | sort | paste -sd,)
for _ in $(seq 1 300); do
  rest "$W" "$Q" semantic limit=50
  [ "$(titles <<<"$BODY")" = "$ALL" ] && break
  sleep 0.2
done
[ "$CODE" = 200 ] && ok || bad "admin semantic search: HTTP $CODE: ${BODY:0:500}"
[ "$(titles <<<"$BODY")" = "$ALL" ] && ok ||
  bad "the administrator does not find every document by meaning: got '$(titles <<<"$BODY")', want '$ALL'"
has "$(jq -r .mode <<<"$BODY")" '^semantic$'
rest "$WO" "$Q" semantic limit=50
[ "$(titles <<<"$BODY")" = "$FOREIGN" ] && ok ||
  bad "tenant other's administrator: got '$(titles <<<"$BODY")', want only '$FOREIGN'"

# expected_titles "0 3 4" -> the sorted titles; best_of "0 3 4" MODE -> the
# first of the administrator's ranking (in MODE) that is among them.
expected_titles() {
  local out=() i
  for i in $1; do out+=("${TITLES[$i]}"); done
  printf '%s\n' "${out[@]}" | sort | paste -sd,
}
declare -A ADMIN_RANK
for mode in semantic hybrid; do
  rest "$W" "$Q" "$mode" limit=50
  ADMIN_RANK[$mode]=$(ranked <<<"$BODY")
done
best_of() {
  local want t
  want=$(expected_titles "$1")
  IFS=, read -ra order <<<"${ADMIN_RANK[$2]}"
  for t in "${order[@]}"; do
    [[ ",$want," == *",$t,"* ]] && { echo "$t"; return; }
  done
}

# no_leak WHAT SEE: the last BODY names no document outside SEE (titles and
# external ids anywhere in the raw answer), nor the other tenant's.
no_leak() {
  local what=$1 see=" $2 " i
  for i in "${!IDS[@]}"; do
    [[ "$see" == *" $i "* ]] && continue
    if grep -q -e "${TITLES[$i]}" -e "\"${IDS[$i]}\"" <<<"$BODY"; then
      bad "$what: the answer reveals hidden document ${IDS[$i]}: ${BODY:0:400}"
    else ok; fi
  done
  if grep -q -e "$FOREIGN" -e '"foreign"' <<<"$BODY"; then
    bad "$what: the answer reveals the other tenant's document: ${BODY:0:400}"
  else ok; fi
}

# one_visible WHAT SEE MODE: the last BODY (a limit=1 answer) holds one hit,
# a visible one; in semantic mode the nearest visible document (ranks among
# documents do not depend on who asks), in hybrid any visible one (the fused
# ranks are computed over what the key may see).
one_visible() {
  local got want
  got=$(ranked <<<"$BODY")
  if [ "$3" = semantic ]; then
    want=$(best_of "$2" semantic)
    [ "$got" = "$want" ] && ok ||
      bad "$1: got '$got', want '$want' (ACLs must apply inside the search, not after the page is cut)"
  else
    want=$(expected_titles "$2")
    [[ -n "$got" && "$got" != *,* && ",$want," == *",$got,"* ]] && ok ||
      bad "$1: got '$got', want one of '$want' (a full page of visible documents)"
  fi
}

check() { # WHAT SEE GOT-TITLES
  local want
  want=$(expected_titles "$2")
  [ "$3" = "$want" ] && ok || bad "$1: got '$3', want '$want'"
}

for v in "${!KEYS[@]}"; do
  key=${KEYS[$v]} see=${VIEW_SEE[$v]} who="viewer [${VIEW_P[$v]}]"
  for mode in semantic hybrid; do
    # REST GET, the whole page, with explain
    rest "$key" "$Q" "$mode" limit=50 explain=true
    [ "$CODE" = 200 ] && ok || bad "$who $mode: HTTP $CODE: ${BODY:0:300}"
    check "$who REST GET $mode" "$see" "$(titles <<<"$BODY")"
    no_leak "$who REST GET $mode" "$see"
    # limit 1: the best visible document, although hidden ones are nearer
    rest "$key" "$Q" "$mode" limit=1
    one_visible "$who REST $mode limit=1" "$see" "$mode"
    no_leak "$who REST $mode limit=1" "$see"
    # POST
    rest_post "$key" "$(jq -cn --arg q "$Q" --arg m "$mode" '{query: $q, mode: $m, limit: 50}')"
    check "$who REST POST $mode" "$see" "$(titles <<<"$BODY")"
    no_leak "$who REST POST $mode" "$see"
    # a hidden document's own text as the query
    for i in "${!IDS[@]}"; do
      rest "$key" "${TEXTS[$i]}" "$mode" limit=3
      no_leak "$who REST $mode, query = text of ${IDS[$i]}" "$see"
    done
    rest "$key" "Parental leave lasts sixteen weeks at full pay" "$mode" limit=50
    check "$who REST $mode, query = the foreign text" "$see" "$(titles <<<"$BODY")"
    no_leak "$who REST $mode, query = the foreign text" "$see"
    # MCP
    mcp "$key" "$(jq -cn --arg q "$Q" --arg m "$mode" '{query: $q, mode: $m, limit: 50}')"
    [ "$CODE" = 200 ] && ok || bad "$who MCP $mode: HTTP $CODE"
    check "$who MCP $mode" "$see" "$(titles <<<"$BODY")"
    no_leak "$who MCP $mode" "$see"
    mcp "$key" "$(jq -cn --arg q "$Q" --arg m "$mode" '{query: $q, mode: $m, limit: 1}')"
    one_visible "$who MCP $mode limit=1" "$see" "$mode"
    # CLI (--as needs at least one principal: without it the CLI is the
    # local administrator)
    if [ -n "${VIEW_P[$v]}" ]; then
      as=()
      for p in ${VIEW_P[$v]}; do as+=(--as "$p"); done
      cli --tenant acme --mode "$mode" --limit 50 "${as[@]}" -- "$Q"
      [ "$RC" = 0 ] && ok || bad "$who CLI $mode: exit $RC: $ERR"
      check "$who CLI $mode" "$see" "$(titles <<<"$BODY")"
      no_leak "$who CLI $mode" "$see"
    fi
  done
done

# Tenants: B's key sees only B's document, in both modes, through REST and
# MCP; the CLI on tenant acme (as its administrator) never shows it.
for mode in semantic hybrid; do
  rest "$KEY_B" "$Q" "$mode" limit=50
  [ "$(titles <<<"$BODY")" = "$FOREIGN" ] && ok ||
    bad "tenant other REST $mode: got '$(titles <<<"$BODY")', want '$FOREIGN'"
  for i in "${!IDS[@]}"; do
    grep -q "${TITLES[$i]}" <<<"$BODY" && bad "tenant other REST $mode reveals ${IDS[$i]}" || ok
  done
  mcp "$KEY_B" "$(jq -cn --arg q "${TEXTS[0]}" --arg m "$mode" '{query: $q, mode: $m, limit: 50}')"
  [ "$(titles <<<"$BODY")" = "$FOREIGN" ] && ok ||
    bad "tenant other MCP $mode: got '$(titles <<<"$BODY")', want '$FOREIGN'"
  cli --tenant acme --mode "$mode" --limit 50 -- "Parental leave lasts sixteen weeks at full pay"
  [ "$(titles <<<"$BODY")" = "$ALL" ] && ok ||
    bad "CLI tenant acme $mode: got '$(titles <<<"$BODY")', want '$ALL'"
  cli --tenant other --mode "$mode" --limit 50 -- "$Q"
  [ "$(titles <<<"$BODY")" = "$FOREIGN" ] && ok ||
    bad "CLI tenant other $mode: got '$(titles <<<"$BODY")', want '$FOREIGN'"
done
finish
