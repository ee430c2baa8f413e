"""Label-error detection on Fashion-MNIST with symmetric noise: labelgraph's audit vs cleanlab and Datalab.

Data: the 60k training rows, centred pixels, PCA-256, unit rows, exact kNN graph k=50. Noise:
a fraction of rows gets a different class drawn uniformly. cleanlab: ``find_label_issues`` (its
default filter) and ``get_label_quality_scores`` on out-of-sample kNN probabilities (weighted vote
``exp(s/T)`` of the 50 neighbours' noisy labels, self excluded, T=0.02, floored at 1e-6).
cleanlab's Datalab: ``find_issues(features=X, issue_types={"label": {}})`` on the same PCA-256
embeddings (it builds its own kNN graph and out-of-sample probabilities).
labelgraph: ``audit_labels`` defaults (flag rule: suggested label != given label, and within its
class's expected error count from the calibrated confident joint).

Run: cd benchmarks/workflows && PYTHONPATH=. nice -n 10 python label_audit.py [--noise 0.2 0.5 0.8] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from cleanlab import Datalab
from cleanlab.filter import find_label_issues
from cleanlab.rank import get_label_quality_scores
from fmnist_cache import N_TRAIN, embeddings, graph
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from labelgraph.defaults import DEFAULT_TEMPERATURE
from labelgraph.workflows import audit_labels, weighted_knn_probabilities

def knn_vote(g, labels: np.ndarray) -> np.ndarray:
    """Out-of-sample weighted-kNN probabilities (self excluded), floored at 1e-6 as cleanlab expects no zeros."""
    probs = np.maximum(weighted_knn_probabilities(g, labels, temperature=DEFAULT_TEMPERATURE, n_classes=10), 1e-6)
    return probs / probs.sum(axis=1, keepdims=True)


def report(name, truth, flagged, score, seconds):
    return (name, precision_score(truth, flagged), recall_score(truth, flagged), f1_score(truth, flagged),
            roc_auc_score(truth, score), seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--noise", type=float, nargs="+", default=[0.2, 0.5, 0.8])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--no-datalab", action="store_true", help="skip Datalab (about 40 s per run)")
    args = parser.parse_args()
    X_all, y_all = embeddings()
    y = y_all[:N_TRAIN]
    X = X_all[:N_TRAIN]
    g = graph("train", slice(0, N_TRAIN))
    rows = []
    for noise in args.noise:
        for seed in args.seeds:
            rng = np.random.default_rng(seed)
            flip = rng.choice(N_TRAIN, size=int(noise * N_TRAIN), replace=False)
            noisy = y.copy()
            noisy[flip] = (y[flip] + rng.integers(1, 10, size=flip.size)) % 10
            truth = noisy != y
            t = time.perf_counter()
            audit = audit_labels(g, noisy)
            ours_s = time.perf_counter() - t
            order = np.argsort(audit.table["index"])
            rows.append((noise, seed, report("labelgraph audit_labels", truth, audit.table["flagged"][order],
                                             audit.table["score"][order], ours_s)))
            t = time.perf_counter()
            probs = knn_vote(g, noisy)
            issues = find_label_issues(noisy, probs)
            quality = get_label_quality_scores(noisy, probs)
            rows.append((noise, seed, report("cleanlab find_label_issues (kNN probs)", truth, issues, 1 - quality,
                                             time.perf_counter() - t)))
            if not args.no_datalab:
                t = time.perf_counter()
                lab = Datalab(data={"label": noisy}, label_name="label", verbosity=0)
                lab.find_issues(features=X, issue_types={"label": {}})
                issues = lab.get_issues("label")
                rows.append((noise, seed, report("cleanlab Datalab (features)", truth, issues["is_label_issue"].to_numpy(),
                                                 1 - issues["label_score"].to_numpy(), time.perf_counter() - t)))
            for r in rows[-3 + args.no_datalab:]:
                print(f"noise={noise:.1f} seed={seed} {r[2][0]:40s} P={r[2][1]:.3f} R={r[2][2]:.3f} "
                      f"F1={r[2][3]:.3f} AUROC={r[2][4]:.3f} time={r[2][5]:.1f}s", flush=True)
    print("\n| noise | method | precision | recall | F1 | AUROC | time |")
    print("|---|---|---|---|---|---|---|")
    names = dict.fromkeys(r[2][0] for r in rows)
    for noise in args.noise:
        for name in names:
            vals = np.array([r[2][1:] for r in rows if r[0] == noise and r[2][0] == name])
            m, s = vals.mean(axis=0), vals.std(axis=0)
            print(f"| {int(100 * noise)}% | {name} | {m[0]:.3f} ± {s[0]:.3f} | {m[1]:.3f} ± {s[1]:.3f} | "
                  f"{m[2]:.3f} ± {s[2]:.3f} | {m[3]:.3f} ± {s[3]:.3f} | {m[4]:.1f} s |")


if __name__ == "__main__":
    main()
