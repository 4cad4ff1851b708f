#!/usr/bin/env bash
# Deleted and replaced documents never come back through vectors, end to
# end: a real `lore serve` (two job workers) with a real embedding model
# (tests/embed/server.mjs, USE-Lite over the OpenAI protocol).
#   - a document found by meaning, then deleted through REST (one of them
#     long, many chunks): semantic and hybrid never show it again, through
#     REST, MCP and the CLI, even for a query that is its own text;
#   - a document replaced with a text about something else: a query for the
#     old meaning no longer puts it first and never shows the old text, a
#     query for the new meaning does;
#   - a delete and a replacement while the embedding of the old text is in
#     flight at the provider (held by its delay_ms): the late embedding is
#     dropped, the document stays deleted, the replacement has its new
#     meaning;
#   - `lore ingest --sync` removing a file's document;
#   - all of it again after a restart of lore serve;
#   - after each step, the tenant's database holds exactly one vector per
#     live chunk and nothing pending (the search drops a hit whose chunk is
#     gone, so a vector left behind is only seen there).
set -uo pipefail
source "$(dirname "$0")/../support/semantic.sh"
semantic_begin semdel "${1:-}" LORE_WORKERS=2
"${L[@]}" tenant create acme >/dev/null 2>&1
W=$(new_key acme read,write,admin)
[[ "$W" =~ ^lore_ ]] || { echo "FAIL: cannot create keys" >&2; exit 1; }

# post_id KEY JSON: post, print the document's id
post_id() { post "$1" "$2" && jq -r '.documents[0].id' "$T/post.out"; }
# del ID: delete through REST, waited for
del() {
  local code
  code=$(curl -s -m 60 -o "$T/del.out" -w '%{http_code}' -X DELETE \
    "http://127.0.0.1:$PORT/v1/documents/$1?wait=30" -H "Authorization: Bearer $W")
  [ "$code" = 200 ] && ok || bad "DELETE /v1/documents/$1: HTTP $code: $(cat "$T/del.out")"
}
# first_semantic QUERY TEXT: waits until the first semantic hit holds TEXT
# (its title, or for a file its name in the title, url or snippet)
first_semantic() {
  for _ in $(seq 1 300); do
    rest "$W" "$1" semantic
    [ "$(jq --arg t "$2" '.hits[0] // {} | tostring | contains($t)' <<<"$BODY")" = true ] &&
      { ok; return 0; }
    sleep 0.2
  done
  bad "'$2' is not the first semantic hit for '$1': $(ranked <<<"$BODY")"
}
# never TITLE QUERY...: no answer to any QUERY, in semantic or hybrid mode,
# through REST, MCP or the CLI, names TITLE
never() {
  local title=$1 q mode
  shift
  for q in "$@"; do
    for mode in semantic hybrid; do
      rest "$W" "$q" "$mode" limit=50 text=true
      [ "$CODE" = 200 ] && ok || bad "REST $mode '$q': HTTP $CODE: ${BODY:0:300}"
      grep -q -- "$title" <<<"$BODY" && bad "REST $mode '$q' shows '$title': ${BODY:0:400}" || ok
      mcp "$W" "$(jq -cn --arg q "$q" --arg m "$mode" '{query: $q, mode: $m, limit: 50}')"
      [ "$CODE" = 200 ] && ok || bad "MCP $mode '$q': HTTP $CODE"
      grep -q -- "$title" <<<"$BODY" && bad "MCP $mode '$q' shows '$title': ${BODY:0:400}" || ok
      cli --tenant acme --mode "$mode" --limit 50 -- "$q"
      [ "$RC" = 0 ] && ok || bad "CLI $mode '$q': exit $RC: $ERR"
      BODY=$(jq -c 'del(.query)' <<<"$BODY") # the CLI's answer repeats the query
      grep -q -- "$title" <<<"$BODY" && bad "CLI $mode '$q' shows '$title': ${BODY:0:400}" || ok
    done
  done
}

# Documents that stay.
post "$W" '{"source":"wiki","id":"volcano","title":"Volcanoes","text":"Magma erupts from the crater and lava flows down the slopes."}' &&
  post "$W" '{"source":"wiki","id":"hours","title":"Office hours","text":"The building opens at eight and closes at six."}' &&
  post "$W" '{"source":"wiki","id":"otters","title":"Otter handbook","text":"Otters hold hands while they sleep."}' ||
  exit 1

# --- deletes through REST: a short document and a long one (many chunks)
QLEAVE="how many days off after having a baby"
LEAVE_TEXT="Parental leave is 16 weeks, paid in full."
ID_LEAVE=$(post_id "$W" '{"source":"hr","id":"leave","title":"Family policy","text":"Parental leave is 16 weeks, paid in full."}')
long=""
for i in $(seq 1 300); do
  long+="Astronomers chart star number $i through the telescope at night, noting its brightness and the constellation around it. "
done
QSTARS="observing celestial objects in the night sky"
ID_ATLAS=$(post_id "$W" "$(jq -cn --arg x "$long" '{source: "wiki", id: "atlas", title: "Star atlas", text: $x}')")
wait_drained 300 "$W"
first_semantic "$QLEAVE" "Family policy"
first_semantic "$QSTARS" "Star atlas"
del "$ID_LEAVE"
del "$ID_ATLAS"
never "Family policy" "$QLEAVE" "$LEAVE_TEXT"
never "Star atlas" "$QSTARS" "Astronomers chart star number 7 through the telescope at night"
wait_drained 120 "$W" # nothing left behind that an embed job could bring back
consistent "after the deletes" acme
never "Family policy" "$QLEAVE"
never "Star atlas" "$QSTARS"

# --- a replacement with a text about something else
QBAKE="how to make bread at home"
QFIRE="molten rock exploding out of a mountain"
post "$W" '{"source":"wiki","id":"notes","title":"Notes","text":"Lava pours from the erupting mountain and ash buries the villages."}' || exit 1
wait_drained 120 "$W"
rest "$W" "$QFIRE" semantic limit=2
has ",$(ranked <<<"$BODY")," ",Notes," # the old meaning is near before the replacement
post "$W" '{"source":"wiki","id":"notes","title":"Notes","text":"Knead the dough, let it rise overnight, then bake the loaf until golden."}' || exit 1
wait_drained 120 "$W"
first_semantic "$QBAKE" "Notes"
consistent "after the replacement" acme
for mode in semantic hybrid; do
  rest "$W" "$QFIRE" "$mode" limit=50 text=true
  [ "$(ranked <<<"$BODY" | cut -d, -f1)" = "Volcanoes" ] && ok ||
    bad "$mode after the replacement: 'Volcanoes' should lead for '$QFIRE': $(ranked <<<"$BODY")"
  grep -q "ash buries" <<<"$BODY" && bad "$mode shows the replaced text: ${BODY:0:400}" || ok
done
never "ash buries" "$QFIRE" "Lava pours from the erupting mountain and ash buries the villages."

# --- a delete and a replacement while the old text's embedding is in flight
embed_control '{"delay_ms": 4000}'
ID_WHALE=$(post_id "$W" '{"source":"sea","id":"whale","title":"Whale song","text":"Humpback whales sing long songs that travel across the ocean."}')
post "$W" '{"source":"garden","id":"garden","title":"Garden notes","text":"Roses need full sun, rich soil and pruning in early spring."}' || exit 1
inflight=0
for _ in $(seq 1 200); do
  n=$(curl -s "http://127.0.0.1:$EMBED_PORT/stats" | jq -r '.in_flight')
  [ "${n:-0}" -gt 0 ] && { inflight=1; break; }
  sleep 0.05
done
[ "$inflight" = 1 ] && ok || bad "no embedding request reached the provider"
del "$ID_WHALE"
post "$W" '{"source":"garden","id":"garden","title":"Garden notes","text":"Change the engine oil and check the brake pads of the car every year."}' || exit 1
embed_control '{"delay_ms": 0}'
wait_drained 180 "$W"
consistent "after a delete and a replacement during an embedding" acme
QWHALE="marine mammals making music underwater"
never "Whale song" "$QWHALE" "Humpback whales sing long songs that travel across the ocean."
first_semantic "servicing a vehicle" "Garden notes"
never "Roses need full sun" "flowers growing in a sunny bed" "Roses need full sun, rich soil and pruning in early spring."

# --- a folder sync removes a file's document
mkdir -p "$T/folder"
printf 'Whistling kettles boil water for a cup of tea.\n' >"$T/folder/kettle.txt"
printf 'Bicycles have two wheels and a chain.\n' >"$T/folder/bike.txt"
expect 0 "lore ingest --sync" -- "${L[@]}" ingest --quiet --tenant acme --source folder --sync "$T/folder"
wait_drained 120 "$W"
QTEA="preparing a hot drink"
first_semantic "$QTEA" "kettle"
rm "$T/folder/kettle.txt"
expect 0 "lore ingest --sync after removing a file" -- "${L[@]}" ingest --quiet --tenant acme \
  --source folder --sync "$T/folder"
wait_drained 120 "$W"
never "kettle" "$QTEA" "Whistling kettles boil water for a cup of tea."
consistent "after the sync" acme

# --- after a restart, none of them comes back
mcp_stop
serve LORE_WORKERS=2 || exit 1
first_semantic "servicing a vehicle" "Garden notes" # the vectors are there
never "Family policy" "$QLEAVE"
never "Star atlas" "$QSTARS"
never "Whale song" "$QWHALE"
never "ash buries" "$QFIRE"
never "Roses need full sun" "flowers growing in a sunny bed"
never "kettle" "$QTEA"
consistent "after the restart" acme
finish
