"""Audit of injected missing / spurious labels: labelgraph's per-entry audit vs cleanlab's multi-label filter
on the same out-of-sample kNN probabilities (item level: F1 of the flagged rows, AUROC of the ranking).

    OMP_NUM_THREADS=1 python benchmarks/multilabel/audit_f1.py --data debtags --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from cleanlab.multilabel_classification import filter as cl_filter
from cleanlab.multilabel_classification import rank as cl_rank
from data import DATA
from labelgraph.multilabel.audit import audit_multilabel
from labelgraph.reporting.multilabel import inject_set_noise
from sklearn.metrics import f1_score, roc_auc_score


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", choices=tuple(DATA), default="debtags")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--noise", type=float, nargs="+", default=[0.1, 0.3])
    args = parser.parse_args()
    data = DATA[args.data]()
    print(f"# {data.name}: n={data.X.shape[0]}, c={data.Y.shape[1]}")
    print("| noise | method | F1 | AUROC | flagged | seconds |")
    print("|---|---|---|---|---|---|")
    for level in args.noise:
        rows: dict[str, list[tuple[float, float, float, float]]] = {}
        for seed in args.seeds:
            noisy, corrupted = inject_set_noise(data.Y, level, seed)
            lists = [np.flatnonzero(r).tolist() for r in noisy]
            for rule in ("prune_by_noise_rate", "threshold"):
                start = time.perf_counter()
                audit = audit_multilabel(data.graph, noisy, filter_by=rule)
                rows.setdefault(f"labelgraph ({rule})", []).append(
                    (f1_score(corrupted, audit.flagged), roc_auc_score(corrupted, audit.item_scores),
                     audit.flagged.mean(), time.perf_counter() - start))
            start = time.perf_counter()
            mask = cl_filter.find_label_issues(lists, audit.held_out, n_jobs=1)
            quality = cl_rank.get_label_quality_scores(lists, audit.held_out)
            rows.setdefault("cleanlab (same probabilities)", []).append(
                (f1_score(corrupted, mask), roc_auc_score(corrupted, -quality), mask.mean(),
                 time.perf_counter() - start))
        for method, values in rows.items():
            v = np.asarray(values)
            print(f"| {level:.0%} | {method} | {v[:, 0].mean():.4f} ± {v[:, 0].std():.4f} | "
                  f"{v[:, 1].mean():.4f} ± {v[:, 1].std():.4f} | {v[:, 2].mean():.3f} | {v[:, 3].mean():.1f} |",
                  flush=True)


if __name__ == "__main__":
    main()
