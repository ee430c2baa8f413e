"""Label audit and label smoothing on the three families: labelgraph's defaults against cleanlab, under injected noise.

For each family, noise level and seed, a share of the labels is replaced (symmetric: a different
class drawn uniformly; asymmetric: class c becomes c + 1 mod C) and every method sees only the
noisy labels. Detection: F1 of the flagged set and AUROC of the ranking score (1 - quality)
against the injected errors.

* labelgraph ``audit_labels`` with its defaults (temperature "cv": chosen from the noisy labels,
  :func:`labelgraph.workflows.audit.cv_temperature`), and with the previous default T=0.02.
* cleanlab 2.9 ``find_label_issues`` (its default filter) + ``get_label_quality_scores`` on
  (a1) the out-of-sample weighted-kNN vote of the same k=50 graph at T=0.02 (the issue's
  comparison), (a2) the very probabilities our audit used, and (b) on a subsample of at most
  ``--lr-rows`` rows, 5-fold cross-validated logistic-regression probabilities on the embeddings
  (cleanlab's recommended practice), beside our audit on that subsample's own k=50 graph.
* Smoothing: ``smooth_labels`` defaults (the alpha form, temperature "cv"), ``method="posterior"``
  (session 28, offered) and the defaults at T=0.02 (before issue 18): wrong-label share before and
  after, and the share of rows whose correct label it broke.

Run (from this folder):
  python label_audit.py --families debian --seeds 0 1 2 --subsample 20000 --lr-rows 3000   # where the rule was chosen
  python label_audit.py --families debian fmnist digits --seeds 3 4 5 --subsample 20000 --lr-rows 3000  # confirmation
"""

from __future__ import annotations

import argparse
import time
import warnings

import labelgraph
import numpy as np
from families import FAMILIES, Family, family_graph, load_family
from labelgraph.workflows import (
    audit_labels,
    smooth_labels,
    weighted_knn_classify,
    weighted_knn_probabilities,
)
from labelgraph.workflows.confident_joint import label_issue_mask
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

GRAPH_K = 50
ISSUE_TEMPERATURE = 0.02  # the previous default, and the T of the issue's cleanlab comparison


def noisy_labels(y: np.ndarray, n_classes: int, noise: float, kind: str, seed: int) -> np.ndarray:
    """``noise`` of the rows get another class: uniform (symmetric) or the next one (asymmetric)."""
    rng = np.random.default_rng(seed)
    flip = rng.choice(y.size, size=int(round(noise * y.size)), replace=False)
    noisy = y.copy()
    shift = rng.integers(1, n_classes, size=flip.size) if kind == "symmetric" else 1
    noisy[flip] = (y[flip] + shift) % n_classes
    return noisy


def scores(truth: np.ndarray, flagged: np.ndarray, severity: np.ndarray) -> tuple[float, ...]:
    """precision, recall, F1 of the flags; AUROC of the severity (higher = likelier wrong)."""
    return (precision_score(truth, flagged, zero_division=0.0), recall_score(truth, flagged),
            f1_score(truth, flagged), roc_auc_score(truth, severity))


def cleanlab_scores(truth: np.ndarray, noisy: np.ndarray, probabilities: np.ndarray) -> tuple[float, ...]:
    """cleanlab's default find_label_issues and self-confidence quality on ``probabilities`` (floored at 1e-6)."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    p = np.maximum(probabilities, 1e-6)
    p /= p.sum(axis=1, keepdims=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        issues = find_label_issues(noisy, p, n_jobs=1)
        quality = get_label_quality_scores(noisy, p)
    return scores(truth, issues, 1.0 - quality)


def audit_scores(graph: labelgraph.KnnGraph, truth: np.ndarray, noisy: np.ndarray,
                 **kwargs: object) -> tuple[tuple[float, ...], np.ndarray, float]:
    """Our audit's scores (rows in index order), its probabilities and its temperature."""
    audit = audit_labels(graph, noisy, **kwargs)
    order = np.argsort(audit.table["index"])
    return (scores(truth, audit.table["flagged"][order], audit.table["score"][order]), audit.probabilities,
            audit.temperature)


def lr_probabilities(X: np.ndarray, noisy: np.ndarray, seed: int) -> np.ndarray:
    """5-fold cross-validated logistic-regression probabilities (every class kept in each fold's columns)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    c = int(noisy.max()) + 1
    out = np.zeros((X.shape[0], c))
    counts = np.bincount(noisy, minlength=c)
    folds = min(5, int(counts[counts > 0].min())) if counts[counts > 0].min() >= 2 else 2
    splitter = StratifiedKFold(n_splits=max(folds, 2), shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for train, test in splitter.split(X, noisy):
            model = LogisticRegression(max_iter=200, C=10.0).fit(X[train], noisy[train])
            out[np.ix_(test, model.classes_)] = model.predict_proba(X[test])
    return out


def run_case(family, graph, noise: float, kind: str, seed: int, lr_rows: int) -> dict[str, tuple[float, ...]]:
    y, c = family.y, family.n_classes
    noisy = noisy_labels(y, c, noise, kind, seed)
    truth = noisy != y
    rows: dict[str, tuple[float, ...]] = {}
    t0 = time.perf_counter()
    ours, probabilities, temperature = audit_scores(graph, truth, noisy)
    rows["labelgraph audit_labels (defaults: T=cv)"] = (*ours, temperature, time.perf_counter() - t0)
    for rule in ("prune_by_noise_rate", "both"):  # other flag rules on the same probabilities and scores
        flagged = label_issue_mask(probabilities, noisy, rule)
        rows[f"labelgraph, T=cv, filter_by={rule}"] = (*scores(truth, flagged, 1.0 - probabilities[np.arange(y.size), noisy])[:3],
                                                       ours[3], temperature, 0.0)
    t0 = time.perf_counter()
    old, _, _ = audit_scores(graph, truth, noisy, temperature=ISSUE_TEMPERATURE)
    rows["labelgraph audit_labels (T=0.02, previous default)"] = (*old, ISSUE_TEMPERATURE, time.perf_counter() - t0)
    t0 = time.perf_counter()
    vote = weighted_knn_probabilities(graph, noisy, temperature=ISSUE_TEMPERATURE, n_classes=c)
    rows["cleanlab on kNN vote T=0.02 (a1)"] = (*cleanlab_scores(truth, noisy, vote), ISSUE_TEMPERATURE,
                                                time.perf_counter() - t0)
    t0 = time.perf_counter()
    rows["cleanlab on our audit's probabilities (a2)"] = (*cleanlab_scores(truth, noisy, probabilities), temperature,
                                                          time.perf_counter() - t0)
    if lr_rows > 0:
        sub = np.sort(np.random.default_rng(1000 + seed).choice(y.size, size=min(lr_rows, y.size), replace=False))
        sub_graph = graph if sub.size == y.size else labelgraph.knn_graph(family.X[sub], GRAPH_K)
        _, sub_noisy = np.unique(noisy[sub], return_inverse=True)
        t0 = time.perf_counter()
        ours_sub, _, t_sub = audit_scores(sub_graph, truth[sub], sub_noisy)
        rows[f"labelgraph audit_labels, {sub.size} rows (b)"] = (*ours_sub, t_sub, time.perf_counter() - t0)
        t0 = time.perf_counter()
        lr = lr_probabilities(family.X[sub], sub_noisy, seed)
        rows[f"cleanlab on 5-fold LR probs, {sub.size} rows (b)"] = (*cleanlab_scores(truth[sub], sub_noisy, lr),
                                                                     float("nan"), time.perf_counter() - t0)
    for name, kwargs in (("smooth_labels (defaults: alpha form, T=cv)", {}),
                         ("smooth_labels (posterior, T=cv: offered, not the default)", {"method": "posterior"}),
                         ("smooth_labels (T=0.02, the default before issue 18)", {"temperature": ISSUE_TEMPERATURE})):
        t0 = time.perf_counter()
        smoothed = smooth_labels(graph, noisy, **kwargs)
        wrong_after = float(np.mean(smoothed.labels != y))
        broken = float(np.mean((smoothed.labels != y) & ~truth))
        rows[name] = (float(np.mean(truth)), wrong_after, broken, 1.0 - wrong_after / float(np.mean(truth)),
                      smoothed.temperature, time.perf_counter() - t0)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--noise", type=float, nargs="+", default=[0.2, 0.5])
    parser.add_argument("--kind", nargs="+", default=["symmetric"], choices=["symmetric", "asymmetric"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--subsample", type=int, default=0,
                        help="use this many rows of each family (a fixed random draw) and their own k=50 graph (0: all)")
    parser.add_argument("--lr-rows", type=int, default=10000,
                        help="rows of the logistic-regression baseline's subsample (0: skip it)")
    args = parser.parse_args()
    for name in args.families:
        family = load_family(name)
        if 0 < args.subsample < family.y.size:
            keep = np.sort(np.random.default_rng(12345).choice(family.y.size, size=args.subsample, replace=False))
            family = Family(family.name, np.ascontiguousarray(family.X[keep]), family.y[keep], family.class_names)
            graph = labelgraph.knn_graph(family.X, GRAPH_K)
        else:
            graph = family_graph(family, GRAPH_K)
        graph10 = labelgraph.KnnGraph(np.ascontiguousarray(graph.indices[:, :10]),
                                      np.ascontiguousarray(graph.similarities[:, :10]))
        knn_acc = float(np.mean(weighted_knn_classify(graph10, family.y, temperature="auto") == family.y))
        print(f"\n### {name}: {family.y.size} rows, {family.n_classes} classes, weighted 10-NN accuracy with the "
              f"clean labels (T auto, own label left out) {100 * knn_acc:.1f}%", flush=True)
        for kind in args.kind:
            for noise in args.noise:
                results = [run_case(family, graph, noise, kind, seed, args.lr_rows) for seed in args.seeds]
                print(f"\n{name}, {int(round(100 * noise))}% {kind} noise, seeds {args.seeds}\n")
                print("| method | precision | recall | F1 | AUROC | T | time |")
                print("|---|---|---|---|---|---|---|")
                for method in results[0]:
                    if method.startswith("smooth"):
                        continue
                    v = np.array([r[method] for r in results])
                    m, s = v.mean(axis=0), v.std(axis=0)
                    print(f"| {method} | " + " | ".join(f"{m[i]:.3f} ± {s[i]:.3f}" for i in range(4))
                          + f" | {m[4]:.3g} | {m[5]:.1f} s |")
                print("\n| smoothing | wrong before | wrong after | correct labels broken | share of wrong removed "
                      "| T | time |")
                print("|---|---|---|---|---|---|---|")
                for method in [m for m in results[0] if m.startswith("smooth")]:
                    v = np.array([r[method] for r in results])
                    m, s = v.mean(axis=0), v.std(axis=0)
                    print(f"| {method} | {100 * m[0]:.1f}% | {100 * m[1]:.1f} ± {100 * s[1]:.1f}% | "
                          f"{100 * m[2]:.1f} ± {100 * s[2]:.1f}% | {100 * m[3]:.0f}% | {m[4]:.3g} | {m[5]:.1f} s |",
                          flush=True)


if __name__ == "__main__":
    main()
