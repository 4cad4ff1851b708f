#!/usr/bin/env bash
# Webhook benchmark of `lore serve`: GitHub-shaped deliveries (issues
# opened, X-Hub-Signature-256, unique X-GitHub-Delivery) through the gate
# (POST /v1/hooks/{id}: signature checked, deduplicated, one job queued) and
# the "hook" job (apply, render, index). See bench/README.md ("hooks.sh").
#
# First the gate alone (lore serve --workers -1: nothing runs the jobs), then
# for 1 and 2 job workers, on a fresh data directory each:
#   1. accepted/s: HOOKS_N deliveries (default 5000) over 4 keep-alive
#      connections, closed loop, from the first POST to the last 200;
#   2. the backlog drains (the time is printed: deliveries/s through the
#      workers);
#   3. delivery->searchable: 200 probes at 20/s, each a new issue with a
#      unique token; from each POST, a search for the token every 5 ms until
#      it finds it; p50, p90, p99.
# The connector's rate limit is off for the run (LORE_HOOK_RATE_PER_MIN=0).
# Everything runs in a temporary directory, removed at the end with every
# process this script started (--keep keeps it).
set -euo pipefail

KEEP=0
[[ "${1:-}" == "--keep" || "${1:-}" == "-k" ]] && KEEP=1
[[ "${1:-}" == "--help" || "${1:-}" == "-h" ]] && { sed -n 2,19p "$0"; exit 0; }
N=${HOOKS_N:-5000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build/release
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j2 --target lore hooks_load >/dev/null
LORE=$BUILD/lore
LOAD=$BUILD/hooks_load
TMP=$(mktemp -d)
SERVER=""
cleanup() {
    [[ -n "$SERVER" ]] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
    if [[ $KEEP == 1 ]]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

jobs_left() { # ready + leased jobs of the tenant
    local n=0 s
    for s in ready leased; do
        n=$((n + $(curl -s -H "Authorization: Bearer $KEY" "$BASE/v1/jobs?state=$s&limit=1000" |
            python3 -c 'import json,sys; print(len(json.load(sys.stdin)["jobs"]))')))
    done
    echo $n
}

echo "lore webhook bench: $N deliveries, $(nproc) cores, $(date -u +%FT%TZ)"
for W in -1 1 2; do
    DIR=$TMP/w$W
    mkdir -p "$DIR"
    LORE_HOOK_RATE_PER_MIN=0 LORE_ACCESS_LOG=0 LORE_LOG_LEVEL=error \
        "$LORE" serve --listen 127.0.0.1:0 --workers "$W" --data-dir "$DIR" >"$DIR/out" 2>"$DIR/err" &
    SERVER=$!
    for _ in $(seq 100); do grep -q "listening on" "$DIR/out" 2>/dev/null && break; sleep 0.1; done
    BASE=$(grep -o 'http://[0-9.:]*' "$DIR/out" | head -1)
    KEY=$(grep -o 'lore_[A-Za-z0-9_-]*' "$DIR/out" | head -1)
    CONN=$("$LORE" connector add github --tenant default --json --data-dir "$DIR" 2>/dev/null)
    ID=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$CONN")
    SECRET=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["secret"])' "$CONN")
    if [[ $W == -1 ]]; then echo "--- the gate alone (no job workers)"; else echo "--- $W job worker(s)"; fi
    "$LOAD" accept "$BASE" "$ID" "$SECRET" "$N" 4
    if [[ $W == -1 ]]; then
        kill "$SERVER"
        wait "$SERVER" 2>/dev/null || true
        SERVER=""
        continue
    fi
    T0=$(date +%s.%N)
    while [[ $(jobs_left) -gt 0 ]]; do sleep 0.2; done
    T1=$(date +%s.%N)
    python3 -c "import sys; t=float(sys.argv[2])-float(sys.argv[1]); print(f'drain: the backlog finished {t:.1f} s after the last 200')" "$T0" "$T1"
    "$LOAD" latency "$BASE" "$ID" "$SECRET" "$KEY" 200 20
    kill "$SERVER"
    wait "$SERVER" 2>/dev/null || true
    SERVER=""
done
