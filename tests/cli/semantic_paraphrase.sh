#!/usr/bin/env bash
# A question that shares no word with its answer, end to end: a real `lore
# serve` with a real embedding model (tests/embed/server.mjs, USE-Lite over
# the OpenAI protocol). "how many days off after having a baby" against a
# document "Family policy: Parental leave is 16 weeks, paid in full." among
# distractors (one of which shares the word "days" with the question):
#   - semantic finds it first, hybrid finds it (on the first page), lexical
#     does not find it at all, through REST (GET and POST), the MCP search
#     tool and `lore search --mode`;
#   - with an embedder configured the default mode is hybrid;
#   - explain shows it has no lexical rank and semantic rank 1;
#   - `lore search --mode semantic` without an embedder is a clear error
#     naming embed_url.
set -uo pipefail
source "$(dirname "$0")/../support/semantic.sh"
semantic_begin sempara "${1:-}"
"${L[@]}" tenant create acme >/dev/null 2>&1
W=$(new_key acme read,write,admin)
R=$(new_key acme read)
[[ "$W" =~ ^lore_ && "$R" =~ ^lore_ ]] || { echo "FAIL: cannot create keys" >&2; exit 1; }

Q="how many days off after having a baby"
TARGET="Family policy"
post "$W" '{"source":"hr","id":"leave","title":"Family policy","text":"Parental leave is 16 weeks, paid in full."}' &&
  post "$W" '{"source":"hr","id":"expenses","title":"Expense rules","text":"Receipts must be filed within thirty days of purchase."}' &&
  post "$W" '{"source":"hr","id":"hours","title":"Office hours","text":"The building opens at eight and closes at six."}' &&
  post "$W" '{"source":"wiki","id":"otters","title":"Otter handbook","text":"Otters hold hands while they sleep."}' &&
  post "$W" '{"source":"wiki","id":"volcano","title":"Volcanoes","text":"Magma erupts from the crater and lava flows down the slopes."}' ||
  exit 1

# The premise: no word of the question is in the document (lower-cased).
for w in $Q; do
  grep -qiw -- "$w" <<<"Family policy Parental leave is 16 weeks, paid in full." &&
    bad "the test's premise: '$w' is in the document"
done

wait_drained 180 "$W"
for _ in $(seq 1 300); do
  rest "$R" "$Q" semantic
  [ "$(ranked <<<"$BODY" | cut -d, -f1)" = "$TARGET" ] && break
  sleep 0.2
done

# REST GET
rest "$R" "$Q" semantic
[ "$CODE" = 200 ] && ok || bad "REST semantic: HTTP $CODE: ${BODY:0:400}"
has "$(jq -r .mode <<<"$BODY")" '^semantic$'
[ "$(ranked <<<"$BODY" | cut -d, -f1)" = "$TARGET" ] && ok ||
  bad "REST semantic: '$TARGET' is not first: $(ranked <<<"$BODY")"
has "$(jq -r '.hits[0].snippet // ""' <<<"$BODY")" "Parental leave" # a semantic hit has a snippet
rest "$R" "$Q" hybrid limit=3
[ "$CODE" = 200 ] && ok || bad "REST hybrid: HTTP $CODE: ${BODY:0:400}"
has "$(jq -r .mode <<<"$BODY")" '^hybrid$'
has ",$(ranked <<<"$BODY")," ",$TARGET,"
rest "$R" "$Q" lexical limit=50
[ "$CODE" = 200 ] && ok || bad "REST lexical: HTTP $CODE: ${BODY:0:400}"
has "$(jq -r .mode <<<"$BODY")" '^lexical$'
hasnt "$(ranked <<<"$BODY")" "$TARGET"
has "$(ranked <<<"$BODY")" "Expense rules" # "days": lexical does find words
# the default mode with an embedder configured is hybrid
CODE=$(curl -s -o "$T/d.out" -w '%{http_code}' -G "http://127.0.0.1:$PORT/v1/search" \
  -H "Authorization: Bearer $R" --data-urlencode "q=$Q" --data-urlencode limit=3)
BODY=$(cat "$T/d.out")
has "$(jq -r .mode <<<"$BODY")" '^hybrid$'
has ",$(ranked <<<"$BODY")," ",$TARGET,"
# explain: no lexical rank, semantic rank 1, a fused score
rest "$R" "$Q" hybrid explain=true
E=$(jq -c --arg t "$TARGET" '.hits[] | select(.title == $t) | .explain' <<<"$BODY")
has "$(jq -r '.lexical' <<<"$E")" '^null$'
has "$(jq -r '.semantic.rank' <<<"$E")" '^1$'
has "$(jq -r '.fused | type' <<<"$E")" '^number$'
E=$(jq -c '.hits[] | select(.title == "Expense rules") | .explain' <<<"$BODY")
has "$(jq -r '.lexical.rank' <<<"$E")" '^1$'

# REST POST
for mode in semantic hybrid lexical; do
  rest_post "$R" "$(jq -cn --arg q "$Q" --arg m "$mode" '{query: $q, mode: $m, limit: 3}')"
  [ "$CODE" = 200 ] && ok || bad "REST POST $mode: HTTP $CODE: ${BODY:0:400}"
  case $mode in
    semantic) [ "$(ranked <<<"$BODY" | cut -d, -f1)" = "$TARGET" ] && ok || bad "REST POST semantic: $(ranked <<<"$BODY")" ;;
    hybrid) has ",$(ranked <<<"$BODY")," ",$TARGET," ;;
    lexical) hasnt "$(ranked <<<"$BODY")" "$TARGET" ;;
  esac
done

# MCP
for mode in semantic hybrid lexical; do
  mcp "$R" "$(jq -cn --arg q "$Q" --arg m "$mode" '{query: $q, mode: $m, limit: 3}')"
  [ "$CODE" = 200 ] && ok || bad "MCP $mode: HTTP $CODE: ${BODY:0:400}"
  [ "$(jq -r '.hits | type' <<<"$BODY" 2>/dev/null)" = array ] && ok || bad "MCP $mode: no hits: ${BODY:0:400}"
  case $mode in
    semantic) [ "$(ranked <<<"$BODY" | cut -d, -f1)" = "$TARGET" ] && ok || bad "MCP semantic: $(ranked <<<"$BODY")" ;;
    hybrid) has ",$(ranked <<<"$BODY")," ",$TARGET," ;;
    lexical) hasnt "$(ranked <<<"$BODY")" "$TARGET" ;;
  esac
done

# CLI
for mode in semantic hybrid lexical; do
  cli --tenant acme --mode "$mode" --limit 3 -- "$Q"
  [ "$RC" = 0 ] && ok || bad "CLI $mode: exit $RC: $ERR"
  case $mode in
    semantic) [ "$(ranked <<<"$BODY" | cut -d, -f1)" = "$TARGET" ] && ok || bad "CLI semantic: $(ranked <<<"$BODY")" ;;
    hybrid) has ",$(ranked <<<"$BODY")," ",$TARGET," ;;
    lexical) hasnt "$(ranked <<<"$BODY")" "$TARGET" ;;
  esac
done
cli --tenant acme --limit 3 -- "$Q" # the default: hybrid
has ",$(ranked <<<"$BODY")," ",$TARGET,"
cli --tenant acme --mode semantic --explain -- "$Q"
[ "$RC" = 0 ] && ok || bad "CLI --explain: exit $RC: $ERR"
has "$(jq -c '.hits[0].explain.semantic.rank' <<<"$BODY")" '^1$'
# plain output (not JSON) names the document too
OUT=$(env LORE_DATA_DIR="$T/data" "${EMBED_ENV[@]}" "$LORE" search --tenant acme --mode semantic \
  --limit 1 -- "$Q" 2>&1)
has "$OUT" "$TARGET"

# Without an embedder, semantic is refused with a clear error naming embed_url.
env LORE_DATA_DIR="$T/data" "$LORE" search --tenant acme --mode semantic -- "$Q" >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" != 0 ] && ok || bad "CLI semantic without an embedder: exit 0: $(cat "$T/out")"
has "$(cat "$T/err")" "embed_url"
expect 0 "CLI lexical without an embedder" -- env LORE_DATA_DIR="$T/data" "$LORE" search \
  --tenant acme --mode lexical --json -- "days"
has "$OUT" "Expense rules"
finish
