#!/usr/bin/env bash
# One view, three front ends: the same search, document and sources asked
# of the REST API (`lore serve`), the MCP server (`lore mcp` over stdio) and
# the CLI (`lore search --json`, `lore get --json`) come back with REST's
# field names and the same values (src/view/). Each front end may add fields
# of its own (the CLI's query and range, MCP's more and text window), never
# rename or drop one of REST's.
set -uo pipefail
LORE=${1:?usage: view_fields.sh path/to/lore}
LORE=$(cd "$(dirname "$LORE")" && pwd)/$(basename "$LORE")
T=$(mktemp -d /tmp/lore-view-XXXXXX)
source "$(dirname "$0")/../mcp/lib.sh"
cleanup() { mcp_stop; rm -rf "$T"; }
trap cleanup EXIT
export LORE_DATA_DIR="$T/data"
lore_store_for "$LORE_DATA_DIR" # PostgreSQL runs: its own database
unset LORE_CONFIG LORE_EMBED_URL

mcp_serve || { echo "FAIL: lore serve did not start"; exit 1; }
mcp_seed || { echo "FAIL: seeding"; exit 1; }
B="http://127.0.0.1:$PORT"

# REST, as a key with the principal group:eng
curl -s -H "Authorization: Bearer $KEY_ENG" "$B/v1/search?q=otters&limit=10" >"$T/rest_search.json"
ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["hits"][0]["id"])' "$T/rest_search.json")
[[ "$ID" =~ ^[0-9a-f]{16}$ ]] && ok || bad "REST search found nothing: $(cat "$T/rest_search.json")"
curl -s -H "Authorization: Bearer $KEY_ENG" "$B/v1/documents/$ID" >"$T/rest_doc.json"
curl -s -H "Authorization: Bearer $KEY_ENG" "$B/v1/sources" >"$T/rest_sources.json"

# the CLI, as the same principal
expect 0 "lore search --json" -- "$LORE" search --tenant acme --json --as group:eng --limit 10 otters
printf '%s' "$OUT" >"$T/cli_search.json"
expect 0 "lore get --json" -- "$LORE" get --tenant acme --json "$ID"
printf '%s' "$OUT" >"$T/cli_doc.json"

# MCP over stdio, with the same key
printf '%s\n' \
  '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"view","version":"1"}}}' \
  '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
  '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"search","arguments":{"query":"otters","limit":10}}}' \
  '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"fetch","arguments":{"id":"'"$ID"'"}}}' \
  '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"list_sources","arguments":{}}}' |
  LORE_MCP_KEY="$KEY_ENG" timeout 20 "$LORE" mcp >"$T/mcp.out" 2>"$T/mcp.err"
[ $? -eq 0 ] && ok || bad "lore mcp failed: $(cat "$T/mcp.err")"

RESULT=$(python3 - "$T" <<'PY' 2>&1
import json, sys
t = sys.argv[1]
load = lambda n: json.load(open(f"{t}/{n}"))
mcp = {}
for line in open(f"{t}/mcp.out"):
    m = json.loads(line)
    if m.get("id") in (2, 3, 4):
        mcp[m["id"]] = m.get("result", {}).get("structuredContent", m)
fails = []
def same(what, rest, other, skip=()):
    for k, v in rest.items():
        if k in skip:
            continue
        if k not in other:
            fails.append(f"{what}: no field {k}")
        elif k == "score" or k == "took_ms":
            if k == "score" and abs(other[k] - v) > 1e-5 * max(1, abs(v)):
                fails.append(f"{what}: score {other[k]} != {v}")
        elif other[k] != v:
            fails.append(f"{what}: {k} = {other[k]!r}, REST says {v!r}")

rs, cs, ms = load("rest_search.json"), load("cli_search.json"), mcp[2]
if len(rs["hits"]) < 2:
    fails.append(f"want 2 hits, REST has {len(rs['hits'])}")
for name, other in (("cli", cs), ("mcp", ms)):
    same(f"{name} search answer", rs, other, skip=("hits", "next_cursor"))
    if [h["id"] for h in other["hits"]] != [h["id"] for h in rs["hits"]]:
        fails.append(f"{name}: other hits than REST")
    for rh, oh in zip(rs["hits"], other["hits"]):
        same(f"{name} hit {rh['id']}", rh, oh)
# the names that drifted before the shared view
if any("chunk" in h for h in cs["hits"]):
    fails.append("cli hit still has chunk")
rd, cd, md = load("rest_doc.json"), load("cli_doc.json"), mcp[3]
same("cli document", rd, cd)
same("mcp document", rd, md)
for k in ("created", "updated", "indexed"):
    if k in cd:
        fails.append(f"cli document still has {k}")
if md["total_length"] != len(rd["text"].encode()):
    fails.append("mcp fetch did not return the whole short text")
if mcp[4]["sources"] != load("rest_sources.json")["sources"]:
    fails.append(f"sources differ: {mcp[4]} vs REST")
print("; ".join(fails) if fails else "same")
PY
)
[ "$RESULT" = same ] && ok || bad "front ends disagree: $RESULT"

# --meta KEY=VALUE in the CLI is meta.KEY=VALUE in REST.
WK=$("$LORE" key create --tenant acme --scope write 2>/dev/null)
post_doc "$WK" '{"source":"wiki","id":"meta-1","title":"Otter budget","metadata":{"team":"finance","github":{"repository":"octo/otters"}},"text":"The otters budget for the year."}' && ok || bad "posting meta-1"
for q in "meta.team=finance" "meta.github.repository=octo%2Fotters"; do
  r=$(curl -s -H "Authorization: Bearer $KEY_ENG" "$B/v1/search?q=otters&$q")
  has "$r" '"title":"Otter budget"'
  [ "$(grep -o '"id":"[0-9a-f]*"' <<<"$r" | wc -l)" = 1 ] && ok || bad "REST $q: one hit wanted: $r"
done
expect 0 "lore search --meta" -- "$LORE" search --tenant acme --json --meta team=finance --meta github.repository=octo/otters otters
has "$OUT" '"title": "Otter budget"'
[ "$(grep -c '"chunk_id"' <<<"$OUT")" = 1 ] && ok || bad "--meta: one hit wanted: $OUT"
expect 0 "lore search --meta other value" -- "$LORE" search --tenant acme --json --meta team=hr otters
hasnt "$OUT" '"chunk_id"'
expect 1 "lore search --meta without =" -- "$LORE" search --tenant acme --meta team otters
has "$ERR" "--meta team: expected KEY=VALUE"
META=(); for i in $(seq 33); do META+=(--meta "k$i=v"); done
expect 1 "lore search 33 --meta" -- "$LORE" search --tenant acme "${META[@]}" otters
has "$ERR" "at most 32 metadata filters"

# The filters' errors come from one parser: the same words everywhere.
curl -s -H "Authorization: Bearer $KEY_ENG" "$B/v1/search?q=otters&since=last+week" >"$T/rest_bad.json"
has "$(cat "$T/rest_bad.json")" "since must be an ISO 8601 date or time like 2026-01-31"
expect 1 "lore search --since bad" -- "$LORE" search --tenant acme --since "last week" otters
has "$ERR" "--since last week: since must be an ISO 8601 date or time like 2026-01-31"
has "$(grep -h '"id":5' <(printf '%s\n' \
  '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"view","version":"1"}}}' \
  '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
  '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"search","arguments":{"query":"otters","updated_after":"last week"}}}' |
  LORE_MCP_KEY="$KEY_ENG" timeout 20 "$LORE" mcp 2>/dev/null))" "updated_after must be an ISO 8601 date or time like 2026-01-31"

finish
