"""Multi-label session queries: micro F1 of the rows not labeled against label sets bought, per strategy.

    OMP_NUM_THREADS=1 python benchmarks/multilabel/query_curves.py --data debtags --seeds 0 1 2
"""

from __future__ import annotations

import argparse

import numpy as np
from data import DATA
from labelgraph.multilabel.query import QUERY_STRATEGIES
from labelgraph.reporting.multilabel import query_curves


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", choices=tuple(DATA), default="debtags")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--batch", type=float, default=0.01, help="labels a round, as a share of the rows")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    data = DATA[args.data]()
    n = data.X.shape[0]
    batch = max(1, round(args.batch * n))
    curves = {s: [] for s in QUERY_STRATEGIES}
    for seed in args.seeds:
        result = query_curves(data.graph, data.Y, n_select=batch, max_labels=batch * (args.rounds + 1),
                              random_state=seed)
        for s in QUERY_STRATEGIES:
            curves[s].append(result.micro_f1[s])
        labels = result.labels
        print(f"seed {seed}: " + ", ".join(f"{s} {np.round(result.micro_f1[s], 4).tolist()} "
                                           f"({result.seconds[s]:.0f} s)" for s in QUERY_STRATEGIES), flush=True)
    print(f"# {data.name}: n={n}, c={data.Y.shape[1]}, batch={batch}, seeds {args.seeds}")
    print("| strategy | " + " | ".join(str(c) for c in labels) + " |")
    print("|---|" + "---|" * len(labels))
    for s, values in curves.items():
        print(f"| {s} | " + " | ".join(f"{m:.4f}" for m in np.mean(values, axis=0)) + " |")


if __name__ == "__main__":
    main()
