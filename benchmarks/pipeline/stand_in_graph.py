"""A 10-NN graph of the mixture in minutes instead of an hour: exact neighbours within each mixture mode.

    PYTHONPATH=python python benchmarks/pipeline/stand_in_graph.py --n 1000000

For the memory probe only, while the exact graph of all rows is not yet built: same shape, dtypes
and similarity range as ``knn_graph(X, 10)`` (each row's 10 nearest rows of its own mode, real
cosines), so every call holds the same arrays; the neighbours differ (no edge crosses modes), so
times and accuracies on it mean nothing. Written to ``$LABELGRAPH_PIPELINE_CACHE/standin_*.npz``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import labelgraph
from pipeline_data import CACHE, cached_embeddings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=128)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--n-threads", type=int, default=2)
    args = parser.parse_args()
    data = cached_embeddings(args.n, args.d, 0)
    indices = np.empty((args.n, args.k), dtype=np.int32)
    sims = np.empty((args.n, args.k), dtype=np.float32)
    for mode in np.unique(data.mode):
        rows = np.flatnonzero(data.mode == mode)
        g = labelgraph.knn_graph(np.ascontiguousarray(data.X[rows]), args.k, n_threads=args.n_threads)
        indices[rows] = rows[g.indices]
        sims[rows] = g.similarities
    path = CACHE / f"standin_n{args.n}_d{args.d}_s0_k{args.k}.npz"
    np.savez(path, indices=indices, similarities=sims)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
