"""One timed kNN graph call, labelgraph or faiss, per process: for comparing SIMD levels on one machine.

Each SIMD level is chosen when the process starts (LABELGRAPH_SIMD for labelgraph; FAISS_SIMD_LEVEL
and OPENBLAS_CORETYPE for faiss-cpu, whose IndexFlatIP search is an OpenBLAS sgemm plus faiss's own
top-k), so the levels are compared in separate processes, alternated so that they see the same
load. Prints one JSON line: wall and CPU seconds of the call, the kernel, recall against float64
brute force on 64 sampled rows, the 1-minute load average. Used for benchmarks/knn_RESULTS.md:

    python benchmarks/knn_isa_compare.py labelgraph 100000 384 10
    LABELGRAPH_SIMD=avx2 python benchmarks/knn_isa_compare.py labelgraph 100000 384 10
    OPENBLAS_CORETYPE=SkylakeX python benchmarks/knn_isa_compare.py faiss 100000 384 10
    FAISS_SIMD_LEVEL=AVX2 OPENBLAS_CORETYPE=Haswell python benchmarks/knn_isa_compare.py faiss 100000 384 10
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

SEED = 20240611  # benchmarks/conftest.py's Gaussian data
SAMPLED_ROWS = 64


def main(which: str, n: int, d: int, k: int, threads: int = 2) -> dict[str, object]:
    X = np.random.default_rng(SEED).standard_normal((n, d), dtype=np.float32)
    rows = np.random.default_rng(1).choice(n, SAMPLED_ROWS, replace=False)
    Xd = X.astype(np.float64)
    Xd /= np.linalg.norm(Xd, axis=1, keepdims=True)
    S = Xd[rows] @ Xd.T
    S[np.arange(SAMPLED_ROWS), rows] = -np.inf
    kth = -np.sort(-S, axis=1)[:, k - 1]
    out: dict[str, object] = {"which": which, "n": n, "d": d, "k": k, "threads": threads}
    t0, c0 = time.perf_counter(), time.process_time()
    if which == "labelgraph":
        import labelgraph

        graph = labelgraph.knn_graph(X, k, n_threads=threads)
        neighbours = graph.indices[rows]
        out["kernel"] = graph.stats["kernel"]
        out["rows_refined"] = graph.stats["rows_refined"]
    elif which == "faiss":
        import faiss

        faiss.omp_set_num_threads(threads)
        Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
        index = faiss.IndexFlatIP(d)
        index.add(Xn)
        _, found = index.search(Xn, k + 1)
        neighbours = np.array([[j for j in r if j != i][:k] for i, r in zip(rows, found[rows])])
        out["kernel"] = f"{faiss.SIMDConfig.get_level_name()} openblas={os.environ.get('OPENBLAS_CORETYPE', 'auto')}"
    else:
        raise SystemExit("usage: knn_isa_compare.py labelgraph|faiss n d k [threads]")
    out["wall_s"] = time.perf_counter() - t0
    out["cpu_s"] = time.process_time() - c0
    sims = np.take_along_axis(S, np.asarray(neighbours, dtype=np.int64), axis=1)
    out["recall"] = float((sims >= kth[:, None] - 1e-6).mean())  # ties with the k-th count either way
    out["load"] = os.getloadavg()[0]
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    print(json.dumps(main(args[0], *(int(a) for a in args[1:]))))
