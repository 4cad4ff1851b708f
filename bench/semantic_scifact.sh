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
# "0.5 0.25 0.1 0.05 0.02 0.01"),
# LORE_BENCH_KEEP=1 keeps the temporary directory. Run from the repository
# root: bash bench/semantic_scifact.sh
set -euo pipefail

build="${LORE_BUILD_DIR:-build/release}"
data="${LORE_SCIFACT_DIR:-../shared/data/beir/scifact}"
ndocs="${LORE_SCIFACT_DOCS:-1000}"
weights="${LORE_BENCH_WEIGHTS:-0.5 0.25 0.1 0.05 0.02 0.01}"
keep="${LORE_BENCH_KEEP:-0}"
# lore refuses LORE_* variables it does not know: the bench's own go
unset LORE_BUILD_DIR LORE_SCIFACT_DIR LORE_SCIFACT_DOCS LORE_BENCH_WEIGHTS LORE_BENCH_KEEP
unset LORE_HYBRID_WEIGHT_SEMANTIC LORE_HYBRID_WEIGHT_LEXICAL
bench_name=semantic_scifact.sh
# shellcheck source=bench/lib/servers.sh
source "$(dirname "$0")/lib/servers.sh"
[[ -f "$data/corpus.jsonl" && -f "$data/qrels/test.tsv" ]] ||
  bench_die "$data/corpus.jsonl or qrels/test.tsv not found (set LORE_SCIFACT_DIR)"
command -v node >/dev/null || bench_die "node (18 or later) is needed"
[[ "$ndocs" =~ ^[0-9]+$ ]] || bench_die "LORE_SCIFACT_DOCS must be a number (0 = the whole corpus)"

bench_tmp semscifact
bench_build "$build"
results="$tmp/results.txt"
: >"$results"

run() { # run ARGS...: the helper, its result lines kept
  BENCH_KEY="${lore_key:-}" node bench/semantic_eval.mjs "$@" >"$tmp/step.out" || {
    cat "$tmp/step.out" >&2
    bench_die "bench/semantic_eval.mjs $1 failed"
  }
  sed -n 's/^result //p' "$tmp/step.out" | tee -a "$results" | sed 's/^/   /'
}
val() { awk -v k="$1" '$1 == k { v = $2 } END { print v }' "$results"; }

bench_embed_start "$build"

echo "== subset of $data (LORE_SCIFACT_DOCS=$ndocs)"
run subset --data "$data" --docs "$ndocs" --out "$tmp/corpus.jsonl"

echo "== 1. the provider alone: 128 documents, batches of 64, 2 in flight (after one warm-up request)"
run rate --embed "$embed_url" --corpus "$tmp/corpus.jsonl" --count 128 --batch 64 --conns 2

bench_lore_start "$tmp/data" || bench_die "lore serve did not start: $(tail -3 "$tmp/lore.err")"
url="$lore_url"

docs="$(val docs)"
echo "== 2. ingest with embedding: $docs documents, batches of 100, 2 connections, 2 workers"
run ingest --url "$url" --corpus "$tmp/corpus.jsonl" --batch 100 --conns 2

echo "== 3. the test queries per mode"
for mode in lexical semantic hybrid; do
  run eval --url "$url" --data "$data" --mode "$mode"
done

echo "== 4. hybrid with lower semantic weights (restarts on the same data)"
for w in $weights; do
  bench_lore_stop
  if ! bench_lore_start "$tmp/data" LORE_HYBRID_WEIGHT_SEMANTIC="$w"; then
    echo "   lore serve refused hybrid_weight_semantic=$w: $(tail -1 "$tmp/lore.err")"
    continue
  fi
  url="$lore_url"
  run eval --url "$url" --data "$data" --mode hybrid --label "hybrid_ws$w"
done
bench_lore_stop

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
