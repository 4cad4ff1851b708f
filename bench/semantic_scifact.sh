#!/usr/bin/env bash
# semantic_scifact.sh: SciFact through `lore serve` with an embedding provider
# (the test model server, tests/embed/server.mjs: Universal Sentence Encoder
# Lite under Node, 512 dimensions, the OpenAI protocol).
#
#   1. the provider alone: texts/s embedding the first SciFact documents
#      (title + text, as lore embeds a chunk), 128 of them in batches of 64
#      with 2 requests in flight (lore's embed_batch and embed_concurrency),
#      after one warm-up request, so the
#      ingest figure below can be read against what the model can do;
#   2. ingest with embedding: a fresh data directory, `lore serve --workers 2`,
#      the documents POSTed in batches of 100, timed until no job is left and
#      /metrics shows no chunk waiting for an embedding (documents/s to
#      searchable by meaning);
#   3. quality and latency per mode (lexical, semantic, hybrid): every test
#      query of qrels/test.tsv through GET /v1/search (limit 10, literal, no
#      snippets), one at a time: nDCG@10 and Recall@10 as BEIR computes them,
#      p50/p99 of the request's wall clock;
#   4. hybrid again with lower semantic weights (hybrid_weight_semantic; the
#      server restarted on the same data), to find the weight that keeps
#      hybrid from falling below lexical with this weak model.
#
# The whole corpus is 5,183 documents; USE-Lite on this machine embeds a few
# SciFact abstracts per second, so by default the run takes a subset: every
# document judged in the test qrels (so every query keeps all its relevant
# documents) plus the first others of the corpus up to LORE_SCIFACT_DOCS.
# Fewer distractors make every mode's nDCG@10 higher than on the whole
# corpus; the modes stay comparable with each other. LORE_SCIFACT_DOCS=0 runs
# the whole corpus.
#
# Environment: LORE_BUILD_DIR (default build/release), LORE_SCIFACT_DIR
# (default ../shared/data/beir/scifact), LORE_SCIFACT_DOCS (default 1000; 0 =
# all), LORE_BENCH_WEIGHTS (semantic weights of step 4, default
# "0.5 0.25 0.1 0.05 0.02"),
# LORE_BENCH_KEEP=1 keeps the temporary directory. Run from the repository
# root: bash bench/semantic_scifact.sh
set -euo pipefail

build="${LORE_BUILD_DIR:-build/release}"
data="${LORE_SCIFACT_DIR:-../shared/data/beir/scifact}"
ndocs="${LORE_SCIFACT_DOCS:-1000}"
weights="${LORE_BENCH_WEIGHTS:-0.5 0.25 0.1 0.05 0.02}"
keep="${LORE_BENCH_KEEP:-0}"
# lore refuses LORE_* variables it does not know: the bench's own go
unset LORE_BUILD_DIR LORE_SCIFACT_DIR LORE_SCIFACT_DOCS LORE_BENCH_WEIGHTS LORE_BENCH_KEEP
unset LORE_CONFIG LORE_EMBED_URL LORE_EMBED_MODEL LORE_EMBED_DIMENSIONS LORE_EMBED_API_KEY \
  LORE_HYBRID_WEIGHT_SEMANTIC LORE_HYBRID_WEIGHT_LEXICAL

die() {
  echo "semantic_scifact.sh: $*" >&2
  exit 1
}
[[ -f CMakeLists.txt && -f bench/semantic_eval.mjs ]] ||
  die "run from the repository root (bench/semantic_eval.mjs not found)"
[[ -f "$data/corpus.jsonl" && -f "$data/qrels/test.tsv" ]] ||
  die "$data/corpus.jsonl or qrels/test.tsv not found (set LORE_SCIFACT_DIR)"
command -v node >/dev/null || die "node (18 or later) is needed"
[[ "$ndocs" =~ ^[0-9]+$ ]] || die "LORE_SCIFACT_DOCS must be a number (0 = the whole corpus)"

tmp=""
lore_pid=""
embed_pid=""
stop_lore() {
  if [[ -n "$lore_pid" ]]; then
    kill -TERM "$lore_pid" 2>/dev/null || true
    wait "$lore_pid" 2>/dev/null || true
    lore_pid=""
  fi
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_lore
  if [[ -n "$embed_pid" ]]; then
    kill -TERM "$embed_pid" 2>/dev/null || true
    wait "$embed_pid" 2>/dev/null || true
  fi
  if [[ -n "$tmp" && -d "$tmp" ]]; then
    if [[ "$keep" == 1 ]]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== building Release ($build)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target lore >/dev/null
lore="$(cd "$build" && pwd)/lore"
tmp="$(mktemp -d /tmp/lore-semscifact.XXXXXX)"
results="$tmp/results.txt"
: >"$results"

run() { # run ARGS...: the helper, its result lines kept
  BENCH_KEY="${lore_key:-}" node bench/semantic_eval.mjs "$@" >"$tmp/step.out" || {
    cat "$tmp/step.out" >&2
    die "bench/semantic_eval.mjs $1 failed"
  }
  sed -n 's/^result //p' "$tmp/step.out" | tee -a "$results" | sed 's/^/   /'
}
val() { awk -v k="$1" '$1 == k { v = $2 } END { print v }' "$results"; }

echo "== the model server (tests/embed/setup.sh)"
model_dir="$(cd "$build" && pwd)/embed-node"
bash tests/embed/setup.sh "$model_dir"
(cd "$model_dir" && exec node server.mjs 0 >"$tmp/embed.out" 2>"$tmp/embed.err") &
embed_pid=$!
for _ in $(seq 1 1200); do
  grep -q '^port ' "$tmp/embed.out" 2>/dev/null && break
  kill -0 "$embed_pid" 2>/dev/null || die "the model server exited: $(cat "$tmp/embed.err")"
  sleep 0.1
done
embed_port="$(sed -n 's/^port \([0-9]*\)$/\1/p' "$tmp/embed.out")"
[[ -n "$embed_port" ]] || die "the model server did not start"
embed_url="http://127.0.0.1:$embed_port/v1"

echo "== subset of $data (LORE_SCIFACT_DOCS=$ndocs)"
run subset --data "$data" --docs "$ndocs" --out "$tmp/corpus.jsonl"

echo "== 1. the provider alone: 128 documents, batches of 64, 2 in flight (after one warm-up request)"
run rate --embed "$embed_url" --corpus "$tmp/corpus.jsonl" --count 128 --batch 64 --conns 2

bench_env=(LORE_RATE_WRITE_PER_MIN=0 LORE_RATE_READ_PER_MIN=0 LORE_RATE_ADMIN_PER_MIN=0
  LORE_RATE_ANON_PER_MIN=0 LORE_QUEUE_MAX_PER_TENANT=0 LORE_QUEUE_MAX_TOTAL=0 LORE_ACCESS_LOG=0
  LORE_EMBED_URL="$embed_url" LORE_EMBED_MODEL=use-lite)
# start_lore [VAR=V...]: lore serve on the bench's data directory
start_lore() {
  : >"$tmp/lore.out"
  env "${bench_env[@]}" "$@" "$lore" serve --listen 127.0.0.1:0 --data-dir "$tmp/data" \
    --workers 2 >"$tmp/lore.out" 2>>"$tmp/lore.err" &
  lore_pid=$!
  for _ in $(seq 1 400); do
    grep -q ' listening on http://' "$tmp/lore.out" && break
    kill -0 "$lore_pid" 2>/dev/null || { lore_pid=""; return 1; }
    sleep 0.05
  done
  lore_port="$(sed -n 's|.* listening on http://127\.0\.0\.1:\([0-9][0-9]*\) .*|\1|p' "$tmp/lore.out")"
  [[ -n "$lore_port" ]] || die "lore serve printed no listening line"
  local k
  k="$(sed -n 's/^admin key (shown once, keep it): //p' "$tmp/lore.out")"
  [[ -n "$k" ]] && lore_key="$k"
  [[ -n "${lore_key:-}" ]] || die "lore serve printed no admin key (not a fresh data directory?)"
}
start_lore || die "lore serve did not start: $(tail -3 "$tmp/lore.err")"
url="http://127.0.0.1:$lore_port"

docs="$(val docs)"
echo "== 2. ingest with embedding: $docs documents, batches of 100, 2 connections, 2 workers"
run ingest --url "$url" --corpus "$tmp/corpus.jsonl" --batch 100 --conns 2

echo "== 3. the test queries per mode"
for mode in lexical semantic hybrid; do
  run eval --url "$url" --data "$data" --mode "$mode"
done

echo "== 4. hybrid with lower semantic weights (restarts on the same data)"
for w in $weights; do
  stop_lore
  if ! start_lore LORE_HYBRID_WEIGHT_SEMANTIC="$w"; then
    echo "   lore serve refused hybrid_weight_semantic=$w: $(tail -1 "$tmp/lore.err")"
    continue
  fi
  url="http://127.0.0.1:$lore_port"
  run eval --url "$url" --data "$data" --mode hybrid --label "hybrid_ws$w"
done
stop_lore

echo
echo "== SciFact, $docs of $(val corpus_docs) documents ($(val judged_docs) judged), USE-Lite (512 d) on $(nproc) cores"
printf 'provider alone: %s texts/s (%s texts in %s s)\n' "$(val provider_texts_per_s)" \
  "$(val provider_texts)" "$(val provider_s)"
printf 'ingest with embedding: %s documents/s (%s documents, %s s to no chunk pending; accepted in %s s)\n' \
  "$(val docs_per_s_embedded)" "$(val documents)" "$(val embedded_s)" "$(val accepted_s)"
printf '%-18s %8s %10s %9s %9s\n' mode nDCG@10 Recall@10 p50_ms p99_ms
for m in lexical semantic hybrid $(for w in $weights; do echo "hybrid_ws$w"; done); do
  [[ -n "$(val "${m}_ndcg10")" ]] || continue
  printf '%-18s %8s %10s %9s %9s\n' "$m" "$(val "${m}_ndcg10")" "$(val "${m}_recall10")" \
    "$(val "${m}_p50_ms")" "$(val "${m}_p99_ms")"
done
echo "(hybrid_wsW: hybrid_weight_semantic = W, hybrid_weight_lexical = 1)"
