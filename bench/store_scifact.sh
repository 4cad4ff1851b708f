#!/usr/bin/env bash
# SciFact through `lore serve` on SQLite and on PostgreSQL in the same run:
# ingest (documents/s through the job queue) and search latency under wrk
# (p50, p99 at 1 and at 50 connections). See bench/README.md
# ("store_scifact.sh").
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bench/store_scifact.sh [--rounds N] [--duration S] [--keep]

  1. builds Release (build/release, target lore) and starts a throwaway
     PostgreSQL (tests/support/pg.sh) for the whole run;
  2. ingest, N rounds, SQLite then PostgreSQL each round: a fresh data
     directory (PostgreSQL: and a fresh database, LORE_STORE_URL), `lore
     serve` with 2 job workers, SciFact's corpus.jsonl (5,183 documents) in
     POSTs of 100 over 4 connections (bench/ingest_load.mjs bulk);
     documents/s from the first POST to the last job done;
  3. search, N rounds, on the last round's data, SQLite then PostgreSQL each
     round: `lore serve` started afresh (no job workers), a 2 s warm-up at 50 connections
     (fills PostgreSQL's block cache), then wrk -t1 -c1 and wrk -t2 -c50,
     S seconds each, GET /v1/search over all 1,109 SciFact queries
     (bench/http_search.lua: limit 10, default snippets);
  4. prints the medians over the rounds and the PG/SQLite ratios; exits 1
     if any request failed.

options:
  -r, --rounds N     rounds; medians are over them (default 3)
  -d, --duration S   seconds per measured wrk run (default 10)
  -k, --keep         keep the temporary directory (logs, wrk outputs)

environment: LORE_BUILD_DIR (default build/release), LORE_SCIFACT_DIR
(default ../shared/data/beir/scifact). Run from the repository root.
EOF
}

bench_name=store_scifact.sh
rounds=3
duration=10
while (($#)); do
    case "$1" in
    -h | --help) usage; exit 0 ;;
    -r | --rounds) rounds="${2:-}"; shift 2 || true ;;
    -d | --duration) duration="${2:-}"; shift 2 || true ;;
    -k | --keep) export keep=1; shift ;;
    *) echo "$bench_name: unknown argument '$1' (see --help)" >&2; exit 1 ;;
    esac
done
# shellcheck source=bench/lib/servers.sh
source bench/lib/servers.sh
bench_posint --rounds "$rounds"
bench_posint --duration "$duration"
build="${LORE_BUILD_DIR:-build/release}"
data="${LORE_SCIFACT_DIR:-../shared/data/beir/scifact}"
[[ -f "$data/corpus.jsonl" && -f "$data/queries.jsonl" ]] ||
    bench_die "$data/corpus.jsonl or queries.jsonl not found (set LORE_SCIFACT_DIR)"
command -v wrk >/dev/null || bench_die "wrk is needed (apt-get install wrk)"
command -v node >/dev/null || bench_die "node (18 or later) is needed"

# Everything below runs inside tests/support/pg.sh (LORE_TEST_PG_URL and
# LORE_TEST_PG_ADMIN set), so the server lives as long as the run.
if [[ -z "${LORE_TEST_PG_ADMIN:-}" ]]; then
    bench_build "$build"
    echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    args=(--rounds "$rounds" --duration "$duration")
    [[ "$keep" == 1 ]] && args+=(--keep)
    exec env LORE_BUILD_DIR="$build" LORE_SCIFACT_DIR="$data" \
        bash tests/support/pg.sh bash "$0" "${args[@]}"
fi
unset LORE_BUILD_DIR LORE_SCIFACT_DIR
lore="$(cd "$build" && pwd)/lore"
[[ -x "$lore" ]] || bench_die "$lore not found"
pg_url="$LORE_TEST_PG_URL"
pg_admin="$LORE_TEST_PG_ADMIN"
unset LORE_TEST_PG_URL LORE_TEST_PG_ADMIN # lore refuses LORE_* names it does not know
bench_tmp store-scifact
results="$tmp/results.txt"
: >"$results"

# store_env BACKEND ROUND: the variables that point lore at the round's store.
store_env() {
    if [[ "$1" == pg ]]; then
        echo "LORE_STORE_URL=${pg_url%/*}/scifact_$2"
    fi
}

# ---- ingest ----

echo "== ingest: $data/corpus.jsonl, POSTs of 100, 4 connections, 2 workers; $rounds rounds"
for ((r = 1; r <= rounds; r++)); do
    psql -qX "$pg_admin" -v ON_ERROR_STOP=1 -c "CREATE DATABASE scifact_$r OWNER lore" >/dev/null
    for b in sqlite pg; do
        lore_key=""
        # lore serve does not make the data directory when store_url is set.
        mkdir -p "$tmp/data-$b-$r"
        # shellcheck disable=SC2046 # empty or one VAR=VALUE word
        bench_lore_start "$tmp/data-$b-$r" $(store_env "$b" "$r") ||
            bench_die "lore serve ($b) exited at start: $(tail -3 "$tmp/lore.err")"
        out="$tmp/ingest-$b-$r.txt"
        BENCH_KEY="$lore_key" node bench/ingest_load.mjs bulk --url "$lore_url" --server-pid "$lore_pid" \
            --corpus "$data/corpus.jsonl" --conns 4 --batch 100 --poll-ms 10 >"$out" 2>&1 ||
            bench_die "ingest ($b) failed: $(tail -3 "$out")"
        echo "$lore_key" >"$tmp/key-$b-$r"
        bench_lore_stop
        rate="$(awk '$1 == "result" && $2 == "docs_per_s" { print $3 }' "$out")"
        printf '   round %d  %-6s  %6s documents/s to done\n' "$r" "$b" "$rate"
        echo "$b ingest $r $rate" >>"$results"
    done
done

# ---- search ----

jq -r '.text | @uri' "$data/queries.jsonl" >"$tmp/queries.uri"
mkdir -p "$tmp/wrk"

# wrk_parse FILE: "p50_ms p99_ms requests/s bad" (bad: non-2xx + socket errors)
wrk_parse() {
    awk '
        function ms(v) {
            if (v ~ /us$/) return v / 1000
            if (v ~ /ms$/) return v + 0
            if (v ~ /s$/) return v * 1000
            return v + 0
        }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        /^Requests\/sec:/ { rps = $2 }
        /Non-2xx or 3xx responses:/ { bad += $NF }
        /Socket errors:/ { gsub(/,/, ""); bad += $4 + $6 + $8 + $10 }
        END { printf "%.3f %.3f %s %d\n", p50, p99, rps, bad }
    ' "$1"
}

failures=0
# wrk_run NAME THREADS CONNS SECONDS: one run against lore_url; appends
# "backend NAME round p50 p99 rps" to results.
wrk_run() {
    local out="$tmp/wrk/$b-$1-$r.txt" p50 p99 rps bad
    WRK_LORE_KEY="$lore_key" wrk -t"$2" -c"$3" -d"$4s" --latency -s bench/http_search.lua "$lore_url" \
        -- get "$tmp/queries.uri" >"$out" 2>&1 || bench_die "wrk failed: $(tail -2 "$out")"
    read -r p50 p99 rps bad <<<"$(wrk_parse "$out")"
    ((bad == 0)) || failures=$((failures + 1))
    [[ "$1" == warm ]] && return 0
    echo "$b $1 $r $p50 $p99 $rps" >>"$results"
    printf '   round %d  %-6s  %-4s p50 %7.3f ms  p99 %7.3f ms  %7.0f req/s%s\n' "$r" "$b" "$1" "$p50" \
        "$p99" "$rps" "$( ((bad)) && echo "  ERRORS: $bad")"
}

bench_workers=-1 # no job workers while searching: the queue is empty, nothing polls it
echo "== search: GET /v1/search (1,109 queries, limit 10), wrk -t1 -c1 and -t2 -c50, ${duration}s each after a 2 s warm-up; $rounds rounds"
for ((r = 1; r <= rounds; r++)); do
    for b in sqlite pg; do
        lore_key="$(cat "$tmp/key-$b-$rounds")"
        # shellcheck disable=SC2046
        bench_lore_start "$tmp/data-$b-$rounds" $(store_env "$b" "$rounds") ||
            bench_die "lore serve ($b) exited at start: $(tail -3 "$tmp/lore.err")"
        wrk_run warm 2 50 2
        wrk_run c1 1 1 "$duration"
        wrk_run c50 2 50 "$duration"
        bench_lore_stop
    done
done

# ---- summary ----

med() { # med BACKEND NAME COLUMN (4: p50/docs/s, 5: p99, 6: req/s)
    # shellcheck disable=SC2046 # one number a word
    bench_median $(awk -v b="$1" -v n="$2" -v c="$3" '$1 == b && $2 == n { print $c }' "$results")
}
ratio() { awk -v p="$1" -v s="$2" 'BEGIN { printf "%.2f", (s > 0) ? p / s : 0 }'; }
echo
echo "== medians of $rounds rounds (PG/SQLite: the ratio of the medians)"
echo
echo "| figure | SQLite | PostgreSQL | PG/SQLite |"
echo "|---|---|---|---|"
s="$(med sqlite ingest 4)"
p="$(med pg ingest 4)"
echo "| ingest, documents/s (2 workers) | $s | $p | $(ratio "$p" "$s") |"
for c in c1 c50; do
    n="${c#c}"
    for col in 4:p50 5:p99; do
        s="$(med sqlite "$c" "${col%%:*}")"
        p="$(med pg "$c" "${col%%:*}")"
        echo "| search ${col#*:}, $n connection$( ((n > 1)) && echo s), ms | $s | $p | $(ratio "$p" "$s") |"
    done
    s="$(med sqlite "$c" 6)"
    p="$(med pg "$c" 6)"
    echo "| search, $n connection$( ((n > 1)) && echo s), requests/s | $s | $p | $(ratio "$p" "$s") |"
done
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
if ((failures)); then bench_die "$failures wrk run(s) saw errors or non-2xx answers"; fi
