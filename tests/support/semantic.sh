# Shared shell pieces of the semantic end-to-end tests (tests/cli/semantic_*.sh):
# a real `lore serve` with a real embedding model behind the OpenAI protocol
# (tests/embed/server.mjs, Universal Sentence Encoder Lite under Node). Source
# it after setting LORE (the binary) and T (a temporary directory); it sources
# tests/mcp/lib.sh (ok/bad/has/hasnt/expect/finish, mcp_serve, mcp_stop,
# free_port).
#
#   semantic_begin NAME LORE [ENV=V...]   the start-up the semantic tests
#                          share: LORE made absolute, T a fresh temporary
#                          directory (/tmp/lore-NAME-XXXXXX), removed on exit
#                          with both servers stopped, the model server
#                          (embed_start) and `lore serve` (serve ENV...); sets
#                          L (the CLI on $T/data); exits 1 if either fails
#   embed_start [PORT]     installs the model (tests/embed/setup.sh, into
#                          <build dir>/embed-node, as the C tests do) and starts
#                          the server on PORT (default 0: any free port); sets
#                          EMBED_URL, EMBED_PORT, EMBED_PID and EMBED_ENV (the
#                          settings lore needs, as VAR=value words)
#   embed_control JSON     POST /control (fault injection) to the model server
#   embed_stop             stops it
#   serve                  mcp_serve with EMBED_ENV (PORT, URL, ADMIN, SERVE_PID)
#   wait_drained SECS KEY...   waits until no job of the (admin) keys' tenants
#                          is ready or leased and /metrics shows no chunk
#                          waiting for an embedding (fails the test on timeout)
#   rest KEY QUERY MODE [PARAM=V...]   GET /v1/search; sets CODE, BODY
#   rest_post KEY JSON                 POST /v1/search; sets CODE, BODY
#   mcp KEY ARGS_JSON                  the MCP search tool (stateless, protocol
#                          2026-07-28); sets CODE, BODY (the structuredContent
#                          object, or the whole answer when there is none)
#   cli ARGS...            `lore search --json ARGS` against the server's data
#                          dir with the embedder settings; sets RC, BODY, ERR
#   titles                 reads a search answer on stdin, prints its hits'
#                          titles sorted, comma-separated
#   ranked                 the same in rank order
#   vector_audit TENANT    "chunks vectors matched pending" from the database
#   consistent WHAT TENANT checks one vector per live chunk, nothing pending
source "$(dirname "${BASH_SOURCE[0]}")/../mcp/lib.sh"
unset LORE_CONFIG LORE_EMBED_URL LORE_EMBED_MODEL LORE_EMBED_DIMENSIONS LORE_EMBED_API_KEY \
  LORE_MCP_URL LORE_JWT_ISSUER LORE_MODE

EMBED_PID=
embed_start() {
  local dir
  dir="$(cd "$(dirname "$LORE")" && pwd)/embed-node"
  if ! bash "$(dirname "${BASH_SOURCE[0]}")/../embed/setup.sh" "$dir"; then
    echo "cannot install the test model (tests/embed/setup.sh)" >&2
    return 1
  fi
  (cd "$dir" && exec node server.mjs "${1:-0}" >"$T/embed.out" 2>"$T/embed.err") &
  EMBED_PID=$!
  # Loading the model takes seconds, more on a loaded machine.
  for _ in $(seq 1 1200); do
    grep -q '^port ' "$T/embed.out" 2>/dev/null && break
    kill -0 "$EMBED_PID" 2>/dev/null || break
    sleep 0.1
  done
  EMBED_PORT=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$T/embed.out" 2>/dev/null | head -1)
  if [ -z "$EMBED_PORT" ]; then
    echo "the embedding server did not start: $(cat "$T/embed.err" 2>/dev/null)" >&2
    EMBED_PID=
    return 1
  fi
  EMBED_URL="http://127.0.0.1:$EMBED_PORT/v1"
  EMBED_ENV=(LORE_EMBED_URL="$EMBED_URL" LORE_EMBED_MODEL=use-lite)
}

embed_control() {
  curl -s -m 30 -X POST "http://127.0.0.1:$EMBED_PORT/control" -d "$1" >/dev/null
}

embed_stop() {
  if [ -n "$EMBED_PID" ]; then
    kill "$EMBED_PID" 2>/dev/null
    wait "$EMBED_PID" 2>/dev/null
    EMBED_PID=
  fi
}

serve() {
  mcp_serve LORE_RATE_ANON_PER_MIN=0 LORE_RATE_READ_PER_MIN=0 LORE_ACCESS_LOG=0 "${EMBED_ENV[@]}" "$@"
}

semantic_cleanup() {
  mcp_stop
  embed_stop
  [ -n "${T:-}" ] && rm -rf "$T"
}

semantic_begin() {
  local name=$1
  LORE=${2:?usage: $(basename "$0") path/to/lore}
  shift 2
  LORE=$(cd "$(dirname "$LORE")" && pwd)/$(basename "$LORE")
  T=$(mktemp -d "/tmp/lore-$name-XXXXXX")
  T=$(cd "$T" && pwd -P)
  trap semantic_cleanup EXIT
  lore_store_for "$T/data" # PostgreSQL runs: its own database
  embed_start || { echo "FAIL: the embedding server did not start" >&2; exit 1; }
  serve "$@" || exit 1
  L=(env LORE_DATA_DIR="$T/data" "$LORE")
}

# The sum of lore_embed_pending_chunks over the tenants ("none" when no
# tenant has a chunk waiting: the server lists only tenants with a backlog).
pending_chunks() {
  curl -s -m 10 "http://127.0.0.1:$PORT/metrics" |
    awk '/^lore_embed_pending_chunks/ { n++; s += $NF } END { if (n) print s; else print "none" }'
}

# jobs_idle KEY: no job of KEY's tenant is ready or leased (KEY: admin)
jobs_idle() {
  local st n
  for st in ready leased; do
    n=$(curl -s -m 10 "http://127.0.0.1:$PORT/v1/jobs?state=$st&limit=1"       -H "Authorization: Bearer $1" | jq -r '.jobs | length' 2>/dev/null)
    [ "$n" = 0 ] || return 1
  done
}

# wait_drained SECS ADMIN_KEY...: waits until, for 6 s on end (the server
# caches its backlog figure for 5 s), no job of the keys' tenants is ready
# or leased and the metric shows no chunk waiting for an embedding.
wait_drained() {
  local secs=$1 p k since="" now busy
  shift
  local until=$((SECONDS + secs))
  while [ "$SECONDS" -lt "$until" ]; do
    p=$(pending_chunks)
    busy=0
    [ "$p" = 0 ] || [ "$p" = none ] || busy=1
    for k in "$@"; do jobs_idle "$k" || busy=1; done
    now=$(date +%s%N)
    if [ "$busy" = 1 ]; then
      since=""
    elif [ -z "$since" ]; then
      since=$now
    elif [ $(((now - since) / 1000000)) -ge 6000 ]; then
      return 0
    fi
    sleep 0.3
  done
  bad "jobs or chunks still waiting for an embedding after ${secs}s (lore_embed_pending_chunks: $p)"
  return 1
}

rest() {
  local key=$1 q=$2 mode=$3
  shift 3
  local args=(--data-urlencode "q=$q" --data-urlencode "mode=$mode")
  for p in "$@"; do args+=(--data-urlencode "$p"); done
  CODE=$(curl -s -m 60 -o "$T/rest.out" -w '%{http_code}' -G "http://127.0.0.1:$PORT/v1/search" \
    -H "Authorization: Bearer $key" "${args[@]}")
  BODY=$(cat "$T/rest.out")
}

rest_post() {
  CODE=$(curl -s -m 60 -o "$T/rest.out" -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/v1/search" \
    -H "Authorization: Bearer $1" -H 'Content-Type: application/json' -d "$2")
  BODY=$(cat "$T/rest.out")
}

mcp() {
  local body
  body=$(jq -cn --argjson a "$2" '{jsonrpc: "2.0", id: 2, method: "tools/call",
    params: {name: "search", arguments: $a, _meta: {"io.modelcontextprotocol/protocolVersion":
    "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}}}')
  CODE=$(curl -s -m 60 -o "$T/mcp.out" -w '%{http_code}' -X POST "$URL" \
    -H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2026-07-28' \
    -H 'Mcp-Method: tools/call' -H 'Mcp-Name: search' -d "$body")
  BODY=$(jq -c '.result.structuredContent // .' "$T/mcp.out" 2>/dev/null || cat "$T/mcp.out")
}

cli() {
  BODY=$(env LORE_DATA_DIR="$T/data" "${EMBED_ENV[@]}" timeout 120 "$LORE" search --json "$@" \
    2>"$T/cli.err")
  RC=$?
  ERR=$(cat "$T/cli.err")
}

titles() { jq -r '[.hits[]?.title] | sort | join(",")' 2>/dev/null; }
ranked() { jq -r '[.hits[]?.title] | join(",")' 2>/dev/null; }

# post KEY JSON: one document through the REST API, waited for.
post() {
  local code
  code=$(curl -s -m 60 -o "$T/post.out" -w '%{http_code}' -X POST \
    "http://127.0.0.1:$PORT/v1/documents?wait=30" -H "Authorization: Bearer $1" \
    -H 'Content-Type: application/json' -d "$2")
  if [ "$code" != 200 ]; then
    bad "POST /v1/documents: HTTP $code: $(cat "$T/post.out")"
    return 1
  fi
}

# new_key TENANT SCOPES [PRINCIPAL...]: prints a key made by the CLI.
new_key() {
  local tenant=$1 scopes=$2
  shift 2
  local p=()
  for x in "$@"; do p+=(--principal "$x"); done
  env LORE_DATA_DIR="$T/data" "$LORE" key create --tenant "$tenant" --scope "$scopes" "${p[@]}" \
    2>/dev/null
}

# vector_audit TENANT: prints "chunks vectors matched pending" read from the
# tenant's database (as tests/cli/embed_outage.sh does): live chunks, float32
# vector rows in both slots (namespaces STORE_NS_VECTOR_FLOATS_A/B = 22/25,
# keyed by chunk id in the store's order-preserving integer encoding), chunks
# with exactly one such row, and rows of the pending set (namespace 40).
# Consistent: chunks = vectors = matched, pending 0. On PostgreSQL the same
# count in the tenant's schema (the key's hex built with to_hex).
vector_audit() {
  if lore_store_pg; then
    lore_store_tenant_sql "$T/data" "$1" "SELECT (SELECT count(*) FROM chunks),
      (SELECT count(*) FROM kv WHERE ns IN (22, 25)),
      (SELECT count(*) FROM chunks c WHERE (SELECT count(*) FROM kv WHERE ns IN (22, 25)
         AND key = decode('8' || substr(lpad(to_hex(c.id), 16, '0'), 2), 'hex')) = 1),
      (SELECT count(*) FROM kv WHERE ns = 40);" | tr '|' ' '
    return
  fi
  sqlite3 -cmd ".timeout 5000" "$T/data/tenants/$1/lore.db" "SELECT (SELECT count(*) FROM chunks),
    (SELECT count(*) FROM kv WHERE ns IN (22, 25)),
    (SELECT count(*) FROM chunks c WHERE (SELECT count(*) FROM kv WHERE ns IN (22, 25)
       AND hex(key) = '8' || substr(printf('%016X', c.id), 2)) = 1),
    (SELECT count(*) FROM kv WHERE ns = 40);" | tr '|' ' '
}
# consistent WHAT TENANT: checks the audit
consistent() {
  local a c v m p
  a=$(vector_audit "$2")
  read -r c v m p <<<"$a"
  if [ -n "${p:-}" ] && [ "$c" -gt 0 ] && [ "$c" = "$v" ] && [ "$c" = "$m" ] && [ "$p" = 0 ]; then
    ok
  else
    bad "$1: want one vector per live chunk and nothing pending; chunks vectors matched pending = $a"
  fi
}
