#!/usr/bin/env bash
# Ingest benchmark of `lore serve` through the job queue: documents/s from
# the first POST /v1/documents to the last job done, the accept rate (202s),
# and the time from a 202 to the document being searchable when the queue is
# not backlogged. See bench/README.md ("ingest.sh") for what each figure
# means.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bench/ingest.sh [--runs N] [--keep]

Benchmarks ingestion over HTTP (POST /v1/documents answers 202 with a job;
workers run the jobs), driven by bench/ingest_load.mjs (node):
  1. builds Release: cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release
     && cmake --build build/release -j2 --target lore;
  2. small documents: LORE_INGEST_DOCS generated documents (default 100,000;
     20 to 60 words, each with a unique token), batches of 100, 4 keep-alive
     connections (closed loop), with 1, 2 and 4 job workers, a fresh data
     directory per run; documents/s from the first request to the last job
     done, and 202s per second;
  3. SciFact (../shared/data/beir/scifact/corpus.jsonl, 5,183 documents) the
     same way;
  4. accept->searchable: on a fresh data directory with 2 workers and
     10,000 small documents loaded, 200 single-document POSTs at 50 per
     second; from each 202, a search for the document's token every 5 ms
     until it finds it; p50, p90, p99;
  5. prints the median of the runs of each figure and the aims; exits 1 if
     any request failed or a check did not hold.
The runs are interleaved (1, 2, 4 workers; again; ...). Everything runs in a
temporary directory, removed at the end with every process this script
started.

options:
  -r, --runs N   runs of each measurement; medians are over them (default 3)
  -k, --keep     keep the temporary directory (server logs, raw results)
  -h, --help     show this help

environment:
  LORE_INGEST_DOCS          small documents per run (default 100000)
  LORE_INGEST_WORKERS       worker counts (default "1 2 4")
  LORE_INGEST_CONNS         client connections for the bulk runs (default 4)
  LORE_INGEST_LAT_DOCS      documents of the latency stream (default 200)
  LORE_INGEST_LAT_RATE      their rate per second (default 50)
  LORE_INGEST_LAT_PRELOAD   small documents loaded before it (default 10000)
  LORE_BUILD_DIR            build directory (default build/release)
  LORE_SCIFACT_DIR          SciFact (default ../shared/data/beir/scifact)
These are removed from lore's environment (lore refuses unknown LORE_*
variables). Run from the repository root.
EOF
}

die() {
    echo "ingest.sh: $*" >&2
    exit 2
}

runs=3
keep=0
while (($#)); do
    case "$1" in
    -h | --help)
        usage
        exit 0
        ;;
    -r | --runs)
        runs="${2:-}"
        shift 2 || die "--runs needs a value"
        ;;
    -k | --keep)
        keep=1
        shift
        ;;
    *)
        echo "ingest.sh: unknown argument '$1' (see --help)" >&2
        exit 1
        ;;
    esac
done
posint() { [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "$1 '$2' is not a positive number"; }
posint --runs "$runs"

docs="${LORE_INGEST_DOCS:-100000}"
workers_list="${LORE_INGEST_WORKERS:-1 2 4}"
conns="${LORE_INGEST_CONNS:-4}"
lat_docs="${LORE_INGEST_LAT_DOCS:-200}"
lat_rate="${LORE_INGEST_LAT_RATE:-50}"
lat_preload="${LORE_INGEST_LAT_PRELOAD:-10000}"
build="${LORE_BUILD_DIR:-build/release}"
data="${LORE_SCIFACT_DIR:-../shared/data/beir/scifact}"
# lore reads every LORE_* variable as a setting and refuses unknown ones.
unset LORE_INGEST_DOCS LORE_INGEST_WORKERS LORE_INGEST_CONNS LORE_INGEST_LAT_DOCS \
    LORE_INGEST_LAT_RATE LORE_INGEST_LAT_PRELOAD LORE_BUILD_DIR LORE_SCIFACT_DIR
posint LORE_INGEST_DOCS "$docs"
posint LORE_INGEST_CONNS "$conns"
posint LORE_INGEST_LAT_DOCS "$lat_docs"
posint LORE_INGEST_LAT_RATE "$lat_rate"
[[ "$lat_preload" =~ ^[0-9]+$ ]] || die "LORE_INGEST_LAT_PRELOAD '$lat_preload' is not a number"
for w in $workers_list; do posint "LORE_INGEST_WORKERS" "$w"; done

[[ -f CMakeLists.txt && -f bench/ingest_load.mjs ]] ||
    die "run from the repository root (bench/ingest_load.mjs not found)"
[[ -f "$data/corpus.jsonl" ]] || die "$data/corpus.jsonl not found (set LORE_SCIFACT_DIR)"
command -v node >/dev/null || die "node (20 or later) is needed"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
((node_major >= 18)) || die "node $node_major is too old (18 or later)"

# ---- processes and the temporary directory, cleaned up on any exit ----

tmp=""
lore_pid=""
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
    if [[ -n "$tmp" && -d "$tmp" ]]; then
        if ((keep)); then
            echo "kept $tmp"
        else
            rm -rf "$tmp"
        fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- build ----

echo "== building Release ($build)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target lore >/dev/null
lore="$build/lore"
[[ -x "$lore" ]] || die "$lore was not built"

tmp="$(mktemp -d /tmp/lore-ingest.XXXXXX)"
results="$tmp/results.txt"
: >"$results"

# The server's settings for every run: no rate limits, no queue caps (a
# 429 would measure the limit), no access log (a line per request).
bench_env=(LORE_RATE_WRITE_PER_MIN=0 LORE_RATE_READ_PER_MIN=0 LORE_RATE_ADMIN_PER_MIN=0
    LORE_QUEUE_MAX_PER_TENANT=0 LORE_QUEUE_MAX_TOTAL=0 LORE_ACCESS_LOG=0)

# start_lore DATA_DIR WORKERS LOG: `lore serve` on a free port, a fresh data
# directory; sets lore_pid, lore_port, lore_key.
start_lore() {
    local dir="$1" workers="$2" log="$3"
    : >"$tmp/lore.out"
    env "${bench_env[@]}" "$lore" serve --listen 127.0.0.1:0 --data-dir "$dir" \
        --workers "$workers" >"$tmp/lore.out" 2>"$log" &
    lore_pid=$!
    local i
    for ((i = 0; i < 200; i++)); do
        grep -q ' listening on http://' "$tmp/lore.out" && break
        kill -0 "$lore_pid" 2>/dev/null || die "lore serve exited at start: $(tail -2 "$log")"
        sleep 0.05
    done
    lore_port="$(sed -n 's|.* listening on http://127\.0\.0\.1:\([0-9][0-9]*\) .*|\1|p' "$tmp/lore.out")"
    [[ -n "$lore_port" ]] || die "lore serve printed no listening line"
    lore_key="$(sed -n 's/^admin key (shown once, keep it): //p' "$tmp/lore.out")"
    [[ -n "$lore_key" ]] || die "lore serve printed no admin key (not a fresh data directory?)"
}

failures=0
# load NAME WORKERS RUN MODE ARGS...: one ingest_load.mjs run against the
# running server; its "result K V" lines go to results.txt as
# "NAME WORKERS RUN K V".
load() {
    local name="$1" workers="$2" run="$3" mode="$4"
    shift 4
    local out="$tmp/$name.w$workers.r$run.txt"
    if ! BENCH_KEY="$lore_key" node bench/ingest_load.mjs "$mode" --url "http://127.0.0.1:$lore_port" \
        --server-pid "$lore_pid" "$@" >"$out" 2>&1; then
        failures=$((failures + 1))
        echo "   FAILED: $(grep -v '^result ' "$out" | tail -3 | tr '\n' ' ')"
    fi
    awk -v n="$name" -v w="$workers" -v r="$run" '
        $1 == "result" { print n, w, r, $2, $3; v[$2] = $3 }
        END { if (v["documents"] > 0 && v["server_cpu_s"] != "")
                  printf "%s %s %s server_us_per_doc %.0f\n", n, w, r, v["server_cpu_s"] * 1e6 / v["documents"] }
    ' "$out" >>"$results"
}

val() { # val NAME WORKERS RUN KEY
    awk -v n="$1" -v w="$2" -v r="$3" -v k="$4" '$1 == n && $2 == w && $3 == r && $4 == k { print $5 }' "$results"
}

median() { # median NAME WORKERS KEY: over the runs
    awk -v n="$1" -v w="$2" -v k="$3" '$1 == n && $2 == w && $4 == k { print $5 }' "$results" | sort -g |
        awk '{ v[NR] = $1 } END { if (!NR) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

range() { # range NAME WORKERS KEY: "min-max" over the runs
    awk -v n="$1" -v w="$2" -v k="$3" '$1 == n && $2 == w && $4 == k { print $5 }' "$results" | sort -g |
        sed -n '1p;$p' | tr '\n' ' ' | awk '{ printf "%s-%s", $1, $2 == "" ? $1 : $2 }'
}

echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); node $(node --version)"
echo "   busiest processes now (the server and the client share these cores with them):"
ps -eo pcpu=,comm= --sort=-pcpu | head -4 | sed 's/^/     /'

# ---- bulk runs ----

bulk_run() { # bulk_run NAME WORKERS RUN ARGS...
    local name="$1" w="$2" r="$3"
    shift 3
    local dir="$tmp/data-$name-w$w-r$r"
    start_lore "$dir" "$w" "$tmp/lore-$name-w$w-r$r.err"
    load "$name" "$w" "$r" bulk --conns "$conns" --batch 100 --poll-ms 10 "$@"
    stop_lore
    printf '   %-8s %d workers, run %d: %6s docs/s to done (%s s), accepted %6s docs/s (%s s);' \
        "$name" "$w" "$r" "$(val "$name" "$w" "$r" docs_per_s)" "$(val "$name" "$w" "$r" done_s)" \
        "$(val "$name" "$w" "$r" accept_docs_per_s)" "$(val "$name" "$w" "$r" accept_s)"
    printf ' server %s cores, %s us CPU/doc; others %s; retries %s\n' "$(val "$name" "$w" "$r" server_cores)" \
        "$(val "$name" "$w" "$r" server_us_per_doc)" "$(val "$name" "$w" "$r" other_cores)" "$(val "$name" "$w" "$r" retries)"
    rm -rf "$dir"
}

echo "== small documents: $docs generated, batches of 100, $conns connections; workers: $workers_list; $runs runs"
for ((r = 1; r <= runs; r++)); do
    for w in $workers_list; do
        bulk_run small "$w" "$r" --gen "$docs"
    done
done

echo "== SciFact: $data/corpus.jsonl, batches of 100, $conns connections; workers: $workers_list; $runs runs"
for ((r = 1; r <= runs; r++)); do
    for w in $workers_list; do
        bulk_run scifact "$w" "$r" --corpus "$data/corpus.jsonl"
    done
done

# ---- accept -> searchable ----

echo "== accept->searchable: 2 workers, $lat_preload documents loaded, then $lat_docs single-document POSTs at $lat_rate/s; search every 5 ms"
for ((r = 1; r <= runs; r++)); do
    dir="$tmp/data-latency-r$r"
    start_lore "$dir" 2 "$tmp/lore-latency-r$r.err"
    if ((lat_preload)); then
        load preload 2 "$r" bulk --conns "$conns" --batch 100 --gen "$lat_preload" --prefix p
    fi
    sleep 1 # the queue empty, the preload's merges done
    load latency 2 "$r" latency --count "$lat_docs" --rate "$lat_rate" --poll-ms 5 --prefix l
    stop_lore
    printf '   run %d: accept->searchable p50 %s ms, p90 %s ms, p99 %s ms, max %s ms; POST p50 %s ms, p99 %s ms; others %s cores\n' \
        "$r" "$(val latency 2 "$r" searchable_p50_ms)" "$(val latency 2 "$r" searchable_p90_ms)" \
        "$(val latency 2 "$r" searchable_p99_ms)" "$(val latency 2 "$r" searchable_max_ms)" \
        "$(val latency 2 "$r" accept_p50_ms)" "$(val latency 2 "$r" accept_p99_ms)" "$(val latency 2 "$r" other_cores)"
    rm -rf "$dir"
done

# ---- summary ----

load_end="$(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "== summary: medians of $runs runs (range in brackets)"
echo
printf '| %-8s | %7s | %-22s | %-22s | %9s | %11s | %9s | %6s | %7s |\n' corpus workers 'docs/s to done' \
    'accepted docs/s' 'POST p99' 'srv us/doc' 'srv cores' others retries
echo '|----------|---------|------------------------|------------------------|-----------|-------------|-----------|--------|---------|'
total_retries=0
for name in small scifact; do
    for w in $workers_list; do
        retries="$(awk -v n="$name" -v w="$w" '$1 == n && $2 == w && $4 == "retries" { s += $5 } END { print s + 0 }' "$results")"
        total_retries=$((total_retries + retries))
        printf '| %-8s | %7s | %-22s | %-22s | %6s ms | %11s | %9s | %6s | %7s |\n' "$name" "$w" \
            "$(median "$name" "$w" docs_per_s) ($(range "$name" "$w" docs_per_s))" \
            "$(median "$name" "$w" accept_docs_per_s) ($(range "$name" "$w" accept_docs_per_s))" \
            "$(median "$name" "$w" post_p99_ms)" "$(median "$name" "$w" server_us_per_doc)" \
            "$(median "$name" "$w" server_cores)" "$(median "$name" "$w" other_cores)" "$retries"
    done
done
echo
echo "small: $docs documents ($(val small "${workers_list%% *}" 1 mb) MB of JSON), scifact: $(val scifact "${workers_list%% *}" 1 documents)" \
    "documents ($(val scifact "${workers_list%% *}" 1 mb) MB). docs/s to done: documents over the seconds from the"
echo "first POST to the first poll that found no job ready or leased; accepted: documents over the"
echo "seconds to the last 202. srv us/doc: the server's CPU time (all threads) per document; srv"
echo "cores: its CPU time over the wall clock; others: cores used by every other process (the client"
echo "aside); retries: failed job attempts over all runs (lore_job_retries_total; should be 0)."
echo
echo "accept->searchable (2 workers, $lat_docs documents at $lat_rate/s after $lat_preload loaded):" \
    "p50 $(median latency 2 searchable_p50_ms) ms, p90 $(median latency 2 searchable_p90_ms) ms," \
    "p99 $(median latency 2 searchable_p99_ms) ms ($(range latency 2 searchable_p99_ms)), max $(median latency 2 searchable_max_ms) ms;"
echo "  POST->202 p50 $(median latency 2 accept_p50_ms) ms, p99 $(median latency 2 accept_p99_ms) ms;" \
    "search polls per document $(median latency 2 polls_mean); others $(median latency 2 other_cores) cores"
echo "load average at the end: $load_end"

verdict() { # verdict VALUE OP LIMIT
    awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN { ok = op == ">=" ? v >= l : v < l; print ok ? "met" : "MISSED" }'
}
echo
echo "aims:"
if [[ " $workers_list " == *" 2 "* ]]; then
    d2="$(median small 2 docs_per_s)"
    echo "  >= 5,000 small documents/s with 2 workers: $d2 docs/s, $(verdict "$d2" '>=' 5000)"
fi
p99="$(median latency 2 searchable_p99_ms)"
echo "  p99 accept->searchable < 1 s (not backlogged): $p99 ms, $(verdict "$p99" '<' 1000)"

if ((total_retries)); then
    echo "WARNING: $total_retries job attempts failed and were retried (see the servers' logs with --keep)"
fi
if ((failures)); then
    echo "ingest.sh: $failures load run(s) failed or a check did not hold (see above)" >&2
    exit 1
fi
