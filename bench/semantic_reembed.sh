#!/usr/bin/env bash
# semantic_reembed.sh: `lore reembed` throughput, chunks/s of a model switch
# on a tenant of N documents, next to the provider's own texts/s, with the
# test model server (tests/embed/server.mjs: Universal Sentence Encoder Lite
# under Node; "use-lite" answers its 512 numbers, "use-lite-mrl" with
# dimensions 128 the first 128 scaled to unit length: two model keys that
# cost the model the same work).
#
#   1. the provider alone: the first min(N, 128) documents (title + text, as
#      lore embeds a chunk) in batches of 64, 2 in flight (lore's embed_batch
#      and embed_concurrency), after one warm-up request: texts/s;
#   2. the tenant: a fresh data directory, `lore serve` with model A
#      (use-lite) embeds the first N SciFact documents (POSTed in batches of
#      100), then stops;
#   3. LORE_BENCH_RUNS switches, alternating B (use-lite-mrl, 128 d) and A:
#      `lore reembed --wait` (the job run by the CLI itself: a new slot built
#      step by step, embed_reembed_step chunks a step, the switch, the old
#      slot deleted), timed from start to exit; after each, `lore reembed
#      --status --json` must show the new model live and the audit ok;
#   4. the medians: seconds and chunks/s of a switch.
#
# Environment: LORE_REEMBED_DOCS (default 300), LORE_BENCH_RUNS (default 3),
# LORE_BUILD_DIR (default build/release), LORE_SCIFACT_DIR (default
# ../shared/data/beir/scifact), LORE_BENCH_KEEP=1 keeps the temporary
# directory. Run from the repository root: bash bench/semantic_reembed.sh
set -euo pipefail

bench_name=semantic_reembed.sh
build="${LORE_BUILD_DIR:-build/release}"
data="${LORE_SCIFACT_DIR:-../shared/data/beir/scifact}"
ndocs="${LORE_REEMBED_DOCS:-300}"
runs="${LORE_BENCH_RUNS:-3}"
keep="${LORE_BENCH_KEEP:-0}"
# lore refuses LORE_* variables it does not know: the bench's own go
unset LORE_BUILD_DIR LORE_SCIFACT_DIR LORE_REEMBED_DOCS LORE_BENCH_RUNS LORE_BENCH_KEEP
# shellcheck source=bench/lib/servers.sh
source "$(dirname "$0")/lib/servers.sh"
bench_posint LORE_BENCH_RUNS "$runs"
bench_posint LORE_REEMBED_DOCS "$ndocs"

bench_tmp semreembed
bench_corpus "$data" "$ndocs"
bench_build "$build"
bench_embed_start "$build"
bench_provider_rate $((ndocs < 128 ? ndocs : 128))

echo "== the tenant: $ndocs documents embedded with model A by lore serve"
bench_lore_start "$tmp/data" || bench_die "lore serve did not start: $(tail -3 "$tmp/lore.err")"
for f in "$tmp"/batch.*.json; do
  bench_api POST "/v1/documents?wait=600" "@$f" >/dev/null || bench_die "POST /v1/documents failed"
done
deadline=$((SECONDS + 7200))
until bench_vectors_done; do
  ((SECONDS < deadline)) || bench_die "model A did not embed every chunk in 2 hours"
  sleep 0.5
done
bench_lore_stop

model_a=(LORE_EMBED_MODEL=use-lite)
model_b=(LORE_EMBED_MODEL=use-lite-mrl LORE_EMBED_DIMENSIONS=128)
# cli MODEL_VAR... -- ARGS...: the CLI on the tenant's data directory
cli() {
  local settings=()
  while [[ "$1" != -- ]]; do
    settings+=("$1")
    shift
  done
  shift
  env "${bench_lore_env[@]}" "${settings[@]}" LORE_DATA_DIR="$tmp/data" "$lore" "$@"
}

echo "== $runs switches, alternating model B (use-lite-mrl, 128 d) and A (use-lite)"
: >"$tmp/runs.txt"
for ((r = 1; r <= runs; r++)); do
  if ((r % 2)); then model=("${model_b[@]}") want="use-lite-mrl|128"; else model=("${model_a[@]}") want="use-lite|native"; fi
  t0="$(bench_now)"
  cli "${model[@]}" -- reembed --tenant default --wait >"$tmp/reembed.$r.out" 2>&1 ||
    bench_die "lore reembed failed: $(tail -3 "$tmp/reembed.$r.out")"
  t1="$(bench_now)"
  cli "${model[@]}" -- reembed --tenant default --status --json >"$tmp/status.$r.json" ||
    bench_die "lore reembed --status: $(cat "$tmp/status.$r.json")"
  jq -e --arg m "$want" '.audit.ok and (.live_model | endswith($m)) and .phase == "idle"' \
    "$tmp/status.$r.json" >/dev/null || bench_die "after switch $r: $(cat "$tmp/status.$r.json")"
  chunks="$(jq .chunks "$tmp/status.$r.json")"
  awk -v r="$r" -v m="$want" -v c="$chunks" -v t0="$t0" -v t1="$t1" \
    'BEGIN { printf "%d %s %d %.3f %.2f\n", r, m, c, t1 - t0, c / (t1 - t0) }' >>"$tmp/runs.txt"
  echo "   switch $r to $want: $(tail -n 1 "$tmp/runs.txt" | cut -d' ' -f3-) (chunks, s, chunks/s)"
done

# shellcheck disable=SC2046
secs="$(bench_median $(awk '{ print $4 }' "$tmp/runs.txt"))"
# shellcheck disable=SC2046
rate="$(bench_median $(awk '{ print $5 }' "$tmp/runs.txt"))"
echo
echo "== lore reembed on $ndocs SciFact documents ($chunks chunks), USE-Lite on $(nproc) cores"
echo "provider alone:      $provider texts/s"
echo "a switch (median of $runs): $secs s, $rate chunks/s"
