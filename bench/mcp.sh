#!/usr/bin/env bash
# Latency of MCP against REST for the same searches on SciFact: builds
# Release, ingests the corpus into a fresh data directory, serves it (rate
# limits and the access log off, 2 HTTP threads, no job workers), and runs
# bench/mcp_latency.c: every SciFact query as POST /v1/search and as MCP
# tools/call search (2026-07-28 form), alternating, on keep-alive
# connections, for ROUNDS passes. Prints p50/p90/p99 of both and the ratios.
# See bench/README.md ("mcp.sh").
#
# usage: bench/mcp.sh [ROUNDS]     (default 3; run from the repository root)
# environment: LORE_BUILD_DIR (default build/release),
#              LORE_SCIFACT_DIR (default ../shared/data/beir/scifact)
set -euo pipefail
rounds=${1:-3}
build=${LORE_BUILD_DIR:-build/release}
data=${LORE_SCIFACT_DIR:-../shared/data/beir/scifact}
[ -f "$data/corpus.jsonl" ] || { echo "mcp.sh: no $data/corpus.jsonl" >&2; exit 2; }
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target lore mcp_latency >/dev/null
lore="$build/lore"
tmp=$(mktemp -d /tmp/lore-bench-mcp-XXXXXX)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
export LORE_DATA_DIR="$tmp/data"
echo "== ingesting $data/corpus.jsonl"
"$lore" ingest --quiet "$data/corpus.jsonl"
key=$("$lore" key create --tenant default --scope read --name bench 2>/dev/null)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
LORE_RATE_READ_PER_MIN=0 LORE_RATE_ANON_PER_MIN=0 LORE_ACCESS_LOG=0 LORE_WORKERS=-1 \
  "$lore" serve --listen "127.0.0.1:$port" --threads 2 >"$tmp/serve.out" 2>"$tmp/serve.err" &
pid=$!
for _ in $(seq 1 100); do grep -q "listening on" "$tmp/serve.out" && break; sleep 0.05; done
echo "== $(wc -l <"$data/queries.jsonl") queries x $rounds rounds, each as REST and as MCP"
"$build/mcp_latency" "http://127.0.0.1:$port" "$key" "$data/queries.jsonl" "$rounds"
