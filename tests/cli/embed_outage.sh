#!/usr/bin/env bash
# The embedding pipeline through a real `lore serve` and a real model
# (tests/embed/server.mjs, USE-Lite): writes are embedded by the `embed` job;
# with the provider stopped, no write is lost, lexical search serves them and
# /health/ready says degraded; with it back, every chunk is embedded and
# health is ready; kill -9 of the server while it embeds, then a restart,
# ends complete and consistent: every live chunk has exactly one vector in
# the live slot and the pending set is empty (checked in the tenant's
# database: vector_audit of tests/support/semantic.sh).
set -uo pipefail
source "$(dirname "$0")/../support/semantic.sh"
check() { if eval "$1"; then ok; else bad "$2"; fi; }
# lore serve with the model server: small embedding batches, degraded after
# 2 s of backlog, 2 workers, short leases (a killed server's jobs come back)
OUTAGE_ENV=(LORE_EMBED_BATCH=16 LORE_EMBED_BACKLOG_DEGRADED_S=2 LORE_WORKERS=2 LORE_JOB_LEASE_S=5)
semantic_begin embedq "${1:-}" "${OUTAGE_ENV[@]}"
B="http://127.0.0.1:$PORT"
start() { # again after a kill -9 (a new port)
  serve "${OUTAGE_ENV[@]}"
  B="http://127.0.0.1:$PORT"
}
KEY=$ADMIN
check '[ -n "$KEY" ]' "serve started with a key: $(cat "$T/serve.err")"
H=(-H "Authorization: Bearer $KEY")

# Writes n documents prefix0..prefix(n-1), waiting for their job.
put_docs() {
  local prefix=$1 n=$2 word=$3 docs="" i
  for ((i = 0; i < n; i++)); do
    docs+="${docs:+,}{\"id\":\"$prefix$i\",\"title\":\"$prefix $i\",\"text\":\"Document $i of $prefix talks about $word and the weather on day $i. It is long enough to be one chunk.\"}"
  done
  curl -s "${H[@]}" -H 'Content-Type: application/json' -X POST "$B/v1/documents?wait=30" \
    -d "{\"documents\":[$docs]}" -o "$T/put.json" -w '%{http_code}'
}
ready() { curl -s "$B/health/ready"; }
pending() { # the metric lore_embed_pending_chunks of tenant default (0 when absent)
  local v
  v=$(curl -s "$B/metrics" | sed -n 's/^lore_embed_pending_chunks{tenant="default"} \(.*\)$/\1/p')
  echo "${v:-0}"
}
audit() { vector_audit default; } # prints "chunks vectors matched pending_rows"
# Waits up to $1 s for the pending set to drain and the audit to match.
wait_consistent() {
  local a
  for _ in $(seq $(($1 * 4))); do
    a=$(audit 2>/dev/null)
    set -- $a
    if [ -n "$a" ] && [ "$1" -gt 0 ] && [ "$1" = "$2" ] && [ "$1" = "$3" ] && [ "$4" = 0 ]; then
      return 0
    fi
    sleep 0.25
  done
  echo "audit: $a" >&2
  return 1
}

# --- normal: written, embedded, health ready
code=$(put_docs a 20 otters)
check '[ "$code" = 200 ]' "first write done (got $code: $(cat "$T/put.json"))"
check 'wait_consistent 60' "every chunk of the first write embedded exactly once"
check 'ready | grep -q "\"status\":\"ready\""' "ready with the provider up: $(ready)"
# the provider figures: requests, their time and count, tokens embedded
metric() { curl -s "$B/metrics" | sed -n "s/^$1 \(.*\)\$/\1/p"; }
for m in lore_embed_requests_total lore_embed_request_seconds_count lore_embed_tokens_total \
  lore_embed_request_seconds_sum; do
  v=$(metric "$m")
  check 'awk -v v="${v:-0}" "BEGIN { exit !(v > 0) }"' "$m counts the drain (got ${v:-none})"
done

# --- provider stopped: writes land, lexical search serves them, degraded
embed_stop
code=$(put_docs b 30 badgers)
check '[ "$code" = 200 ]' "a write while the provider is down is done (got $code)"
hits=$(curl -s "${H[@]}" "$B/v1/search?q=badgers&limit=50" | jq '.hits | length')
check '[ "$hits" = 30 ]' "lexical search finds every document written during the outage (got $hits)"
# past embed_backlog_degraded_s (2 s) and the backlog cache (5 s)
for _ in $(seq 60); do
  r=$(ready)
  echo "$r" | grep -q "wait for embeddings" && break
  sleep 0.25
done
check 'echo "$r" | grep -q "\"status\":\"degraded\""' "degraded while the provider is down: $r"
check 'echo "$r" | grep -q "wait for embeddings"' "the reason names the backlog: $r"
check 'echo "$r" | grep -q "provider.s last call failed"' "a reason names the failed provider call: $r"
code=$(curl -s -o /dev/null -w '%{http_code}' "$B/health/ready")
check '[ "$code" = 200 ]' "degraded still answers 200 (got $code)"
p=$(pending)
check '[ "$p" -ge 30 ]' "the backlog is in lore_embed_pending_chunks (got $p)"
o=$(curl -s "$B/metrics" | sed -n 's/^lore_embed_oldest_pending_seconds{tenant="default"} \(.*\)$/\1/p')
check 'awk -v v="${o:-0}" "BEGIN { exit !(v >= 2) }"' "lore_embed_oldest_pending_seconds is past the 2 s threshold (got ${o:-none})"
m=$(curl -s "$B/metrics" | grep '^lore_embed_errors_total{kind="retryable"}')
check 'echo "$m" | grep -q " [1-9]"' "the outage is counted as retryable errors: $m"
dead=$(curl -s "${H[@]}" "$B/v1/jobs?state=dead" | jq '.jobs | length')
check '[ "$dead" = 0 ]' "no job is dead-lettered by the outage (got $dead)"

# --- provider back (same port): the backlog drains, health ready again
embed_start "$EMBED_PORT" || bad "the model server did not restart on port $EMBED_PORT"
check 'wait_consistent 200' "every chunk embedded once the provider is back"
for _ in $(seq 80); do ready | grep -q '"status":"ready"' && break; sleep 0.25; done
check 'ready | grep -q "\"status\":\"ready\""' "ready again once drained: $(ready)"

# --- replace and delete: their vectors go with the chunks
code=$(put_docs a 5 stoats) # same ids, new text: replaced
check '[ "$code" = 200 ]' "replacing documents done"
id=$(jq -r '.documents[0].id' "$T/put.json")
code=$(curl -s -o /dev/null -w '%{http_code}' "${H[@]}" -X DELETE "$B/v1/documents/$id?wait=30")
check '[ "$code" = 200 ]' "delete done (got $code)"
check 'wait_consistent 60' "after replace and delete: one vector per live chunk, none for gone ones"

# --- kill -9 while embedding, restart: complete and consistent
embed_control '{"reset": true}'
embed_control '{"delay_ms": 500}'
code=$(put_docs c 60 weasels)
check '[ "$code" = 200 ]' "write before the crash done"
inflight=0
for _ in $(seq 100); do
  inflight=$(curl -s "http://127.0.0.1:$EMBED_PORT/stats" | jq .in_flight)
  [ "$inflight" -gt 0 ] 2>/dev/null && break
  sleep 0.05
done
check '[ "$inflight" -gt 0 ]' "the server was embedding when it was killed"
kill -9 "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null; SERVE_PID=
a=$(audit)
left=$(echo "$a" | awk '{print $4}')
check '[ "${left:-0}" -gt 0 ]' "chunks were still pending at the crash (audit: $a)"
embed_control '{"reset": true}'
start
check 'wait_consistent 200' "after kill -9 and a restart every chunk has exactly one vector"
mcp_stop

echo "embed_outage.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
