#!/usr/bin/env bash
# Scale benchmark: lore's lexical index against SQLite FTS5 on the same
# synthetic corpus (default 1,000,000 one-chunk documents). Generates the
# corpus once (cached per size), runs each engine in its own process (so peak
# RSS is per engine), then prints both engines' figures side by side with
# the ratio fts5/lore (above 1: lore is smaller/faster).
#
#   bench/scale.sh [N_DOCS]      N_DOCS also from $LORE_SCALE_DOCS
#
# Environment: LORE_BUILD_DIR (default build/release) holds scale_bench;
# LORE_SCALE_DIR (default /tmp/lore-scale) holds the corpus, the two data
# directories and the logs. Run from the repository root. See
# bench/README.md.
set -euo pipefail

n="${1:-${LORE_SCALE_DOCS:-1000000}}"
if ! [[ "$n" =~ ^[1-9][0-9]*$ ]]; then
    echo "scale.sh: N_DOCS '$n' is not a positive number" >&2
    exit 1
fi
build="${LORE_BUILD_DIR:-build/release}"
bin="$build/scale_bench"
work="${LORE_SCALE_DIR:-/tmp/lore-scale}"
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

for engine in lore fts5; do
    rm -rf "$work/$engine-$n"
    echo "== $engine ($n documents)"
    if ! "$bin" "$engine" "$corpus" "$work/$engine-$n" | tee "$work/$engine-$n.log" | grep -v '^result '; then
        echo "scale.sh: $engine run failed (log: $work/$engine-$n.log)" >&2
        exit 2
    fi
done

# Side-by-side table from the "result KEY VALUE" lines.
awk -v n="$n" '
    FNR == 1 { engine = (++file == 1) ? "lore" : "fts5" }
    $1 == "result" { v[engine, $2] = $3 }
    function row(label, key, unit,    l, f) {
        l = v["lore", key]; f = v["fts5", key]
        if (l == "" || f == "") return
        printf "| %-44s | %10s | %10s | %7s |\n", label " (" unit ")", l, f,
               (l + 0 > 0) ? sprintf("%.2f", f / l) : "-"
    }
    END {
        printf "\n%s documents, one chunk each; ratio = fts5 / lore\n\n", n
        printf "| %-44s | %10s | %10s | %7s |\n", "metric", "lore", "fts5", "ratio"
        printf "|%s|%s|%s|%s|\n", "----------------------------------------------",
               "------------", "------------", "---------"
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
        printf "\nlore full path (search_run, 2-word, literal, no snippets): p50 %s ms, p99 %s ms, mean %s ms\n",
               v["lore", "full2_p50_ms"], v["lore", "full2_p99_ms"], v["lore", "full2_mean_ms"]
        printf "  (CPU time: p50 %s ms, p99 %s ms)\n", v["lore", "full2_cpu_p50_ms"],
               v["lore", "full2_cpu_p99_ms"]
    }
' "$work/lore-$n.log" "$work/fts5-$n.log"
