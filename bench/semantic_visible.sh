#!/usr/bin/env bash
# semantic_visible.sh: how long N documents take to become searchable by
# their words and by their meaning, through a real `lore serve` (Release,
# --workers 2, no rate limits) and the test model server (tests/embed/
# server.mjs: Universal Sentence Encoder Lite under Node, 512 dimensions,
# the OpenAI protocol).
#
# For each N of LORE_VISIBLE_DOCS, a fresh data directory and server; the
# first N SciFact documents POSTed in batches of 100 (one connection); from
# the first POST, the clock stops:
#   accepted  when the last 202 is in;
#   lexical   when every write's job is done (GET /v1/jobs/ID): the
#             documents are committed, so a lexical search finds them;
#   semantic  when every chunk has a vector in the live slot (GET
#             /v1/reembed: chunks > 0 and pending 0, read from the store at
#             each call, not cached): a semantic search finds them.
# Polled every 20 ms. Then one lexical and one semantic search for the first
# document's title must find it on the first page (a check of the figures,
# not a quality figure). Runs go round the sizes LORE_BENCH_RUNS times; the
# medians are printed, next to the provider's own texts/s on the same
# documents (bench/semantic_eval.mjs rate: batches of 64, 2 in flight, as
# lore's embed_batch and embed_concurrency) measured first in the same run.
#
# Environment: LORE_VISIBLE_DOCS (default "10 100"), LORE_BENCH_RUNS
# (default 3), LORE_BUILD_DIR (default build/release), LORE_SCIFACT_DIR
# (default ../shared/data/beir/scifact), LORE_BENCH_KEEP=1 keeps the
# temporary directory. Run from the repository root:
# bash bench/semantic_visible.sh
set -euo pipefail

bench_name=semantic_visible.sh
build="${LORE_BUILD_DIR:-build/release}"
data="${LORE_SCIFACT_DIR:-../shared/data/beir/scifact}"
sizes="${LORE_VISIBLE_DOCS:-10 100}"
runs="${LORE_BENCH_RUNS:-3}"
keep="${LORE_BENCH_KEEP:-0}"
# lore refuses LORE_* variables it does not know: the bench's own go
unset LORE_BUILD_DIR LORE_SCIFACT_DIR LORE_VISIBLE_DOCS LORE_BENCH_RUNS LORE_BENCH_KEEP
# shellcheck source=bench/lib/servers.sh
source "$(dirname "$0")/lib/servers.sh"
bench_posint LORE_BENCH_RUNS "$runs"
max=0
for n in $sizes; do
  bench_posint LORE_VISIBLE_DOCS "$n"
  ((n > max)) && max=$n
done

bench_tmp semvisible
bench_corpus "$data" "$max"
bench_build "$build"
bench_embed_start "$build"
first_id="$(head -n 1 "$tmp/corpus.jsonl" | jq -r ._id)"
first_title="$(head -n 1 "$tmp/corpus.jsonl" | jq -r .title)"
bench_provider_rate $((max < 128 ? max : 128))

# found MODE: the first document is on the first page for its title
found() {
  bench_api GET "/v1/search?limit=10&mode=$1&q=$(jq -rn --arg q "$first_title" '$q | @uri')" |
    jq -e --arg id "$first_id" 'any(.hits[]; .external_id == $id)' >/dev/null
}

# one N RUN: appends "N RUN accepted lexical semantic chunks" to runs.txt
one() {
  local n="$1" run="$2" dir="$tmp/data.$1.$2" t0 t_acc t_lex="" t_sem="" jobs=() left=() id st
  bench_corpus "$data" "$n"
  bench_lore_start "$dir" || bench_die "lore serve did not start: $(tail -3 "$tmp/lore.err")"
  t0="$(bench_now)"
  for f in "$tmp"/batch.*.json; do
    id="$(bench_api POST /v1/documents "@$f" | jq -r .job.id)" ||
      bench_die "POST /v1/documents failed"
    jobs+=("$id")
  done
  t_acc="$(bench_now)"
  local deadline=$((SECONDS + 7200))
  while ((SECONDS < deadline)); do
    if [[ -z "$t_lex" ]]; then
      left=()
      for id in "${jobs[@]}"; do
        st="$(bench_api GET "/v1/jobs/$id" | jq -r .state)" || bench_die "GET /v1/jobs/$id failed"
        [[ "$st" == dead ]] && bench_die "job $id is dead: $(bench_api GET "/v1/jobs/$id")"
        [[ "$st" == "done" ]] || left+=("$id")
      done
      jobs=("${left[@]}")
      ((${#jobs[@]} == 0)) && t_lex="$(bench_now)"
    fi
    if [[ -n "$t_lex" ]] && bench_vectors_done; then
      t_sem="$(bench_now)"
      break
    fi
    sleep 0.02
  done
  [[ -n "$t_sem" ]] || bench_die "N=$n: not searchable by meaning after 2 hours"
  found lexical || bench_die "N=$n: a lexical search for the first title does not find it"
  found semantic || bench_die "N=$n: a semantic search for the first title does not find it"
  local chunks
  chunks="$(bench_api GET /v1/reembed | jq .chunks)" || bench_die "GET /v1/reembed failed"
  bench_lore_stop
  rm -rf "$dir"
  awk -v n="$n" -v r="$run" -v t0="$t0" -v a="$t_acc" -v l="$t_lex" -v s="$t_sem" -v c="$chunks" \
    'BEGIN { printf "%d %d %.3f %.3f %.3f %d\n", n, r, a - t0, l - t0, s - t0, c }' >>"$tmp/runs.txt"
  echo "   N=$n run $r: $(tail -n 1 "$tmp/runs.txt" | cut -d' ' -f3-) (accepted, lexical, semantic s; chunks)"
}

echo "== $runs runs of N = $sizes (a fresh data directory each)"
: >"$tmp/runs.txt"
for ((r = 1; r <= runs; r++)); do
  for n in $sizes; do
    one "$n" "$r"
  done
done

col() { awk -v n="$1" -v c="$2" '$1 == n { print $c }' "$tmp/runs.txt"; }
echo
echo "== SciFact documents searchable through lore serve (--workers 2), USE-Lite (512 d) on $(nproc) cores"
echo "provider alone: $provider texts/s; medians of $runs runs:"
printf '%6s %7s %11s %10s %11s %12s %13s\n' N chunks accepted_s lexical_s semantic_s lexical_doc/s semantic_doc/s
for n in $sizes; do
  # shellcheck disable=SC2046
  a="$(bench_median $(col "$n" 3))" l="$(bench_median $(col "$n" 4))" s="$(bench_median $(col "$n" 5))"
  c="$(col "$n" 6 | head -n 1)"
  awk -v n="$n" -v c="$c" -v a="$a" -v l="$l" -v s="$s" \
    'BEGIN { printf "%6d %7d %11.3f %10.3f %11.3f %12.1f %13.2f\n", n, c, a, l, s, n / l, n / s }'
done
