# shellcheck shell=bash
# bench/lib/servers.sh: the processes a bench script starts, waited for and
# stopped in one place. Source it from the repository root after setting
# bench_name (the script's name, for messages); it needs bash, curl and jq.
#
#   bench_die MSG...          prints "BENCH_NAME: MSG" and exits 1
#   bench_tmp PREFIX          tmp: a fresh /tmp/lore-PREFIX.XXXXXX; on any
#                             exit the servers below are stopped and tmp is
#                             removed (kept when keep=1)
#   bench_build BUILD         configures and builds lore (Release) in BUILD;
#                             sets lore (its absolute path)
#   bench_embed_start BUILD   the test model server (tests/embed/server.mjs:
#                             USE-Lite under Node, the OpenAI protocol),
#                             installed by tests/embed/setup.sh into
#                             BUILD/embed-node; sets embed_url, embed_port,
#                             embed_pid
#   bench_embed_stop
#   bench_lore_start DATA [VAR=V...]   `lore serve` on 127.0.0.1 (a free port)
#                             over the data directory DATA, with
#                             bench_lore_env (no rate limits, queue caps or
#                             access log; the model server when started, with
#                             embed_timeout_s 900) and
#                             VAR=V; --workers bench_workers (default 2); logs
#                             in tmp/lore.out and tmp/lore.err. Sets lore_pid,
#                             lore_port, lore_url, and lore_key when serve
#                             prints a first-start admin key (kept across
#                             restarts on the same data). Returns 1 when serve
#                             exits before it listens.
#   bench_lore_stop           SIGTERM, then waits
#   bench_api METHOD PATH [JSON]   a request to lore with lore_key; prints the
#                             body, fails on a status other than 2xx
#   bench_vectors_done        true when the tenant has chunks and every one
#                             has a vector in the live slot (GET /v1/reembed:
#                             read from the store on each call, not cached)
#   bench_posint NAME VALUE   dies unless VALUE is a positive whole number
#   bench_corpus DATA N       checks DATA/corpus.jsonl (BEIR: _id, title,
#                             text) has N documents and node runs; writes
#                             its first N to tmp/corpus.jsonl and, as lore's
#                             JSON in POST bodies of 100 documents, to
#                             tmp/batch.NNNN.json (replacing earlier ones)
#   bench_provider_rate COUNT the provider alone on the first COUNT texts of
#                             tmp/corpus.jsonl (bench/semantic_eval.mjs rate:
#                             batches of 64, 2 in flight, as lore's
#                             embed_batch and embed_concurrency, after a
#                             warm-up request); sets provider (texts/s)
#   bench_now                 seconds since the epoch, microseconds
#   bench_median X...         the median (the mean of the middle two for an
#                             even count)
# Sourcing it checks the working directory is the repository root and
# unsets LORE_CONFIG and LORE_EMBED_* (the servers' settings come from the
# bench); the scripts unset their own LORE_* variables too (lore refuses
# LORE_* variables it does not know).

bench_die() {
  echo "${bench_name:-bench}: $*" >&2
  exit 1
}

[[ -f CMakeLists.txt && -f bench/lib/servers.sh ]] || bench_die "run from the repository root"
unset LORE_CONFIG LORE_EMBED_URL LORE_EMBED_MODEL LORE_EMBED_DIMENSIONS LORE_EMBED_API_KEY

tmp=""
lore_pid=""
embed_pid=""
keep="${keep:-0}"

bench_lore_stop() {
  if [[ -n "$lore_pid" ]]; then
    kill -TERM "$lore_pid" 2>/dev/null || true
    wait "$lore_pid" 2>/dev/null || true
    lore_pid=""
  fi
}

bench_embed_stop() {
  if [[ -n "$embed_pid" ]]; then
    kill -TERM "$embed_pid" 2>/dev/null || true
    wait "$embed_pid" 2>/dev/null || true
    embed_pid=""
  fi
}

bench_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  bench_lore_stop
  bench_embed_stop
  if [[ -n "$tmp" && -d "$tmp" ]]; then
    if [[ "$keep" == 1 ]]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
  fi
  exit "$rc"
}

bench_tmp() {
  tmp="$(mktemp -d "/tmp/lore-$1.XXXXXX")"
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

bench_build() {
  echo "== building Release ($1)"
  cmake -S . -B "$1" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$1" -j2 --target lore >/dev/null
  lore="$(cd "$1" && pwd)/lore"
  [[ -x "$lore" ]] || bench_die "$lore was not built"
}

bench_lore_env=(LORE_RATE_WRITE_PER_MIN=0 LORE_RATE_READ_PER_MIN=0 LORE_RATE_ADMIN_PER_MIN=0
  LORE_RATE_ANON_PER_MIN=0 LORE_QUEUE_MAX_PER_TENANT=0 LORE_QUEUE_MAX_TOTAL=0 LORE_ACCESS_LOG=0)

bench_embed_start() {
  local dir
  dir="$(cd "$1" && pwd)/embed-node"
  echo "== the model server (tests/embed/setup.sh)"
  bash tests/embed/setup.sh "$dir" || bench_die "cannot install the test model"
  (cd "$dir" && exec node server.mjs 0 >"$tmp/embed.out" 2>"$tmp/embed.err") &
  embed_pid=$!
  # Loading the model takes seconds, more on a loaded machine.
  for _ in $(seq 1 1200); do
    grep -q '^port ' "$tmp/embed.out" 2>/dev/null && break
    kill -0 "$embed_pid" 2>/dev/null || bench_die "the model server exited: $(cat "$tmp/embed.err")"
    sleep 0.1
  done
  embed_port="$(sed -n 's/^port \([0-9]*\)$/\1/p' "$tmp/embed.out")"
  [[ -n "$embed_port" ]] || bench_die "the model server did not start"
  embed_url="http://127.0.0.1:$embed_port/v1"
  # USE-Lite on a busy 2-core machine can take more than embed_timeout_s's
  # default 60 s for a batch of 64 abstracts: every attempt would time out
  # and be retried (the model server finishing work nobody waits for) while
  # the machine stays that busy.
  bench_lore_env+=(LORE_EMBED_URL="$embed_url" LORE_EMBED_MODEL=use-lite LORE_EMBED_TIMEOUT_S=900)
}

bench_lore_start() {
  local data="$1"
  shift
  : >"$tmp/lore.out"
  env "${bench_lore_env[@]}" "$@" "$lore" serve --listen 127.0.0.1:0 --data-dir "$data" \
    --workers "${bench_workers:-2}" >"$tmp/lore.out" 2>>"$tmp/lore.err" &
  lore_pid=$!
  for _ in $(seq 1 400); do
    grep -q ' listening on http://' "$tmp/lore.out" && break
    kill -0 "$lore_pid" 2>/dev/null || {
      lore_pid=""
      return 1
    }
    sleep 0.05
  done
  lore_port="$(sed -n 's|.* listening on http://127\.0\.0\.1:\([0-9][0-9]*\) .*|\1|p' "$tmp/lore.out")"
  [[ -n "$lore_port" ]] || bench_die "lore serve printed no listening line"
  lore_url="http://127.0.0.1:$lore_port"
  local k
  k="$(sed -n 's/^admin key (shown once, keep it): //p' "$tmp/lore.out")"
  [[ -n "$k" ]] && lore_key="$k"
  [[ -n "${lore_key:-}" ]] || bench_die "lore serve printed no admin key (not a fresh data directory?)"
}

bench_api() {
  local args=(-sS -m 600 -X "$1" "$lore_url$2" -H "Authorization: Bearer $lore_key")
  [[ $# -ge 3 ]] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
  curl --fail-with-body "${args[@]}"
}

bench_vectors_done() {
  bench_api GET /v1/reembed | jq -e '.chunks > 0 and .pending == 0 and .live_model != null' \
    >/dev/null
}

bench_posint() {
  [[ "$2" =~ ^[1-9][0-9]*$ ]] || bench_die "$1 must be a positive whole number (got '$2')"
}

bench_corpus() {
  [[ -f "$1/corpus.jsonl" ]] || bench_die "$1/corpus.jsonl not found (set LORE_SCIFACT_DIR)"
  command -v node >/dev/null || bench_die "node (18 or later) is needed"
  rm -f "$tmp"/batch.*
  head -n "$2" "$1/corpus.jsonl" >"$tmp/corpus.jsonl"
  (($(wc -l <"$tmp/corpus.jsonl") == $2)) || bench_die "$1/corpus.jsonl has fewer than $2 documents"
  jq -c '{id: ._id, source: "scifact", title: .title, text: .text}' "$tmp/corpus.jsonl" |
    split -l 100 -d -a 4 - "$tmp/batch."
  local f
  for f in "$tmp"/batch.[0-9][0-9][0-9][0-9]; do
    jq -cs '{documents: .}' "$f" >"$f.json"
    rm -f "$f"
  done
}

bench_provider_rate() {
  echo "== the provider alone: $1 documents, batches of 64, 2 in flight (after one warm-up request)"
  node bench/semantic_eval.mjs rate --embed "$embed_url" --corpus "$tmp/corpus.jsonl" \
    --count "$1" --batch 64 --conns 2 >"$tmp/rate.out" || bench_die "the provider rate failed"
  provider="$(awk '$2 == "provider_texts_per_s" { print $3 }' "$tmp/rate.out")"
  echo "   $provider texts/s"
}

bench_now() { echo "$EPOCHREALTIME"; }

bench_median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
    END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
