#!/usr/bin/env bash
# The web page's search modes with a real embedder: Debian's chromium,
# driven by playwright-core (tests/web/semantic.mjs), against a real `lore
# serve` whose embed_url is the USE-Lite embedding server of tests/embed/.
# A question sharing no word with its answer: the mode switch is shown,
# lexical misses the answer, semantic finds it first, the URL carries the
# mode. (tests/cli/web.sh checks that the switch is hidden without an
# embedder.) Screenshots go to <build dir>/web-shots/semantic/.
set -uo pipefail
LORE=${1:?usage: web_semantic.sh path/to/lore}
LORE=$(cd "$(dirname "$LORE")" && pwd)/$(basename "$LORE")
BUILD=$(dirname "$LORE")
T=$(mktemp -d /tmp/lore-websem-XXXXXX)
cleanup() {
  mcp_stop
  embed_stop
  rm -rf "$T"
}
trap cleanup EXIT
source "$(dirname "$0")/../support/semantic.sh"

if [ ! -x "${LORE_CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "web_semantic.sh: chromium is missing (make deps installs it: apt-get install chromium)" >&2
  exit 1
fi
WDIR="$BUILD/web-node"
bash "$(dirname "$0")/../web/setup.sh" "$WDIR" || exit 1
SHOTS="$BUILD/web-shots/semantic"
rm -rf "$SHOTS" && mkdir -p "$SHOTS"

embed_start || { echo "FAIL: the embedding server did not start" >&2; exit 1; }
serve || exit 1
Q="how many days off after having a baby"
post "$ADMIN" '{"source":"hr","id":"leave","title":"Family policy","text":"Parental leave is 16 weeks, paid in full."}' &&
  post "$ADMIN" '{"source":"hr","id":"expenses","title":"Expense rules","text":"Receipts must be filed within thirty days of purchase."}' &&
  post "$ADMIN" '{"source":"hr","id":"hours","title":"Office hours","text":"The building opens at eight and closes at six."}' &&
  post "$ADMIN" '{"source":"wiki","id":"otters","title":"Otter handbook","text":"Otters hold hands while they sleep."}' &&
  post "$ADMIN" '{"source":"wiki","id":"volcano","title":"Volcanoes","text":"Magma erupts from the crater and lava flows down the slopes."}' ||
  exit 1
wait_drained 180 "$ADMIN" || exit 1
# The premise, through REST: semantic search ranks the answer first.
for _ in $(seq 1 300); do
  rest "$ADMIN" "$Q" semantic
  [ "$(ranked <<<"$BODY" | cut -d, -f1)" = "Family policy" ] && break
  sleep 0.2
done
if [ "$(ranked <<<"$BODY" | cut -d, -f1)" != "Family policy" ]; then
  echo "FAIL: the test's premise: REST semantic search does not rank the answer first: $BODY" >&2
  exit 1
fi

BASE="http://127.0.0.1:$PORT" ADMIN="$ADMIN" SHOTS="$SHOTS" QUESTION="$Q" TARGET="Family policy" \
  TARGET_PASSAGE="Parental leave" LEXICAL_HIT="Expense rules" \
  EMBED_CONTROL="http://127.0.0.1:$EMBED_PORT/control" timeout 480 node "$WDIR/semantic.mjs"
rc=$?
echo "screenshots: $SHOTS"
exit $rc
