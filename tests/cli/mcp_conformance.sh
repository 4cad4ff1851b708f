#!/usr/bin/env bash
# The official MCP conformance suite (@modelcontextprotocol/conformance,
# pinned in tests/mcp/package.json) against `lore serve` with the conformance
# fixtures (LORE_TEST_MCP_FIXTURES=1), for both protocol eras:
#   conformance server --requirements 2025-11-25 | 2026-07-28
#     --expected-failures tests/mcp/conformance-<era>.yml
# The harness cannot send an Authorization header, so tests/mcp/auth-proxy.mjs
# sits in front of lore and adds a read key, passing everything else (Host
# and Origin included, for the DNS-rebinding scenario) through unchanged.
# Besides the harness's own verdict (which only scores required scenarios),
# every scenario's checks.json is compared with the baseline here: a FAILURE
# or WARNING that is not listed fails, and so does a listed entry that passes
# (stale) or names a scenario that did not run (typo).
# Also: production mode refuses the fixture switch, and without it there are
# no test_* tools.
set -uo pipefail
LORE=${1:?usage: mcp_conformance.sh path/to/lore}
T=$(mktemp -d /tmp/lore-mcpconf-XXXXXX)
PROXY_PID=
cleanup() {
  mcp_stop
  [ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null && wait "$PROXY_PID" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
unset LORE_CONFIG LORE_MODE LORE_MASTER_KEY LORE_TEST_MCP_FIXTURES LORE_MCP_URL LORE_JWT_ISSUER \
  LORE_MCP_ALLOWED_HOSTS LORE_MCP_ALLOWED_ORIGINS LORE_CORS_ORIGINS
HERE="$(cd "$(dirname "$0")/../mcp" && pwd)"
source "$HERE/lib.sh"
lore_store_for "$T/data" # PostgreSQL runs: its own database
mcp_node_setup || { echo "FAIL: cannot set up the node clients" >&2; exit 1; }
CONFORMANCE="$NDIR/node_modules/@modelcontextprotocol/conformance/dist/index.js"
MASTER=0123456789abcdef0123456789abcdef-master

# rpc KEY BODY [HEADER...]: POST /mcp of the running server; CODE, BODY.
rpc() {
  local key=$1 body=$2
  shift 2
  CODE=$(curl -s -o "$T/body" -w '%{http_code}' -X POST "$URL" -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' "$@" \
    -d "$body")
  BODY=$(cat "$T/body")
}
LIST='{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
PROMPTS='{"jsonrpc":"2.0","id":2,"method":"prompts/list"}'

# --- production mode refuses the fixture switch (serve and stdio)
expect 1 "production serve with LORE_TEST_MCP_FIXTURES=1" -- env LORE_DATA_DIR="$T/prod" \
  $(lore_store_env "$T/prod") \
  LORE_MODE=production LORE_MASTER_KEY=$MASTER LORE_TEST_MCP_FIXTURES=1 \
  timeout 10 "$LORE" serve --listen 127.0.0.1:0
has "$ERR" "LORE_TEST_MCP_FIXTURES"
has "$ERR" "production"
hasnt "$OUT" "listening on"
expect 1 "production mcp (stdio) with LORE_TEST_MCP_FIXTURES=1" -- env LORE_DATA_DIR="$T/prod" \
  $(lore_store_env "$T/prod") \
  LORE_MODE=production LORE_MASTER_KEY=$MASTER LORE_TEST_MCP_FIXTURES=1 \
  timeout 10 "$LORE" mcp </dev/null
has "$ERR" "LORE_TEST_MCP_FIXTURES"
# ... and it is the switch that is refused: production mode itself starts
if mcp_serve LORE_MODE=production LORE_MASTER_KEY=$MASTER; then
  ok
else
  bad "production mode without the fixture switch did not start"
fi
mcp_stop

# --- without the switch: lore's own tools only, no fixture methods
rm -rf "$T/data" && lore_store_reset "$T/data"
mcp_serve || exit 1
rpc "$ADMIN" "$LIST"
[ "$CODE" = 200 ] && ok || bad "tools/list without fixtures: HTTP $CODE: $BODY"
got=$(jq -c '[.result.tools[].name]' <<<"$BODY" 2>&1)
[ "$got" = '["search","fetch","list_sources"]' ] && ok || bad "tools without fixtures: $got"
hasnt "$BODY" '"test_'
rpc "$ADMIN" "$PROMPTS"
has "$BODY" '"code":-32601'
mcp_stop

# --- with the switch: the fixtures, a read key, the proxy in front
rm -rf "$T/data" && lore_store_reset "$T/data"
mcp_serve LORE_TEST_MCP_FIXTURES=1 || exit 1
has "$(cat "$T/serve.err")" "LORE_TEST_MCP_FIXTURES"  # the warning that fixtures are on
KEY=$(env LORE_DATA_DIR="$T/data" "$LORE" key create --tenant default --scope read 2>"$T/err")
[[ "$KEY" =~ ^lore_ ]] || { echo "FAIL: cannot create a read key: $(cat "$T/err")" >&2; exit 1; }
rpc "$KEY" "$LIST"
for t in test_simple_text test_tool_with_progress test_missing_capability json_schema_2020_12_tool search; do
  has "$BODY" "\"name\":\"$t\""
done
"$NODE" "$NDIR/auth-proxy.mjs" "$PORT" "$KEY" >"$T/proxy.out" 2>"$T/proxy.err" &
PROXY_PID=$!
for _ in $(seq 1 100); do
  grep -q '^port ' "$T/proxy.out" && break
  sleep 0.05
done
XP=$(sed -n 's/^port //p' "$T/proxy.out")
[ -n "$XP" ] || { echo "FAIL: the proxy did not start: $(cat "$T/proxy.err")" >&2; exit 1; }
XURL="http://127.0.0.1:$XP/mcp"
# the proxy adds the key, and passes Host and Origin through untouched (else
# the dns-rebinding scenario would test the proxy, not lore)
code=$(curl -s -o "$T/px" -w '%{http_code}' -X POST "$XURL" -H 'Content-Type: application/json' \
  -d '{"jsonrpc":"2.0","id":1,"method":"ping"}')
[ "$code" = 200 ] && ok || bad "ping through the proxy: HTTP $code: $(cat "$T/px")"
for h in 'Host: evil.example.com' 'Origin: http://evil.example.com'; do
  code=$(curl -s -o "$T/px" -w '%{http_code}' -X POST "$XURL" -H 'Content-Type: application/json' \
    -H "$h" -d '{"jsonrpc":"2.0","id":1,"method":"ping"}')
  [ "$code" = 403 ] && ok || bad "'$h' through the proxy: HTTP $code, want 403: $(cat "$T/px")"
done

# baseline_check ERA OUTDIR: every FAILURE/WARNING of every scenario that ran
# is in the baseline; every baseline entry still fails and names a scenario
# that ran.
baseline_check() {
  local era=$1 dir=$2 yml="$HERE/conformance-$1.yml" f s e
  : >"$T/fails" && : >"$T/passes" && : >"$T/ran"
  for f in "$dir"/*/checks.json; do
    [ -f "$f" ] || continue
    s=$(basename "$(dirname "$f")" | sed 's/^server-//; s/-[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T.*$//')
    echo "$s" >>"$T/ran"
    jq -r --arg s "$s" '.[] | select(.status=="FAILURE" or .status=="WARNING")
      | "\($s):\(.id)\t\(.status): \(.errorMessage // .details.message // .description)"' "$f" >>"$T/fails"
    jq -r --arg s "$s" '.[] | select(.status=="SUCCESS") | "\($s):\(.id)"' "$f" >>"$T/passes"
  done
  local entries
  entries=$(sed -n 's/^[[:space:]]*-[[:space:]]*"\{0,1\}\([^"#]*[^"# ]\)"\{0,1\}[[:space:]]*$/\1/p' "$yml")
  [ -n "$entries" ] || bad "$era: no entries read from $yml"
  while IFS=$'\t' read -r id msg; do
    [ -n "$id" ] || continue
    if grep -qxF -- "$id" <<<"$entries" || grep -qxF -- "${id%%:*}" <<<"$entries"; then
      ok
    else
      bad "$era: conformance $id (not in the baseline) $msg"
    fi
  done <"$T/fails"
  while read -r e; do
    s=${e%%:*}
    if ! grep -qxF -- "$s" "$T/ran"; then
      bad "$era: baseline entry '$e': that scenario did not run"
    elif [ "$e" != "$s" ]; then
      if grep -q -- "^$e	" "$T/fails"; then ok; else bad "$era: baseline entry '$e' no longer fails (stale)"; fi
    else
      if grep -q -- "^$s:" "$T/fails"; then ok; else bad "$era: baseline entry '$e' no longer fails (stale)"; fi
    fi
  done <<<"$entries"
}

# --- the suite, once per era
for era in 2025-11-25 2026-07-28; do
  out="$T/conf-$era"
  timeout 50 "$NODE" "$CONFORMANCE" server --url "$XURL" --requirements "$era" --timeout 10000 \
    --expected-failures "$HERE/conformance-$era.yml" -o "$out" >"$T/conf-$era.txt" 2>&1
  rc=$?
  if [ "$rc" -eq 0 ]; then
    ok
  else
    bad "conformance --requirements $era exited $rc:
$(sed -n '/=== SUMMARY ===/,$p' "$T/conf-$era.txt" | grep -v '^✓' | sed 's/\x1b\[[0-9;]*m//g')"
  fi
  n=$(find "$out" -name checks.json 2>/dev/null | wc -l)
  [ "$n" -ge 30 ] && ok || bad "conformance $era ran only $n scenarios"
  baseline_check "$era" "$out"
done
# the scenarios at the heart of each era really passed
for f in "$T"/conf-2025-11-25/server-server-initialize-*/checks.json "$T"/conf-2026-07-28/server-server-stateless-*/checks.json; do
  n=$(jq '[.[] | select(.status=="SUCCESS")] | length' "$f" 2>/dev/null || echo 0)
  [ "${n:-0}" -ge 2 ] && ok || bad "$(basename "$(dirname "$f")"): only ${n:-0} checks passed"
done
n=$(jq '[.[] | select(.status=="SUCCESS")] | length' "$T"/conf-2026-07-28/server-server-stateless-*/checks.json 2>/dev/null || echo 0)
[ "${n:-0}" -ge 20 ] && ok || bad "server-stateless: only ${n:-0} checks passed"
mcp_stop

finish
