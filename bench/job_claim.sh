#!/usr/bin/env bash
# Jobs claimed per second on SQLite and on PostgreSQL in the same run:
# bench/job_claim (build/release) with 1, 2 and 4 workers spread across two
# processes (1 = one process of one thread, 2 = two processes of one, 4 = two
# processes of two), claims of 1 job and of 64 (lore's claim_max_jobs), the
# two stores interleaved round by round; a throwaway PostgreSQL from
# tests/support/pg.sh. Prints each run, then the medians and the PG/SQLite
# ratio. See bench/README.md ("job_claim.sh").
#
#   bench/job_claim.sh [ROUNDS]        default 3
#
# Environment: LORE_BUILD_DIR (default build/release), LORE_CLAIM_JOBS
# (jobs per run, default 20000), LORE_CLAIM_BEFORE (another job_claim
# binary, say one built from an earlier commit: it runs on PostgreSQL too,
# interleaved with the others, as the column "PG before"). Run from the
# repository root.
set -euo pipefail

rounds="${1:-3}"
build="${LORE_BUILD_DIR:-build/release}"
jobs="${LORE_CLAIM_JOBS:-20000}"
before="${LORE_CLAIM_BEFORE:-}"
unset LORE_BUILD_DIR LORE_CLAIM_JOBS LORE_CLAIM_BEFORE
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "job_claim.sh: ROUNDS must be a positive number" >&2; exit 1; }
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || { echo "job_claim.sh: LORE_CLAIM_JOBS must be a positive number" >&2; exit 1; }
bin="$build/job_claim"
if [[ ! -x "$bin" ]]; then
    echo "job_claim.sh: $bin not found; build it first:" >&2
    echo "  cmake -S . -B $build -DCMAKE_BUILD_TYPE=Release && cmake --build $build --target job_claim" >&2
    exit 1
fi
if [[ -n "$before" && ! -x "$before" ]]; then
    echo "job_claim.sh: LORE_CLAIM_BEFORE=$before is not an executable" >&2
    exit 1
fi
backends=(sqlite pg)
[[ -n "$before" ]] && backends+=(before)

# The part that runs with LORE_TEST_PG_URL set (inside tests/support/pg.sh).
if [[ "${JOB_CLAIM_INNER:-}" != 1 ]]; then
    echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    JOB_CLAIM_INNER=1 exec env LORE_BUILD_DIR="$build" LORE_CLAIM_JOBS="$jobs" LORE_CLAIM_BEFORE="$before" \
        bash tests/support/pg.sh bash "$0" "$rounds"
fi
unset JOB_CLAIM_INNER
tmp="$(mktemp -d /tmp/lore-job-claim.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
results="$tmp/results.txt"
: >"$results"

shapes=("1 1" "2 1" "2 2") # processes threads: 1, 2 and 4 workers
for ((r = 1; r <= rounds; r++)); do
    for batch in 1 64; do
        for shape in "${shapes[@]}"; do
            read -r procs threads <<<"$shape"
            for backend in "${backends[@]}"; do
                run="$bin"
                if [[ "$backend" == sqlite ]]; then
                    loc="$tmp/sqlite-$r-$batch-$procs-$threads"
                else
                    loc="$LORE_TEST_PG_URL"
                fi
                [[ "$backend" == before ]] && run="$before"
                out="$("$run" "$loc" --jobs "$jobs" --batch "$batch" --procs "$procs" --threads "$threads")" || {
                    echo "job_claim.sh: $backend run failed: $out" >&2
                    exit 2
                }
                rate="$(awk '$1 == "result" && $2 == "jobs_per_s" { print $3 }' <<<"$out")"
                printf '   round %d  %-6s  %d workers (%d x %d)  claims of %2d: %6s jobs/s\n' \
                    "$r" "$backend" $((procs * threads)) "$procs" "$threads" "$batch" "$rate"
                echo "$backend $batch $((procs * threads)) $rate" >>"$results"
                [[ "$backend" == sqlite ]] && rm -rf "$loc"
            done
        done
    done
done

median() { # median BACKEND BATCH WORKERS
    awk -v b="$1" -v c="$2" -v w="$3" '$1 == b && $2 == c && $3 == w { print $4 }' "$results" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
echo
echo "== medians of $rounds rounds, $jobs jobs per run (4 tenants, one FIFO group per job)"
echo
if [[ -n "$before" ]]; then
    echo "| claim batch | workers (processes x threads) | SQLite jobs/s | PostgreSQL jobs/s | PG/SQLite | PG before jobs/s | PG/before |"
    echo "|---|---|---|---|---|---|---|"
else
    echo "| claim batch | workers (processes x threads) | SQLite jobs/s | PostgreSQL jobs/s | PG/SQLite |"
    echo "|---|---|---|---|---|"
fi
for batch in 1 64; do
    for shape in "${shapes[@]}"; do
        read -r procs threads <<<"$shape"
        w=$((procs * threads))
        s="$(median sqlite "$batch" "$w")"
        p="$(median pg "$batch" "$w")"
        line="$(printf '| %d | %d (%d x %d) | %s | %s | %s |' "$batch" "$w" "$procs" "$threads" "$s" "$p" \
            "$(awk -v s="$s" -v p="$p" 'BEGIN { printf "%.2f", p / s }')")"
        if [[ -n "$before" ]]; then
            b="$(median before "$batch" "$w")"
            line+="$(printf ' %s | %s |' "$b" "$(awk -v b="$b" -v p="$p" 'BEGIN { printf "%.2f", p / b }')")"
        fi
        echo "$line"
    done
done
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
