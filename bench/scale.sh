#!/usr/bin/env bash
# Scale benchmark: lore's lexical index against SQLite FTS5 on the same
# synthetic corpus (default 1,000,000 one-chunk documents). Generates the
# corpus once (cached per size), runs each engine in its own process (so peak
# RSS is per engine), then prints both engines' figures side by side with
# the ratio fts5/lore (above 1: lore is smaller/faster).
#
#   bench/scale.sh [--pg] [N_DOCS]      N_DOCS also from $LORE_SCALE_DOCS
#
# --pg adds a third run, last: lore on PostgreSQL (a throwaway server from
# tests/support/pg.sh, its data directory under /tmp), and a pg/lore column.
# With LORE_SCALE_PG_HOLD=1 that server stays up after its run: its URL is
# written to $LORE_SCALE_DIR/pg-N.url and the script waits until that file
# is removed, so `scale_bench query URL` can be run on it meanwhile (e.g.
# next to `scale_bench query $LORE_SCALE_DIR/lore-N`, to compare builds
# without ingesting again); the table follows.
#
# Environment: LORE_BUILD_DIR (default build/release) holds scale_bench;
# LORE_SCALE_DIR (default /tmp/lore-scale) holds the corpus, the data
# directories and the logs; LORE_SCALE_CPU pins each scale_bench process to
# that CPU (taskset -c; the PostgreSQL server is not pinned). Run from the
# repository root. See bench/README.md.
set -euo pipefail

pg=0
if [[ "${1:-}" == --pg ]]; then
    pg=1
    shift
fi
n="${1:-${LORE_SCALE_DOCS:-1000000}}"
if ! [[ "$n" =~ ^[1-9][0-9]*$ ]]; then
    echo "scale.sh: N_DOCS '$n' is not a positive number" >&2
    exit 1
fi
build="${LORE_BUILD_DIR:-build/release}"
bin="$build/scale_bench"
work="${LORE_SCALE_DIR:-/tmp/lore-scale}"
cpu="${LORE_SCALE_CPU:-}"
hold="${LORE_SCALE_PG_HOLD:-0}"
unset LORE_SCALE_DOCS LORE_SCALE_DIR LORE_SCALE_CPU LORE_SCALE_PG_HOLD LORE_BUILD_DIR
pin=()
if [[ -n "$cpu" ]]; then pin=(taskset -c "$cpu"); fi
if [[ ! -x "$bin" ]]; then
    echo "scale.sh: $bin not found; build it first:" >&2
    echo "  cmake -S . -B $build -DCMAKE_BUILD_TYPE=Release && cmake --build $build --target scale_bench" >&2
    exit 1
fi
mkdir -p "$work"
corpus="$work/corpus-$n.jsonl"
if [[ ! -s "$corpus" ]]; then
    "$bin" gen "$corpus" "$n"
else
    echo "corpus: reusing $corpus"
fi

echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)${cpu:+; scale_bench on CPU $cpu}"
engines=(lore fts5)
if ((pg)); then engines=(lore fts5 pg); fi
hold_file="$work/pg-$n.url"
for engine in "${engines[@]}"; do
    rm -rf "${work:?}/$engine-$n"
    echo "== $engine ($n documents)"
    case "$engine" in
    pg) # scale_bench lore against a throwaway PostgreSQL's empty database
        rm -f "$hold_file"
        # shellcheck disable=SC2016 # expanded by the inner bash
        run=(bash tests/support/pg.sh bash -c '"$@" "$LORE_TEST_PG_URL" || exit
            if [[ '"$hold"' == 1 ]]; then
                echo "$LORE_TEST_PG_URL" >'"$hold_file"'
                echo "holding PostgreSQL ($LORE_TEST_PG_URL) until '"$hold_file"' is removed" >&2
                while [[ -e '"$hold_file"' ]]; do sleep 2; done
            fi' pg "${pin[@]}" "$bin" lore "$corpus") ;;
    *) run=("${pin[@]}" "$bin" "$engine" "$corpus" "$work/$engine-$n") ;;
    esac
    if ! "${run[@]}" | tee "$work/$engine-$n.log" | grep -v '^result '; then
        echo "scale.sh: $engine run failed (log: $work/$engine-$n.log)" >&2
        exit 2
    fi
done
echo "== load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

# Side-by-side table from the "result KEY VALUE" lines.
logs=()
for engine in "${engines[@]}"; do logs+=("$work/$engine-$n.log"); done
awk -v n="$n" -v engines="${engines[*]}" '
    BEGIN { ne = split(engines, eng, " ") }
    FNR == 1 { engine = eng[++file] }
    $1 == "result" { v[engine, $2] = $3 }
    function row(label, key, unit,    l, f, p, line) {
        l = v["lore", key]; f = v["fts5", key]; p = v["pg", key]
        if (l == "" || f == "") return
        line = sprintf("| %-44s | %10s |", label " (" unit ")", l)
        if (ne == 3) line = line sprintf(" %10s |", p)
        line = line sprintf(" %10s | %7s |", f, (l + 0 > 0) ? sprintf("%.2f", f / l) : "-")
        if (ne == 3) line = line sprintf(" %7s |", (l + 0 > 0 && p != "") ? sprintf("%.2f", p / l) : "-")
        print line
    }
    END {
        if (ne == 3) {
            printf "\n%s documents, one chunk each; lore = lore on SQLite, pg = lore on PostgreSQL\n\n", n
            printf "| %-44s | %10s | %10s | %10s | %7s | %7s |\n", "metric", "lore", "pg", "fts5",
                   "fts5/lore", "pg/lore"
            printf "|%s|%s|%s|%s|%s|%s|\n", "----------------------------------------------",
                   "------------", "------------", "------------", "---------", "---------"
        } else {
            printf "\n%s documents, one chunk each; ratio = fts5 / lore\n\n", n
            printf "| %-44s | %10s | %10s | %7s |\n", "metric", "lore", "fts5", "ratio"
            printf "|%s|%s|%s|%s|\n", "----------------------------------------------",
                   "------------", "------------", "---------"
        }
        row("ingest time", "ingest_s", "s")
        row("on-disk size", "disk_mb", "MB")
        row("peak RSS, ingest", "rss_ingest_mb", "MB")
        row("peak RSS, whole run", "rss_peak_mb", "MB")
        split("q1 q2 q5", sets, " ")
        for (i = 1; i <= 3; i++) {
            s = sets[i]; w = substr(s, 2)
            row(w "-word OR p50", s "_p50_ms", "ms")
            row(w "-word OR p99", s "_p99_ms", "ms")
            row(w "-word OR mean", s "_mean_ms", "ms")
        }
        for (i = 1; i <= 3; i++) {
            s = sets[i]; w = substr(s, 2)
            row(w "-word OR p50, CPU time", s "_cpu_p50_ms", "ms")
            row(w "-word OR p99, CPU time", s "_cpu_p99_ms", "ms")
        }
        for (i = 1; i <= ne; i++) {
            e = eng[i]
            if (e == "fts5") continue
            printf "\n%s full path (search_run, 2-word, literal, no snippets): p50 %s ms, p99 %s ms, mean %s ms\n",
                   e, v[e, "full2_p50_ms"], v[e, "full2_p99_ms"], v[e, "full2_mean_ms"]
            printf "  (CPU time: p50 %s ms, p99 %s ms)\n", v[e, "full2_cpu_p50_ms"], v[e, "full2_cpu_p99_ms"]
        }
        if (ne == 3 && v["lore", "full2_p99_ms"] > 0)
            printf "pg/lore, full path: p50 %.2f, p99 %.2f\n", v["pg", "full2_p50_ms"] / v["lore", "full2_p50_ms"],
                   v["pg", "full2_p99_ms"] / v["lore", "full2_p99_ms"]
    }
' "${logs[@]}"
