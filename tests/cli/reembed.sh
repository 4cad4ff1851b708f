#!/usr/bin/env bash
# The model switch end to end: a real `lore serve` and the real model server
# (tests/embed/server.mjs: USE-Lite as "use-lite", and shortened to 128
# numbers as "use-lite-mrl").
#
#   1. serve with model A embeds the documents (the embed job);
#   2. restarted with model B, it warns (lore reembed), keeps answering
#      semantic searches from A's slot with A's model, and GET /v1/reembed
#      says a switch is needed;
#   3. POST /v1/reembed starts the switch; while B's slot is built (B's
#      provider made slow), searches are answered (from A's slot), progress
#      is visible, a document is written and one deleted;
#   4. kill -9 of serve mid-build; restarted, the job continues from its
#      committed cursor and switches;
#   5. after: B is live, the audit passes (every live chunk has exactly one
#      vector in B's slot, none for the deleted document), searches use B,
#      the written document is found, the deleted one never comes back;
#      lore reembed --status agrees; a second switch request changes nothing.
# Usage: reembed.sh LORE_BINARY
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../support/semantic.sh
. "$HERE/../support/semantic.sh"
LORE="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
T=$(mktemp -d)
trap semantic_cleanup EXIT
lore_store_for "$T/data" # PostgreSQL runs: its own database
embed_start || { echo "the model server did not start" >&2; exit 1; }
EMB=$EMBED_URL
MPORT=$EMBED_PORT
control() { embed_control "$1"; }
KEY_A="$EMB|use-lite|native"
KEY_B="$EMB|use-lite-mrl|128"

ENV_A=(LORE_EMBED_URL="$EMB" LORE_EMBED_MODEL=use-lite LORE_WORKERS=2 LORE_JOB_LEASE_S=3)
ENV_B=(LORE_EMBED_URL="$EMB" LORE_EMBED_MODEL=use-lite-mrl LORE_EMBED_DIMENSIONS=128
  LORE_EMBED_REEMBED_STEP=4 LORE_WORKERS=2 LORE_JOB_LEASE_S=3)

api() { # METHOD PATH [BODY]
  if [ $# -ge 3 ]; then
    curl -sS -X "$1" "http://127.0.0.1:$PORT$2" -H "Authorization: Bearer $ADMIN" \
      -H 'Content-Type: application/json' -d "$3"
  else
    curl -sS -X "$1" "http://127.0.0.1:$PORT$2" -H "Authorization: Bearer $ADMIN"
  fi
}
jq_() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
status() { api GET "/v1/reembed$1"; }
# The external id of the best semantic hit for $1.
top() {
  curl -sS -G "http://127.0.0.1:$PORT/v1/search" -H "Authorization: Bearer $ADMIN" \
    --data-urlencode "q=$1" --data-urlencode mode=semantic --data-urlencode limit=3 |
    jq_ "d['hits'][0]['external_id'] if d.get('hits') else 'NONE:'+json.dumps(d)[:300]"
}
wait_vectors() { # until the live slot holds every chunk (embed job done)
  for _ in $(seq 1 600); do
    S=$(status "")
    [ "$(jq_ "d['pending']==0 and d['live_model'] is not None" <<<"$S")" = True ] && return 0
    sleep 0.1
  done
  return 1
}

TOPICS=(
  "Parental leave is sixteen weeks for every new parent."
  "The cafeteria serves vegetarian lunch on Fridays."
  "Production deploys require two approvals and a green build."
  "Expense reports are due by the fifth of each month."
  "The VPN client must be updated before connecting from home."
  "Our office in Lisbon opens at eight in the morning."
  "Security badges must be worn visibly at all times."
  "Laptops are replaced every three years by the IT team."
)

# ---- 1. model A embeds the documents ----
mcp_serve_at "$(free_port)" "${ENV_A[@]}" || exit 1
docs='{"documents":['
for i in "${!TOPICS[@]}"; do docs+="{\"id\":\"topic$i\",\"title\":\"Note $i\",\"text\":\"${TOPICS[$i]}\"},"; done
for i in $(seq 0 59); do
  docs+="{\"id\":\"filler$i\",\"title\":\"Routine $i\",\"text\":\"Routine note $i: the weekly status of item $((i * 7)) is unchanged.\"},"
done
docs="${docs%,}]}"
R=$(api POST "/v1/documents?wait=30" "$docs")
has "$R" '"status":"added"'
DEL_ID=$(jq_ "[x['id'] for x in d['documents'] if x['external_id']=='topic4'][0]" <<<"$R")
wait_vectors && ok || bad "model A never embedded every chunk: $S"
has "$(status "")" "\"live_model\": \"$KEY_A\"\|\"live_model\":\"$KEY_A\""
[ "$(top "${TOPICS[1]}")" = topic1 ] && ok || bad "semantic search with model A"
mcp_stop

# ---- 2. restarted with model B: warned, still served from A ----
mcp_serve_at "$(free_port)" "${ENV_B[@]}" || exit 1
has "$(cat "$T/serve.err")" "lore reembed --tenant default"
S=$(status "")
[ "$(jq_ "d['switch_needed'] and d['live_model']=='$KEY_A' and d['target_model']=='$KEY_B'" <<<"$S")" = True ] &&
  ok || bad "GET /v1/reembed before the switch: $S"
[ "$(top "${TOPICS[2]}")" = topic2 ] && ok || bad "semantic search from A's slot under model B's settings"

# ---- 3. the switch, with searches, a write and a delete meanwhile ----
# Model B answers slowly, then goes down once the build has begun: the build
# waits in phase copying (the job put back, no attempt used) while the test
# searches, writes and deletes; then B comes back, slowly, and serve is
# killed (-9) in the middle of a step.
control '{"model":"use-lite-mrl","delay_ms":300}'
R=$(api POST /v1/reembed)
has "$R" '"kind":"reembed"'
JOB=$(jq_ "d['job']['id']" <<<"$R")
has "$JOB" "job_"
v=0
for _ in $(seq 1 600); do
  S=$(status "")
  [ "$(jq_ "d['phase']" <<<"$S")" = copying ] && v=$(jq_ "d['vectors']" <<<"$S") && [ "$v" -ge 8 ] && break
  sleep 0.05
done
[ "$v" -ge 8 ] && ok || bad "the build did not start: $S"
control '{"model":"use-lite-mrl","down":true}'
sleep 1
searched=0
a_requests() { curl -sS "http://127.0.0.1:$MPORT/stats" | jq_ "d['by_model'].get('use-lite|native',{}).get('requests',0)"; }
A0=$(a_requests)
copying() { [ "$(status "" | jq_ "d['phase']=='copying' and d['live_model']=='$KEY_A' and d['build_model']=='$KEY_B' and 0 < d['percent'] < 100")" = True ]; }
for t in 0 1 2 3 5 6 7; do
  copying || bad "not copying during the searches"
  got=$(top "${TOPICS[$t]}")
  [ "$got" = "topic$t" ] && searched=$((searched + 1)) || bad "search during the switch: $got"
done
R=$(api POST "/v1/documents?wait=30" '{"id":"during","title":"Bikes","text":"Bicycle parking is in the basement garage."}')
has "$R" '"status":"added"'
R=$(api DELETE "/v1/documents/$DEL_ID?wait=30")
has "$R" '"deleted":true'
copying && ok || bad "the build did not wait for the provider"
J=$(api GET "/v1/jobs/$JOB")
[ "$(jq_ "d['state'] in ('ready','leased') and d['attempts'] <= 1" <<<"$J")" = True ] && ok ||
  bad "the outage used attempts: $J"
echo "searches answered from the old slot during the build: $searched"
[ "$(a_requests)" -gt "$A0" ] && ok || bad "queries during the switch were not embedded with the old model"
S=$(status "")
v=$(jq_ "d['vectors']" <<<"$S")
control '{"model":"use-lite-mrl","down":false,"delay_ms":2000}'
for _ in $(seq 1 400); do # one more step committed, then the next one is in flight
  S=$(status "")
  [ "$(jq_ "d['vectors'] > $v" <<<"$S")" = True ] && break
  sleep 0.05
done
[ "$(jq_ "d['phase']=='copying' and d['vectors'] > $v" <<<"$S")" = True ] && ok || bad "the build did not resume: $S"
echo "vectors built at the kill: $(jq_ "d['vectors']" <<<"$S") of $(jq_ "d['chunks']" <<<"$S")"

# ---- 4. kill -9 mid-build, restart, the switch completes ----
kill -9 "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null
SERVE_PID=
control '{"reset":true}'
mcp_serve_at "$(free_port)" "${ENV_B[@]}" || exit 1
done_=0
for _ in $(seq 1 900); do
  J=$(api GET "/v1/jobs/$JOB")
  st=$(jq_ "d['state']" <<<"$J")
  [ "$st" = done ] && { done_=1; break; }
  [ "$st" = dead ] && break
  sleep 0.1
done
[ $done_ = 1 ] && ok || bad "the switch did not finish after the restart: $J"
has "$J" '"switched":true'

# ---- 5. after ----
S=$(status "?audit=true")
[ "$(jq_ "d['phase']=='idle' and d['live_model']=='$KEY_B' and not d['switch_needed'] and d['audit']['ok'] and d['audit']['missing']==0 and d['audit']['orphans']==0 and d['audit']['vectors']==d['chunks']==d['audit']['graph_live']" <<<"$S")" = True ] &&
  ok || bad "audit after the switch: $S"
[ "$(top "${TOPICS[6]}")" = topic6 ] && ok || bad "semantic search from B's slot"
[ "$(top "Bicycle parking is in the basement garage.")" = during ] && ok || bad "the document written during the switch"
R=$(curl -sS -G "http://127.0.0.1:$PORT/v1/search" -H "Authorization: Bearer $ADMIN" \
  --data-urlencode "q=${TOPICS[4]}" --data-urlencode mode=semantic --data-urlencode limit=50)
hasnt "$R" '"external_id":"topic4"'
BM=$(curl -sS "http://127.0.0.1:$MPORT/stats" | jq_ "d['by_model'].get('use-lite-mrl|128',{}).get('requests',0)")
[ "$BM" -gt 0 ] && ok || bad "model B was never asked"
# Again: nothing to do.
R=$(api POST "/v1/reembed?wait=30")
has "$R" '"switched":false'
has "$R" '"added":0'
mcp_stop

expect 0 "reembed --status" -- env LORE_DATA_DIR="$T/data" "${ENV_B[@]}" "$LORE" reembed --status --json
[ "$(jq_ "d['audit']['ok'] and d['live_model']=='$KEY_B'" <<<"$OUT")" = True ] && ok || bad "lore reembed --status: $OUT"
expect 0 "reembed --status (text)" -- env LORE_DATA_DIR="$T/data" "${ENV_B[@]}" "$LORE" reembed --status
has "$OUT" "audit: ok"
expect 0 "reembed --wait with nothing to do" -- env LORE_DATA_DIR="$T/data" "${ENV_B[@]}" "$LORE" reembed --wait
has "$OUT" "re-embedded tenant default"
expect 1 "reembed without a model" -- env LORE_DATA_DIR="$T/data" "$LORE" reembed
has "$ERR" "embed_url"
expect 1 "reembed --json alone" -- env LORE_DATA_DIR="$T/data" "$LORE" reembed --json
finish
