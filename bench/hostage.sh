#!/usr/bin/env bash
# Issue 11's scenario through `lore serve` (2 job workers): tenant "slow"
# uploads N copies of a Markdown file that cmark-gfm parses in about 30 s
# ('>'*80000 + ' x\n' + '['*80000, 160 KB), then tenant "default" writes
# one short document with ?wait=60. Prints how long that write took to be
# done (curl's time_total) and how long the uploads took.
#
#   bench/hostage.sh [path/to/lore] [N]     (default build/release/lore, 3)
set -uo pipefail
LORE=${1:-build/release/lore}
N=${2:-3}
T=$(mktemp -d /tmp/lore-hostage-XXXXXX)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
unset LORE_CONFIG
times() { head -c "$2" /dev/zero | tr '\0' "$1"; }
{ times '>' 80000; printf ' x\n'; times '[' 80000; } >"$T/slow.md"

env LORE_RATE_WRITE_PER_MIN=0 "$LORE" serve --listen 127.0.0.1:0 --data-dir "$T/data" \
    --workers 2 >"$T/out" 2>"$T/err" &
PID=$!
for _ in $(seq 1 100); do grep -q listening "$T/out" && break; sleep 0.1; done
PORT=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$T/out")
ADMIN=$(sed -n 's/^admin key (shown once, keep it): //p' "$T/out")
BASE="http://127.0.0.1:$PORT"
SLOW=$(curl -sS "$BASE/v1/tenants" -H "Authorization: Bearer $ADMIN" \
    -H 'Content-Type: application/json' -d '{"name":"slow"}' | sed -n 's/.*"key":"\([^"]*\)".*/\1/p')
[ -n "$SLOW" ] || { echo "cannot create tenant slow: $(cat "$T/err")" >&2; exit 1; }

t0=$(date +%s.%N)
for i in $(seq 1 "$N"); do
  curl -sS -o /dev/null "$BASE/v1/files" -H "Authorization: Bearer $SLOW" \
      -F "files=@$T/slow.md;filename=slow$i.md"
done
sleep 0.2 # the workers have claimed the uploads
w=$(curl -sS -o "$T/write.json" -w '%{http_code} %{time_total}' "$BASE/v1/documents?wait=60" \
    -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
    -d '{"documents":[{"id":"one","text":"a one-line write of another tenant"}]}')
echo "other tenant's one-line write: HTTP ${w% *} after ${w#* } s (200 = done)"
# wait for the uploads
for _ in $(seq 1 1200); do
  n=$(curl -sS "$BASE/v1/jobs?state=done&limit=100" -H "Authorization: Bearer $SLOW" |
      grep -o '"state":"done"' | wc -l)
  [ "$n" -ge "$N" ] && break
  sleep 0.1
done
t1=$(date +%s.%N)
echo "$N uploads of slow.md done after $(echo "$t1 - $t0" | bc) s"
