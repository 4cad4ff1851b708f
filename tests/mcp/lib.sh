# Shared shell pieces of the MCP end-to-end tests (tests/cli/mcp_*.sh):
# source it after setting LORE (the binary) and T (a temporary directory).
#
#   mcp_node_setup        installs the pinned npm clients (tests/mcp/setup.sh)
#                         into <build dir>/mcp-node; sets NODE (Node 22) and NDIR
#   mcp_serve [ENV=V...]  starts `lore serve` on 127.0.0.1:<free port> with
#                         LORE_DATA_DIR=$T/data; sets PORT, URL (the /mcp URL),
#                         ADMIN (its first-start key), SERVE_PID
#   mcp_serve_at PORT [ENV=V...]   the same on a given port
#   mcp_stop              stops it (SIGTERM, then waits)
#   mcp_seed              creates tenants acme and other with documents under
#                         ACLs (see below) and keys: KEY_ALICE (acme, read,
#                         user:alice@acme.test), KEY_ENG (acme, read,
#                         group:eng), KEY_NOONE (acme, read, user:nobody@x),
#                         KEY_OTHER (tenant other, read), KEY_WRITE (acme,
#                         write only)
#   ok / bad / expect / has   counting assertions, as in the other CLI tests
#   lore_store_*          tests/support/store.sh: a test on $T/data calls
#                         `lore_store_for "$T/data"` once T is set, so that a
#                         PostgreSQL run (cli_<name>_pg) gives it a database
#
# Documents of mcp_seed (all mention "otters"):
#   acme  public-1  no ACL               title "Otter handbook"
#   acme  alice-1   ACL user:alice@acme.test   title "Alice otter notes"
#   acme  eng-1     ACL group:eng        title "Engineering otter design"
#   other other-1   no ACL               title "Other tenant otters"
source "$(dirname "${BASH_SOURCE[0]}")/../support/store.sh"
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
has() { if grep -q -- "$2" <<<"$1"; then ok; else bad "expected '$2' in: ${1:0:600}"; fi; }
hasnt() { if grep -q -- "$2" <<<"$1"; then bad "did not expect '$2' in: ${1:0:600}"; else ok; fi; }
expect() {
  local code=$1 what=$2
  shift 3
  OUT=$("$@" 2>"$T/err")
  local rc=$?
  ERR=$(cat "$T/err")
  if [ "$rc" -eq "$code" ]; then ok; else bad "$what: exit $rc, want $code; stderr: ${ERR:0:1500}"; fi
}
finish() {
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}

mcp_node_setup() {
  NDIR="$(cd "$(dirname "$LORE")" && pwd)/mcp-node"
  bash "$(dirname "${BASH_SOURCE[0]}")/setup.sh" "$NDIR" || return 1
  NODE="$NDIR/node_modules/.bin/node"
  "$NODE" --version >/dev/null || return 1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

SERVE_PID=
# mcp_serve_at PORT [ENV=V...]: the same on a port chosen beforehand (OAuth
# mode needs the endpoint's URL, port included, before the start).
mcp_serve_at() {
  PORT=$1
  shift
  URL="http://127.0.0.1:$PORT/mcp"
  rm -f "$T/serve.out" # a previous server's "listening on" must not count
  env LORE_DATA_DIR="$T/data" LORE_WORKERS=1 "$@" "$LORE" serve --listen "127.0.0.1:$PORT" \
    >"$T/serve.out" 2>"$T/serve.err" &
  SERVE_PID=$!
  for _ in $(seq 1 100); do
    grep -q "listening on" "$T/serve.out" 2>/dev/null && break
    kill -0 "$SERVE_PID" 2>/dev/null || break
    sleep 0.05
  done
  if ! grep -q "listening on" "$T/serve.out" 2>/dev/null; then
    echo "lore serve did not start (exit status $(wait "$SERVE_PID"; echo $?)):" >&2
    cat "$T/serve.out" "$T/serve.err" >&2
    SERVE_PID=
    return 1
  fi
  local k
  k=$(grep -o 'lore_[A-Za-z0-9_-]*' "$T/serve.out" | head -1)
  [ -n "$k" ] && ADMIN=$k
  return 0
}

mcp_serve() {
  mcp_serve_at "$(free_port)" "$@"
}

mcp_stop() {
  if [ -n "$SERVE_PID" ]; then
    kill "$SERVE_PID" 2>/dev/null
    wait "$SERVE_PID" 2>/dev/null
    SERVE_PID=
  fi
}

# post_doc KEY JSON: one document through the REST API, waited for.
post_doc() {
  local code
  code=$(curl -s -o "$T/post.out" -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/v1/documents?wait=10" \
    -H "Authorization: Bearer $1" -H 'Content-Type: application/json' -d "$2")
  if [ "$code" != 200 ]; then
    echo "post_doc: HTTP $code: $(cat "$T/post.out")" >&2
    return 1
  fi
}

mcp_seed() {
  local data=(env LORE_DATA_DIR="$T/data")
  "${data[@]}" "$LORE" tenant create acme >/dev/null 2>&1
  "${data[@]}" "$LORE" tenant create other >/dev/null 2>&1
  local w wo
  w=$("${data[@]}" "$LORE" key create --tenant acme --scope read,write,admin --name seed 2>/dev/null)
  wo=$("${data[@]}" "$LORE" key create --tenant other --scope read,write,admin --name seed 2>/dev/null)
  KEY_ALICE=$("${data[@]}" "$LORE" key create --tenant acme --scope read --principal user:alice@acme.test 2>/dev/null)
  KEY_ENG=$("${data[@]}" "$LORE" key create --tenant acme --scope read --principal group:eng 2>/dev/null)
  KEY_NOONE=$("${data[@]}" "$LORE" key create --tenant acme --scope read --principal user:nobody@x 2>/dev/null)
  KEY_OTHER=$("${data[@]}" "$LORE" key create --tenant other --scope read 2>/dev/null)
  KEY_WRITE=$("${data[@]}" "$LORE" key create --tenant acme --scope write 2>/dev/null)
  post_doc "$w" '{"source":"wiki","id":"public-1","title":"Otter handbook","url":"https://wiki.acme.test/otters","author":"Ann","updated_at":"2026-03-01T10:00:00Z","text":"Otters hold hands while they sleep. The handbook explains otter care, feeding and rivers."}' &&
    post_doc "$w" '{"source":"notes","id":"alice-1","title":"Alice otter notes","acl":["user:alice@acme.test"],"text":"Private otters notes of Alice: the secret river is north."}' &&
    post_doc "$w" '{"source":"github","id":"eng-1","title":"Engineering otter design","acl":["group:eng"],"author":"Bob","updated_at":"2025-06-01","text":"Design of the otters tracking service, for the engineering group only."}' &&
    post_doc "$wo" '{"source":"wiki","id":"other-1","title":"Other tenant otters","text":"Otters of another company entirely."}'
}
