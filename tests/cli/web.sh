#!/usr/bin/env bash
# The web page end to end: Debian's chromium, driven by playwright-core
# (tests/web/e2e.mjs), against a real `lore serve` seeded here. Screenshots
# of every page in both themes go to <build dir>/web-shots/.
set -uo pipefail
LORE=${1:?usage: web.sh path/to/lore}
LORE=$(cd "$(dirname "$LORE")" && pwd)/$(basename "$LORE")
BUILD=$(dirname "$LORE")
T=$(mktemp -d /tmp/lore-web-XXXXXX)
source "$(dirname "$0")/../mcp/lib.sh"
S2_PID=
cleanup() {
  mcp_stop
  if [ -n "$S2_PID" ]; then kill "$S2_PID" 2>/dev/null; wait "$S2_PID" 2>/dev/null; fi
  rm -rf "$T"
}
trap cleanup EXIT

if [ ! -x "${LORE_CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "web.sh: chromium is missing (make deps installs it: apt-get install chromium)" >&2
  exit 1
fi
WDIR="$BUILD/web-node"
bash "$(dirname "$0")/../web/setup.sh" "$WDIR" || exit 1
SHOTS="$BUILD/web-shots"
mkdir -p "$SHOTS" && rm -f "$SHOTS"/*.png # web_semantic.sh keeps its own in semantic/

mcp_serve LORE_JOB_MAX_ATTEMPTS=1 LORE_RATE_ANON_PER_MIN=0 || exit 1
B="http://127.0.0.1:$PORT"
post() { # post PATH JSON: prints the answer
  curl -s -X POST "$B$1" -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' -d "$2"
}
para="Otters are playful animals of the water."
long=""
for i in $(seq 1 60); do long="$long$para Paragraph $i says nothing else.\n\n"; done
post '/v1/documents?wait=10' "{\"source\":\"wiki\",\"id\":\"handbook\",\"title\":\"Otter handbook\",\"updated_at\":\"2026-03-01T10:00:00Z\",\"author\":\"Ann\",\"url\":\"https://wiki.acme.test/otters\",\"text\":\"$long Where otters live: rivers and coasts with clean water and fish.\n\n$long\"}" >/dev/null
post '/v1/documents?wait=10' '{"source":"notes","id":"alice-1","title":"Alice otter notes","acl":["user:alice@acme.test"],"text":"Notes of Alice about otters and their dens."}' >/dev/null
BOB_DOC=$(post '/v1/documents?wait=10' '{"source":"notes","id":"bob-1","title":"Bob otter diary","acl":["user:bob@acme.test"],"text":"Bob writes about otters in secret."}' | grep -o '"id":"[0-9a-f]\{16\}"' | head -1 | cut -d'"' -f4)
XSS_DOC=$(post '/v1/documents?wait=10' '{"source":"wiki","id":"xss","title":"<script>alert(1)</script><img src=/x onerror=alert(2)> payload","url":"javascript:alert(3)","author":"<img src=/evil onerror=alert(4)>","metadata":{"link":"javascript:alert(5)"},"text":"payload <script>fetch(\"/steal\")</script> <img src=/x onerror=\"alert(6)\"> <a href=\"javascript:alert(7)\">click</a> [md](javascript:alert(8)) <iframe src=javascript:alert(9)></iframe>"}' | grep -o '"id":"[0-9a-f]\{16\}"' | head -1 | cut -d'"' -f4)
post '/v1/connectors' '{"kind":"github"}' >/dev/null
docs=""
for i in $(seq 1 13); do docs="$docs{\"source\":\"zoo\",\"id\":\"w$i\",\"title\":\"Walrus $i\",\"text\":\"walrus number $i\"},"; done
post '/v1/documents?wait=10' "{\"documents\":[${docs%,}]}" >/dev/null
printf 'PK\003\004not a zip' >"$T/broken.docx"
DEAD_JOB=$(curl -s -X POST "$B/v1/files?wait=10" -H "Authorization: Bearer $ADMIN" -F "files=@$T/broken.docx" | grep -o '"id":"job_[0-9a-f]*"' | head -1 | cut -d'"' -f4)
if [ -z "$BOB_DOC" ] || [ -z "$XSS_DOC" ] || [ -z "$DEAD_JOB" ]; then
  echo "web.sh: seeding failed (bob=$BOB_DOC xss=$XSS_DOC dead=$DEAD_JOB)" >&2
  cat "$T/serve.err" >&2
  exit 1
fi

# A second server without workers (its own data directory): its jobs wait
# in the queue until the test starts a `lore worker`.
P2=$(free_port)
env LORE_DATA_DIR="$T/data2" LORE_WORKERS=-1 LORE_RATE_ANON_PER_MIN=0 "$LORE" serve \
  --listen "127.0.0.1:$P2" >"$T/s2.out" 2>"$T/s2.err" &
S2_PID=$!
for _ in $(seq 1 100); do
  grep -q "listening on" "$T/s2.out" 2>/dev/null && break
  sleep 0.05
done
ADMIN2=$(grep -o 'lore_[A-Za-z0-9_-]*' "$T/s2.out" | head -1)
if [ -z "$ADMIN2" ]; then
  echo "web.sh: the server without workers did not start: $(cat "$T/s2.out" "$T/s2.err")" >&2
  exit 1
fi

LORE="$LORE" BASE2="http://127.0.0.1:$P2" ADMIN2="$ADMIN2" DATA2="$T/data2" \
  SRC="$(cd "$(dirname "$0")/../.." && pwd)" DATA="$T/data" BASE="$B" ADMIN="$ADMIN" BOB_DOC="$BOB_DOC" XSS_DOC="$XSS_DOC" DEAD_JOB="$DEAD_JOB" SHOTS="$SHOTS" \
  timeout 480 node "$WDIR/e2e.mjs"
rc=$?
echo "screenshots: $SHOTS"
exit $rc
