#!/usr/bin/env bash
# End-to-end tests of /mcp in OAuth resource-server mode (jwt_issuer set):
# a stand-in authorization server (tests/mcp/jwt.mjs: RSA and EC keys, a
# JWKS over HTTP, tokens minted on request) and lore serve trusting it.
#   - valid RS256 and ES256 tokens work through real MCP clients (SDK v1
#     over initialize, v2 pinned to 2026-07-28), and the token's email and
#     groups decide which documents under ACLs it sees;
#   - bad tokens (issuer, audience, expiry, nbf, signature, unknown kid,
#     alg none) get 401 with the RFC 9728 resource_metadata challenge;
#     a token without the required scope gets 403 insufficient_scope;
#   - the protected-resource metadata documents; lore API keys still work;
#     tokens are not accepted on the REST API;
#   - a plain server (no jwt_issuer) has no metadata and no
#     resource_metadata in its challenge;
#   - jwt_issuer without mcp_url (or without jwt_jwks_url) refuses to start.
set -uo pipefail
LORE=${1:?usage: mcp_jwt.sh path/to/lore}
T=$(mktemp -d /tmp/lore-mcpjwt-XXXXXX)
JWKS_PID=
cleanup() {
  mcp_stop
  [ -n "$JWKS_PID" ] && kill "$JWKS_PID" 2>/dev/null && wait "$JWKS_PID" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
unset LORE_CONFIG LORE_MCP_URL LORE_JWT_ISSUER LORE_JWT_JWKS_URL LORE_JWT_TENANT LORE_JWT_SCOPE \
  LORE_JWT_GROUPS_CLAIM LORE_MODE LORE_TEST_MCP_FIXTURES
source "$(dirname "$0")/../mcp/lib.sh"
lore_store_for "$T/data" # PostgreSQL runs: its own database
mcp_node_setup || { echo "FAIL: cannot set up the node clients" >&2; exit 1; }

ISS=https://idp.test

# post_mcp TOKEN BODY [HEADER...]: POST /mcp; sets CODE, HDRS (response
# headers), BODY. Without a token no Authorization header is sent.
post_mcp() {
  local tok=$1 body=$2
  shift 2
  local auth=()
  [ -n "$tok" ] && auth=(-H "Authorization: Bearer $tok")
  CODE=$(curl -s -o "$T/body" -D "$T/hdrs" -w '%{http_code}' -X POST "$URL" "${auth[@]}" \
    -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' "$@" \
    -d "$body")
  HDRS=$(tr -d '\r' <"$T/hdrs")
  BODY=$(cat "$T/body")
}
INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}'
META='"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}'
SEARCH='{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"search","arguments":{"query":"otters"},'"$META"'}}'
SEARCH_H=(-H 'MCP-Protocol-Version: 2026-07-28' -H 'Mcp-Method: tools/call' -H 'Mcp-Name: search')

# --- jwt_issuer without mcp_url / jwt_jwks_url: no start, a clear error
expect 1 "jwt_issuer without mcp_url" -- env LORE_DATA_DIR="$T/cfgdata" \
  $(lore_store_env "$T/cfgdata") LORE_JWT_ISSUER=$ISS \
  LORE_JWT_JWKS_URL=http://127.0.0.1:9/jwks timeout 10 "$LORE" serve --listen 127.0.0.1:0
has "$ERR" "mcp_url"
hasnt "$OUT" "listening on"
expect 1 "jwt_issuer without jwt_jwks_url" -- env LORE_DATA_DIR="$T/cfgdata" \
  $(lore_store_env "$T/cfgdata") LORE_JWT_ISSUER=$ISS \
  LORE_MCP_URL=http://127.0.0.1:1/mcp timeout 10 "$LORE" serve --listen 127.0.0.1:0
has "$ERR" "jwt_jwks_url"

# --- the plain server (no OAuth mode): no metadata, no resource_metadata
mcp_serve || exit 1
if ! mcp_seed || [[ ! "$KEY_ALICE" =~ ^lore_ ]] || [[ ! "$KEY_ENG" =~ ^lore_ ]]; then
  bad "seeding failed; a key create now says: $(env LORE_DATA_DIR="$T/data" "$LORE" key create \
    --tenant acme --scope read 2>&1 >/dev/null)"
  exit 1
fi
for p in /.well-known/oauth-protected-resource /.well-known/oauth-protected-resource/mcp; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT$p")
  [ "$code" = 404 ] && ok || bad "plain server: GET $p is $code, want 404"
done
post_mcp "" "$INIT"
[ "$CODE" = 401 ] && ok || bad "plain server: no key: HTTP $CODE, want 401"
has "$HDRS" '^WWW-Authenticate: Bearer'
hasnt "$HDRS" 'resource_metadata'
post_mcp "$KEY_ALICE" "$INIT"
[ "$CODE" = 200 ] && ok || bad "plain server: a key works: HTTP $CODE: $BODY"
mcp_stop

# --- the authorization server and lore in OAuth mode
P=$(free_port)
MURL="http://127.0.0.1:$P/mcp"
RM="resource_metadata=\"http://127.0.0.1:$P/.well-known/oauth-protected-resource/mcp\""
"$NODE" "$NDIR/jwt.mjs" serve "$ISS" "$MURL" >"$T/jwks.out" 2>"$T/jwks.err" &
JWKS_PID=$!
for _ in $(seq 1 100); do
  grep -q '^port ' "$T/jwks.out" && break
  sleep 0.05
done
JP=$(sed -n 's/^port //p' "$T/jwks.out")
[ -n "$JP" ] || { echo "FAIL: the JWKS server did not start: $(cat "$T/jwks.err")" >&2; exit 1; }
mint() {
  curl -sf -X POST "http://127.0.0.1:$JP/mint" -d "$1" || echo "mint-failed"
}
mcp_serve_at "$P" LORE_JWT_ISSUER=$ISS LORE_JWT_JWKS_URL="http://127.0.0.1:$JP/jwks" \
  LORE_MCP_URL="$MURL" LORE_JWT_TENANT=acme || exit 1

# protected-resource metadata (RFC 9728): open, both paths
for p in /.well-known/oauth-protected-resource /.well-known/oauth-protected-resource/mcp; do
  code=$(curl -s -o "$T/md" -D "$T/mdh" -w '%{http_code}' "http://127.0.0.1:$PORT$p")
  [ "$code" = 200 ] && ok || bad "GET $p is $code, want 200"
  has "$(tr -d '\r' <"$T/mdh")" '^Content-Type: application/json'
  got=$(jq -c '[.resource, .authorization_servers, .scopes_supported]' "$T/md" 2>&1)
  want=$(jq -nc --arg u "$MURL" --arg i "$ISS" '[$u, [$i], ["lore:read"]]')
  [ "$got" = "$want" ] && ok || bad "metadata at $p: got $got, want $want"
done

# valid tokens through real MCP clients; ACLs follow email and groups
ALICE=$(mint '{"claims":{"sub":"u-alice","email":"alice@acme.test","scope":"lore:read"}}')
expect 0 "SDK v1 client with an RS256 token" -- "$NODE" "$NDIR/jwt.mjs" client "$MURL" "$ALICE"
has "$OUT" '"tools":\["search","fetch","list_sources"\]'
has "$OUT" '"Alice otter notes"'
has "$OUT" '"Otter handbook"'
hasnt "$OUT" 'Engineering otter design'
hasnt "$OUT" 'Other tenant otters'
hasnt "$OUT" '"isError":true'
ENG=$(mint '{"alg":"ES256","claims":{"sub":"u-bob","email":"bob@acme.test","groups":["eng"],"scope":"lore:read"}}')
expect 0 "SDK v1 client with an ES256 token" -- "$NODE" "$NDIR/jwt.mjs" client "$MURL" "$ENG"
has "$OUT" '"Engineering otter design"'
hasnt "$OUT" 'Alice otter notes'
expect 0 "v2 client (2026-07-28) with an ES256 token" -- "$NODE" "$NDIR/jwt.mjs" client "$MURL" "$ENG" --modern
has "$OUT" '"era":"modern 2026-07-28"'
has "$OUT" '"Engineering otter design"'
hasnt "$OUT" 'Alice otter notes'

# the same over plain HTTP: the email counts only when not marked unverified;
# scope also comes as scp; aud may be an array
tok=$(mint '{"claims":{"email":"alice@acme.test","email_verified":false,"scope":"lore:read"}}')
post_mcp "$tok" "$SEARCH" "${SEARCH_H[@]}"
[ "$CODE" = 200 ] && ok || bad "unverified email: HTTP $CODE: $BODY"
has "$BODY" 'Otter handbook'
hasnt "$BODY" 'Alice otter notes'
tok=$(mint '{"claims":{"email":"alice@acme.test","scp":["lore:read"],"aud":["https://other.test","'"$MURL"'"]}}')
post_mcp "$tok" "$SEARCH" "${SEARCH_H[@]}"
[ "$CODE" = 200 ] && ok || bad "scp array and aud array: HTTP $CODE: $BODY"
has "$BODY" 'Alice otter notes'

# refused tokens: 401, invalid_token, the resource_metadata challenge
refused() { # WHAT MINT-REQUEST DETAIL
  local tok
  tok=$(mint "$2")
  post_mcp "$tok" "$INIT"
  [ "$CODE" = 401 ] && ok || bad "$1: HTTP $CODE, want 401: $BODY"
  has "$HDRS" "^WWW-Authenticate: Bearer .*error=\"invalid_token\""
  has "$HDRS" "^WWW-Authenticate: .*$RM"
  has "$BODY" "$3"
}
refused "wrong issuer" '{"claims":{"iss":"https://evil.test","scope":"lore:read"}}' 'issuer not accepted'
refused "wrong audience" '{"claims":{"aud":"http://127.0.0.1:1/mcp","scope":"lore:read"}}' 'not meant for this resource'
refused "no audience" '{"claims":{"aud":null,"scope":"lore:read"}}' 'token was refused'
refused "expired" '{"exp_in":-3600,"claims":{"scope":"lore:read"}}' 'expired'
refused "not yet valid" '{"claims":{"nbf":4102444800,"scope":"lore:read"}}' 'not valid yet'
refused "bad signature" '{"tamper":true,"claims":{"scope":"lore:read"}}' 'signature does not verify'
refused "ES256 bad signature" '{"alg":"ES256","tamper":true,"claims":{"scope":"lore:read"}}' 'signature does not verify'
refused "unknown kid" '{"key":"stranger","claims":{"scope":"lore:read"}}' "no key with the token's kid"
refused "RSA key under the EC kid" '{"key":"rsa","kid":"ec-1","claims":{"scope":"lore:read"}}' 'token was refused'
refused "alg none" '{"alg":"none","claims":{"scope":"lore:read"}}' '"status":401'
refused "alg none, with a signature" '{"alg":"none-sig","claims":{"scope":"lore:read"}}' 'algorithm not accepted'
# a refused token fails a real client too
expect 1 "SDK v1 client with an expired token" -- "$NODE" "$NDIR/jwt.mjs" client "$MURL" \
  "$(mint '{"exp_in":-3600,"claims":{"scope":"lore:read"}}')"
has "$ERR" "401"

# no credentials: 401 with the challenge and no error code (RFC 6750 3.1)
post_mcp "" "$INIT"
[ "$CODE" = 401 ] && ok || bad "no token: HTTP $CODE, want 401"
has "$HDRS" "^WWW-Authenticate: Bearer .*$RM"
hasnt "$HDRS" 'error='

# a token without the scope: 403 insufficient_scope, naming the scope the
# authorization server knows and the metadata (MCP authorization, "Scope
# Challenge Handling")
for req in '{"claims":{"scope":"profile other"}}' '{"claims":{"scope":null}}'; do
  post_mcp "$(mint "$req")" "$INIT"
  [ "$CODE" = 403 ] && ok || bad "token without lore:read ($req): HTTP $CODE, want 403: $BODY"
  has "$HDRS" '^WWW-Authenticate: Bearer .*error="insufficient_scope"'
  has "$HDRS" '^WWW-Authenticate: Bearer .*scope="lore:read"'
  has "$HDRS" "^WWW-Authenticate: Bearer .*$RM"
done

# lore API keys (made by mcp_seed above) still work on /mcp, with their own
# principals
expect 0 "SDK v1 client with a lore key" -- "$NODE" "$NDIR/jwt.mjs" client "$MURL" "$KEY_ALICE"
has "$OUT" '"Alice otter notes"'
hasnt "$OUT" 'Engineering otter design'
post_mcp "$KEY_ENG" "$SEARCH" "${SEARCH_H[@]}"
[ "$CODE" = 200 ] && ok || bad "lore key on /mcp: HTTP $CODE: $BODY"
has "$BODY" 'Engineering otter design'
post_mcp "lore_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "$INIT"
[ "$CODE" = 401 ] && ok || bad "unknown lore key: HTTP $CODE, want 401"
has "$HDRS" "^WWW-Authenticate: .*$RM"

# tokens are for /mcp only: the REST API does not take them
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ALICE" \
  "http://127.0.0.1:$PORT/v1/sources")
[ "$code" = 401 ] && ok || bad "a token on /v1/sources: HTTP $code, want 401"
curl -sf "http://127.0.0.1:$JP/stats" | grep -q '"jwks_fetches":[1-9]' && ok || bad "lore never fetched the JWKS"
mcp_stop

finish
