#!/usr/bin/env bash
# End-to-end tests of lore's MCP server with real clients from npm
# (tests/mcp/package.json): the official SDK v1 client, the v2 client in its
# legacy, auto and pinned-2026-07-28 modes, and the MCP Inspector CLI, over
# stdio (`lore mcp`) and Streamable HTTP (POST /mcp of `lore serve`). They
# list the tools, call them, validate structured results against the
# tools' output schemas (tests/mcp/clients.mjs), and see exactly what the
# caller's key may see; raw curl and stdin checks cover the wire rules.
set -uo pipefail
LORE=${1:?usage: mcp_clients.sh path/to/lore}
LORE="$(cd "$(dirname "$LORE")" && pwd)/$(basename "$LORE")" # node runs elsewhere
T=$(mktemp -d /tmp/lore-mcpcl-XXXXXX)
START=$(date +%s)
cleanup() {
  [ -n "${SERVE_PID:-}" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
unset LORE_CONFIG LORE_MCP_KEY LORE_MCP_PRINCIPALS LORE_TENANT LORE_MCP_MAX_BODY_KB
# shellcheck source=tests/mcp/lib.sh
source "$(dirname "$0")/../mcp/lib.sh"
lore_store_for "$T/data" # PostgreSQL runs: its own database

if ! mcp_node_setup; then
  echo "mcp_clients.sh: cannot install the npm clients (tests/mcp/setup.sh)" >&2
  exit 1
fi
mcp_serve || exit 1
mcp_seed || { echo "mcp_clients.sh: seeding failed" >&2; exit 1; }
BASE="http://127.0.0.1:$PORT"
DATA="$T/data"

# Document ids (lore's, not the external ones), through the REST API.
doc_id() { # KEY EXTERNAL_ID
  curl -s "$BASE/v1/documents?limit=100" -H "Authorization: Bearer $1" |
    python3 -c 'import json,sys; print(next((d["id"] for d in json.load(sys.stdin)["documents"] if d["external_id"]==sys.argv[1]), ""))' "$2"
}
ID_PUB=$(doc_id "$KEY_NOONE" public-1)
ID_ALICE=$(doc_id "$KEY_ALICE" alice-1)
ID_ENG=$(doc_id "$KEY_ENG" eng-1)
ID_OTHER=$(doc_id "$KEY_OTHER" other-1)
for v in ID_PUB ID_ALICE ID_ENG ID_OTHER; do
  [ -n "${!v}" ] && ok || bad "no document id for $v"
done
# REST agrees on who sees what (the MCP runs below must mirror it).
[ -z "$(doc_id "$KEY_ALICE" eng-1)" ] && [ -z "$(doc_id "$KEY_ENG" alice-1)" ] && ok || bad "REST shows hidden documents"

# ---- the npm clients (tests/mcp/clients.mjs) ----

# clients ARGS...: runs one clients.mjs command; each "ok"/"FAIL" line it
# prints is one check.
clients() {
  local out rc n
  out=$(cd "$NDIR" && "$NODE" clients.mjs "$@" 2>"$T/node.err")
  rc=$?
  n=$(grep -c '^ok ' <<<"$out")
  pass=$((pass + n))
  while IFS= read -r line; do bad "${line#FAIL }"; done < <(grep '^FAIL ' <<<"$out")
  if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' <<<"$out"; then
    bad "clients.mjs $1 ${*:2:6}: exit $rc: $(head -c 1500 "$T/node.err")"
  fi
  [ "$n" -gt 0 ] || bad "clients.mjs $1 ${*:2:6}: no checks ran: $(head -c 1500 "$T/node.err")"
}
STDIO=(--stdio "$LORE" --arg mcp --env "LORE_DATA_DIR=$DATA" --env LORE_LOG_LEVEL=info)
# The clients hand a stdio server a few variables only: the store's URL too.
STORE_ENV=$(lore_store_env "$DATA")
[ -n "$STORE_ENV" ] && STDIO+=(--env "$STORE_ENV")
AS_ALICE=(--see public-1,alice-1 --sources wiki:1,notes:1 --hidden "$ID_ENG,$ID_OTHER")
AS_ENG=(--see public-1,eng-1 --sources wiki:1,github:1 --hidden "$ID_ALICE,$ID_OTHER")
AS_NOONE=(--see public-1 --sources wiki:1 --hidden "$ID_ALICE,$ID_ENG,$ID_OTHER")
AS_OTHER=(--see other-1 --sources wiki:1 --hidden "$ID_PUB,$ID_ALICE,$ID_ENG")

# 1. SDK v1: HTTP and stdio (initialize handshake, 2025-11-25).
clients run --client sdk --http "$URL" --key "$KEY_ALICE" --rest "$BASE" "${AS_ALICE[@]}" --invalid
clients run --client sdk "${STDIO[@]}" --env "LORE_MCP_KEY=$KEY_ALICE" --rest "$BASE" --rest-key "$KEY_ALICE" "${AS_ALICE[@]}" --invalid

# 2. v2 client: auto and pinned 2026-07-28 (stateless, era modern), legacy.
for mode in auto pin; do
  clients run --client v2 --mode $mode --era modern --http "$URL" --key "$KEY_ALICE" --rest "$BASE" "${AS_ALICE[@]}" --invalid
  clients run --client v2 --mode $mode --era modern "${STDIO[@]}" --env "LORE_MCP_KEY=$KEY_ALICE" "${AS_ALICE[@]}" --invalid
done
clients run --client v2 --mode legacy --era legacy --http "$URL" --key "$KEY_ALICE" "${AS_ALICE[@]}"
clients run --client v2 --mode legacy --era legacy "${STDIO[@]}" --env "LORE_MCP_KEY=$KEY_ALICE" "${AS_ALICE[@]}"

# 5. The other callers: what they see mirrors the REST API.
clients run --client sdk --label "sdk http eng" --http "$URL" --key "$KEY_ENG" --rest "$BASE" "${AS_ENG[@]}"
clients run --client v2 --mode pin --era modern --label "v2/pin http noone" --http "$URL" --key "$KEY_NOONE" --rest "$BASE" "${AS_NOONE[@]}"
clients run --client sdk --label "sdk http other" --http "$URL" --key "$KEY_OTHER" --rest "$BASE" "${AS_OTHER[@]}"
clients run --client v2 --mode pin --era modern --label "v2/pin http other" --http "$URL" --key "$KEY_OTHER" "${AS_OTHER[@]}"
clients run --client v2 --mode pin --era modern --label "v2/pin stdio other" "${STDIO[@]}" --env "LORE_MCP_KEY=$KEY_OTHER" "${AS_OTHER[@]}"
clients run --client sdk --label "sdk stdio group:eng" "${STDIO[@]}" --arg --tenant --arg acme \
  --env LORE_MCP_PRINCIPALS=group:eng "${AS_ENG[@]}"
clients run --client v2 --mode auto --era modern --label "v2/auto stdio nobody" "${STDIO[@]}" --arg --tenant --arg acme \
  --env LORE_MCP_PRINCIPALS=user:nobody@x "${AS_NOONE[@]}"
# No key and no principals: the whole tenant, like `lore search`.
clients run --client sdk --label "sdk stdio whole tenant" "${STDIO[@]}" --arg --tenant --arg acme \
  --see public-1,alice-1,eng-1 --sources wiki:1,notes:1,github:1 --hidden "$ID_OTHER"

# UTF-8 text in fetch windows (a tenant of its own, so the others stay as seeded).
LORE_DATA_DIR="$DATA" "$LORE" tenant create intl >/dev/null 2>&1
KEY_INTL=$(LORE_DATA_DIR="$DATA" "$LORE" key create --tenant intl --scope write 2>/dev/null)
if post_doc "$KEY_INTL" '{"source":"wiki","id":"utf-1","title":"Ünïcödé otters","text":"Ünïcödé otters: カワウソは川に住む 🦦🦦 ok 🦦 end ü"}'; then ok; else bad "posting the UTF-8 document"; fi
clients run --client sdk --label "sdk stdio utf-8" "${STDIO[@]}" --arg --tenant --arg intl \
  --see utf-1 --sources wiki:1 --window 1,2,3,5,7

# 3. Refused callers: no key, a bad key (401), a key without read (403).
for c in "sdk" "v2 --mode legacy" "v2 --mode pin"; do
  # shellcheck disable=SC2086
  clients denied --client $c --http "$URL" --status 401
  # shellcheck disable=SC2086
  clients denied --client $c --http "$URL" --key lore_not_a_key --status 401
  # shellcheck disable=SC2086
  clients denied --client $c --http "$URL" --key "$KEY_WRITE" --status 403
done

# ---- raw HTTP ----
CT='Content-Type: application/json'
META='"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}'
# post BODY [CURL ARGS...]: sets CODE, CTYPE; the body is in $T/body, headers in $T/hdr.
post() {
  local body=$1
  shift
  local r
  r=$(curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code} %{content_type}' -X POST "$URL" "$@" --data-binary "$body")
  CODE=${r%% *}
  CTYPE=${r#* }
  BODY=$(cat "$T/body")
}
AUTH=(-H "Authorization: Bearer $KEY_ALICE" -H "$CT")
# jv EXPR: a Python expression over d = the JSON body; prints it as JSON.
jv() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps(eval(sys.argv[2])))' "$T/body" "$1" 2>&1; }
want() { # WHAT GOT EXPECTED
  if [ "$2" = "$3" ]; then ok; else bad "$1: got '$2', want '$3'${BODY:+; body: ${BODY:0:400}}"; fi
}

# 3. Authentication: 401 with a Bearer challenge, 403 for a key without read.
post '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' -H "$CT"
want "no key: status" "$CODE" 401
grep -qi '^WWW-Authenticate: Bearer' "$T/hdr" && ok || bad "no key: no WWW-Authenticate: Bearer header: $(cat "$T/hdr")"
post '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' -H "$CT" -H "Authorization: Bearer lore_not_a_key"
want "bad key: status" "$CODE" 401
grep -qi '^WWW-Authenticate: Bearer.*invalid_token' "$T/hdr" && ok || bad "bad key: challenge: $(cat "$T/hdr")"
post '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' -H "$CT" -H "Authorization: Bearer $KEY_WRITE"
want "write-only key: status" "$CODE" 403
grep -qi '^WWW-Authenticate: Bearer.*insufficient_scope' "$T/hdr" && ok || bad "write-only key: challenge: $(cat "$T/hdr")"
has "$BODY" "needs scope 'read'"

# 7. The wire rules.
for m in GET DELETE; do
  code=$(curl -s -o /dev/null -D "$T/hdr" -w '%{http_code}' -X "$m" "$URL" -H "Authorization: Bearer $KEY_ALICE")
  want "$m /mcp" "$code" 405
  grep -qi '^Allow: POST' "$T/hdr" && ok || bad "$m /mcp: no Allow: POST header"
done
post '[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]' "${AUTH[@]}"
want "batch: status" "$CODE" 400
want "batch: error code" "$(jv 'd["error"]["code"]')" -32600
post '{"jsonrpc":"2.0","id":1,"method":' "${AUTH[@]}"
want "not JSON: status" "$CODE" 400
want "not JSON: error code" "$(jv 'd["error"]["code"]')" -32700
post '{"jsonrpc":"2.0","method":"notifications/initialized"}' "${AUTH[@]}"
want "notification: status" "$CODE" 202
want "notification: empty body" "$BODY" ""
post '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' "${AUTH[@]}" -H 'Host: evil.example'
want "Host evil.example" "$CODE" 403
post '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' "${AUTH[@]}" -H 'Origin: http://evil.example'
want "Origin evil.example" "$CODE" 403
post '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' "${AUTH[@]}" -H 'Origin: http://localhost:1234'
want "Origin localhost:1234" "$CODE" 200
want "Origin localhost:1234: tools" "$(jv '[t["name"] for t in d["result"]["tools"]]')" '["search", "fetch", "list_sources"]'
# 2025 wire over HTTP: stateless, the version in MCP-Protocol-Version.
post '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' "${AUTH[@]}" -H 'MCP-Protocol-Version: 2025-11-25'
want "legacy tools/list: status" "$CODE" 200
want "legacy tools/list: no 2026 fields" "$(jv '[k for k in ("resultType","ttlMs","cacheScope") if k in d["result"]]')" '[]'
post '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' "${AUTH[@]}" -H 'MCP-Protocol-Version: 2024-01-01'
want "legacy unknown version: status" "$CODE" 400
want "legacy unknown version: code" "$(jv 'd["error"]["code"]')" -32022
# 2026-07-28: headers must match the body.
M26=(-H 'MCP-Protocol-Version: 2026-07-28')
post '{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{'"$META"'}}' "${AUTH[@]}" "${M26[@]}" -H 'Mcp-Method: tools/list'
want "modern tools/list: status" "$CODE" 200
want "modern tools/list: resultType, cache" "$(jv '[d["result"]["resultType"], d["result"]["cacheScope"], d["result"]["ttlMs"] >= 0]')" '["complete", "public", true]'
post '{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{'"$META"'}}' "${AUTH[@]}" "${M26[@]}" -H 'Mcp-Method: tools/call'
want "Mcp-Method mismatch: status" "$CODE" 400
want "Mcp-Method mismatch: code" "$(jv 'd["error"]["code"]')" -32020
want "Mcp-Method mismatch: id echoed" "$(jv 'd["id"]')" 3
post '{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{'"$META"'}}' "${AUTH[@]}" "${M26[@]}"
want "Mcp-Method missing: code" "$CODE $(jv 'd["error"]["code"]')" "400 -32020"
post '{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{'"$META"'}}' "${AUTH[@]}" -H 'Mcp-Method: tools/list'
want "MCP-Protocol-Version missing: code" "$CODE $(jv 'd["error"]["code"]')" "400 -32020"
CALL='{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"search","arguments":{"query":"otters"},'"$META"'}}'
post "$CALL" "${AUTH[@]}" "${M26[@]}" -H 'Mcp-Method: tools/call' -H 'Mcp-Name: fetch'
want "Mcp-Name mismatch: code" "$CODE $(jv 'd["error"]["code"]')" "400 -32020"
post "$CALL" "${AUTH[@]}" "${M26[@]}" -H 'Mcp-Method: tools/call'
want "Mcp-Name missing: code" "$CODE $(jv 'd["error"]["code"]')" "400 -32020"
post "$CALL" "${AUTH[@]}" "${M26[@]}" -H 'Mcp-Method: tools/call' -H 'Mcp-Name: =?base64?c2VhcmNo?='
want "Mcp-Name in base64" "$CODE $(jv 'd["result"]["isError"]')" "200 false"
post "$CALL" "${AUTH[@]}" "${M26[@]}" -H 'Mcp-Method:  tools/call ' -H 'Mcp-Name: search'
want "header values with spaces" "$CODE $(jv 'len(d["result"]["structuredContent"]["hits"])')" "200 2"
post '{"jsonrpc":"2.0","id":5,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2099-01-01","io.modelcontextprotocol/clientCapabilities":{}}}}' \
  "${AUTH[@]}" -H 'MCP-Protocol-Version: 2099-01-01' -H 'Mcp-Method: tools/list'
want "unsupported version: status" "$CODE" 400
want "unsupported version: code and data" "$(jv '[d["error"]["code"], "2026-07-28" in d["error"]["data"]["supported"], d["error"]["data"]["requested"]]')" '[-32022, true, "2099-01-01"]'
post '{"jsonrpc":"2.0","id":6,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}' \
  "${AUTH[@]}" "${M26[@]}" -H 'Mcp-Method: tools/list'
want "no clientCapabilities: code" "$CODE $(jv 'd["error"]["code"]')" "400 -32602"
post '{"jsonrpc":"2.0","id":7,"method":"ping","params":{'"$META"'}}' "${AUTH[@]}" "${M26[@]}" -H 'Mcp-Method: ping'
want "modern ping: status" "$CODE" 404
want "modern ping: code, id" "$(jv '[d["error"]["code"], d["id"]]')" '[-32601, 7]'
post '{"jsonrpc":"2.0","id":8,"method":"initialize","params":{'"$META"'}}' "${AUTH[@]}" "${M26[@]}" -H 'Mcp-Method: initialize'
want "modern initialize" "$CODE $(jv 'd["error"]["code"]')" "404 -32601"
post '{"jsonrpc":"2.0","id":"d1","method":"server/discover","params":{'"$META"'}}' "${AUTH[@]}" "${M26[@]}" -H 'Mcp-Method: server/discover'
want "server/discover: status" "$CODE" 200
want "server/discover: fields" "$(jv '[d["id"], (r := d["result"])["resultType"], "2026-07-28" in r["supportedVersions"], "2025-11-25" in r["supportedVersions"], isinstance(r["ttlMs"], int), r["cacheScope"] in ("public","private"), "tools" in r["capabilities"], r["_meta"]["io.modelcontextprotocol/serverInfo"]["name"]]')" \
  '["d1", "complete", true, true, true, true, true, "lore"]'
post '{"jsonrpc":"2.0","id":9,"method":"resources/read","params":{"uri":"lore://doc/'"$ID_ENG"'",'"$META"'}}' \
  "${AUTH[@]}" "${M26[@]}" -H 'Mcp-Method: resources/read' -H "Mcp-Name: lore://doc/$ID_ENG"
want "modern resources/read hidden" "$CODE $(jv '[d["error"]["code"], d["error"]["data"]["uri"]]')" "200 [-32602, \"lore://doc/$ID_ENG\"]"
post '{"jsonrpc":"2.0","id":9,"method":"resources/read","params":{"uri":"lore://doc/'"$ID_PUB"'",'"$META"'}}' \
  "${AUTH[@]}" "${M26[@]}" -H 'Mcp-Method: resources/read' -H "Mcp-Name: lore://doc/$ID_PUB"
want "modern resources/read" "$CODE $(jv '[d["result"]["contents"][0]["text"][:11], d["result"]["cacheScope"]]')" '200 ["Otters hold", "private"]'
# Progress: SSE when the client takes it, the notifications before the result.
PCALL='{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"search","arguments":{"query":"otters"},"_meta":{"progressToken":"p-1","io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}'
post "$PCALL" "${AUTH[@]}" "${M26[@]}" -H 'Mcp-Method: tools/call' -H 'Mcp-Name: search' -H 'Accept: application/json, text/event-stream'
want "progress: status" "$CODE" 200
want "progress: content type" "${CTYPE%%;*}" text/event-stream
sse=$(python3 - "$T/body" <<'EOF'
import json, sys
events = []
for block in open(sys.argv[1]).read().split("\n\n"):
    data = [l[5:].lstrip() for l in block.split("\n") if l.startswith("data:")]
    if data:
        events.append(json.loads("\n".join(data)))
notes = [e for e in events if e.get("method") == "notifications/progress"]
last = events[-1] if events else {}
ok = (len(notes) >= 1 and events[:len(notes)] == notes
      and all(n["params"]["progressToken"] == "p-1" for n in notes)
      and all(a["params"]["progress"] < b["params"]["progress"] for a, b in zip(notes, notes[1:]))
      and last.get("id") == 10 and len(last["result"]["structuredContent"]["hits"]) == 2)
print("good" if ok else "bad: " + json.dumps(events)[:600])
EOF
)
want "progress: notifications then the result" "$sse" good
post "$PCALL" "${AUTH[@]}" "${M26[@]}" -H 'Mcp-Method: tools/call' -H 'Mcp-Name: search' -H 'Accept: application/json'
want "progress without SSE: plain JSON" "$CODE ${CTYPE%%;*} $(jv 'd["id"]')" "200 application/json 10"
# 2025 wire: progress too.
post '{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"list_sources","_meta":{"progressToken":7}}}' \
  "${AUTH[@]}" -H 'MCP-Protocol-Version: 2025-11-25' -H 'Accept: application/json, text/event-stream'
want "legacy progress: SSE" "$CODE ${CTYPE%%;*}" "200 text/event-stream"
has "$BODY" '"progressToken":7'
# The body cap: the default (1 MiB) refuses 2 MB.
head -c 2097152 /dev/zero | tr '\0' ' ' >"$T/big"
code=$(curl -s -o "$T/body" -w '%{http_code}' -X POST "$URL" "${AUTH[@]}" --data-binary @"$T/big")
want "2 MB body" "$code" 413

# ---- 6. MCP Inspector CLI ----
BODY=
inspector() { # ARGS...: stdout to $T/insp.out; sets IRC
  (cd "$NDIR" && "$NODE" node_modules/.bin/inspector --cli "$@") >"$T/insp.out" 2>"$T/insp.err"
  IRC=$?
  INSP=$(cat "$T/insp.out")
}
insp_tools='import json,sys; print(",".join(t["name"] for t in json.load(sys.stdin)["result"]["tools"]))'
insp_hits='import json,sys; r=json.load(sys.stdin)["result"]; print(r["isError"], ",".join(sorted(h["title"] for h in r["structuredContent"]["hits"])))'
IENV=(-e "LORE_DATA_DIR=$DATA" -e "LORE_MCP_KEY=$KEY_ALICE")
[ -n "$STORE_ENV" ] && IENV+=(-e "$STORE_ENV")
inspector "${IENV[@]}" --format json --method tools/list -- "$LORE" mcp
want "inspector stdio tools/list: exit" "$IRC" 0
want "inspector stdio tools/list" "$(python3 -c "$insp_tools" <<<"$INSP" 2>&1)" "search,fetch,list_sources"
inspector "${IENV[@]}" --format json --method tools/call --tool-name search --tool-arg query=otters -- "$LORE" mcp
want "inspector stdio search: exit" "$IRC" 0
want "inspector stdio search" "$(python3 -c "$insp_hits" <<<"$INSP" 2>&1)" "False Alice otter notes,Otter handbook"
inspector --transport http --server-url "$URL" --header "Authorization: Bearer $KEY_ENG" --format json --method tools/list --strict
want "inspector http tools/list (--strict): exit" "$IRC" 0
want "inspector http tools/list" "$(python3 -c "$insp_tools" <<<"$INSP" 2>&1)" "search,fetch,list_sources"
inspector --transport http --server-url "$URL" --header "Authorization: Bearer $KEY_ENG" --protocol-era modern --format json \
  --method tools/call --tool-name search --tool-args-json '{"query":"otters","limit":5}'
want "inspector http modern search: exit" "$IRC" 0
want "inspector http modern search" "$(python3 -c "$insp_hits" <<<"$INSP" 2>&1)" "False Engineering otter design,Otter handbook"
inspector --transport http --server-url "$URL" --header "Authorization: Bearer $KEY_ALICE" --format json \
  --method tools/call --tool-name fetch --tool-arg "id=$ID_ENG"
want "inspector http fetch hidden: exit 5 (tool error)" "$IRC" 5
has "$INSP" "no document with id"
inspector --transport http --server-url "$URL" --format json --method tools/list
want "inspector http without a key: exit 3 (auth required)" "$IRC" 3

# ---- 8. stdio specifics ----
NF=ffffffffffffffff
printf '%s\n' \
  'this is not json' \
  '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' \
  '{"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"printf","version":"1"}}}' \
  '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
  '' \
  '{"jsonrpc":"2.0","id":3,"method":"ping"}' \
  '{"jsonrpc":"2.0","id":4,"method":"resources/read","params":{"uri":"lore://doc/'"$ID_ENG"'"}}' \
  '{"jsonrpc":"2.0","id":5,"method":"resources/read","params":{"uri":"lore://doc/'"$NF"'"}}' \
  '{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"search","arguments":{"query":"otters"},"_meta":{"progressToken":"s"}}}' \
  '[{"jsonrpc":"2.0","id":7,"method":"ping"}]' \
  '{"jsonrpc":"2.0","id":8,"method":"tools/list","params":{'"$META"'}}' \
  '{"jsonrpc":"2.0","id":9,"method":"ping","params":{'"$META"'}}' \
  '{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"nope","arguments":{}}}' |
  env LORE_DATA_DIR="$DATA" LORE_MCP_KEY="$KEY_ALICE" LORE_LOG_LEVEL=debug timeout 20 "$LORE" mcp >"$T/stdio.out" 2>"$T/stdio.err"
want "stdio: exit at EOF" "$?" 0
stdio=$(python3 - "$T/stdio.out" "$ID_ENG" <<'EOF'
import json, sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[-1] == "", "stdout does not end with a newline"
msgs = []
for l in lines[:-1]:
    try:
        msgs.append(json.loads(l))
    except Exception:
        print("not JSON: " + l[:200]); sys.exit()
by = {m.get("id"): m for m in msgs if "id" in m}
def code(i): return by[i]["error"]["code"] if i in by and "error" in by[i] else None
out = [
  msgs[0].get("id", "absent") is None and msgs[0]["error"]["code"] == -32700,
  code(1) == -32600,
  by[2]["result"]["protocolVersion"] == "2025-11-25",
  by[3]["result"] == {},
  code(4) == -32002 and by[4]["error"]["data"]["uri"] == "lore://doc/" + sys.argv[2],
  code(5) == -32002 and by[4]["error"]["message"] == by[5]["error"]["message"],
  [m["params"]["progressToken"] for m in msgs if m.get("method") == "notifications/progress"] == ["s", "s"],
  msgs.index(by[6]) > max(i for i, m in enumerate(msgs) if m.get("method") == "notifications/progress"),
  len(by[6]["result"]["structuredContent"]["hits"]) == 2,
  any("error" in m and m["error"]["code"] == -32600 and m.get("id") is None and "batch" in m["error"]["message"] for m in msgs),
  by[8]["result"]["resultType"] == "complete" and by[8]["result"]["ttlMs"] > 0,
  code(9) == -32601,
  code(10) == -32602,
  len(msgs) == 13,
]
print("good" if all(out) else "bad %s: %s" % (out, json.dumps(msgs)[:1500]))
EOF
)
want "stdio: one JSON message per line, in order" "$stdio" good
has "$(cat "$T/stdio.err")" "lore: info: mcp: serving tenant acme over stdio"
hasnt "$(cat "$T/stdio.err")" "Sanitizer"
hasnt "$(cat "$T/stdio.out")" "lore: "
# A line over mcp_max_body_kb is refused and the next one served.
{
  printf '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"%s"}}\n' "$(head -c 3000 /dev/zero | tr '\0' x)"
  printf '%s\n' '{"jsonrpc":"2.0","id":2,"method":"ping"}'
} | env LORE_DATA_DIR="$DATA" LORE_MCP_KEY="$KEY_ALICE" LORE_MCP_MAX_BODY_KB=1 timeout 20 "$LORE" mcp >"$T/stdio.out" 2>"$T/stdio.err"
want "stdio long line: exit" "$?" 0
want "stdio long line: refused, then served" "$(python3 -c 'import json,sys; m=[json.loads(l) for l in open(sys.argv[1])]; print([x.get("error",{}).get("code") for x in m], m[1].get("result"))' "$T/stdio.out" 2>&1)" "[-32600, None] {}"
# Refused keys: the server does not start.
expect 1 "stdio with a write-only key" -- env LORE_DATA_DIR="$DATA" LORE_MCP_KEY="$KEY_WRITE" "$LORE" mcp </dev/null
has "$ERR" "lacks scope read"
expect 1 "stdio with a bad key" -- env LORE_DATA_DIR="$DATA" LORE_MCP_KEY=lore_not_a_key "$LORE" mcp </dev/null
has "$ERR" "LORE_MCP_KEY"
expect 1 "stdio with a key and --tenant" -- env LORE_DATA_DIR="$DATA" LORE_MCP_KEY="$KEY_ALICE" "$LORE" mcp --tenant acme </dev/null
has "$ERR" "conflicts"
[ -z "$OUT" ] && ok || bad "stdout of a refused start is not empty: $OUT"
expect 2 "stdio for a missing tenant" -- env LORE_DATA_DIR="$DATA" "$LORE" mcp --tenant nope </dev/null
has "$ERR" "does not exist"
expect 1 "stdio with bad principals" -- env LORE_DATA_DIR="$DATA" LORE_MCP_PRINCIPALS=bogus "$LORE" mcp --tenant acme </dev/null
has "$ERR" "not user:<id> or group:<id>"
# The last line needs no newline.
out=$(printf '%s' '{"jsonrpc":"2.0","id":"last","method":"ping"}' | env LORE_DATA_DIR="$DATA" timeout 20 "$LORE" mcp --tenant acme 2>/dev/null)
want "stdio last line without a newline" "$out" '{"jsonrpc":"2.0","id":"last","result":{}}'

# ---- 7. the MCP body cap of its own (mcp_max_body_kb) ----
mcp_stop
hasnt "$(cat "$T/serve.err")" "Sanitizer"
mcp_serve LORE_MCP_MAX_BODY_KB=1 || exit 1
AUTH=(-H "Authorization: Bearer $KEY_ALICE" -H "$CT")
pad=$(head -c 2000 /dev/zero | tr '\0' x)
post '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"pad":"'"$pad"'"}}' "${AUTH[@]}"
want "body over mcp_max_body_kb=1" "$CODE" 413
BODY=
post '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"pad":"xx"}}' "${AUTH[@]}"
want "body under mcp_max_body_kb=1" "$CODE" 200
mcp_stop
hasnt "$(cat "$T/serve.err")" "Sanitizer"

echo "mcp_clients.sh: $(($(date +%s) - START)) s"
echo "mcp_clients.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
