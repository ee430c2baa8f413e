"""How tune's selection rule was chosen: criterion, standard-error multiple, fallback, alpha grid, offline.

For every run of a ``propagation_settings.py`` JSON (family, budget, seed) this recomputes tune's
held-out per-row scores of every candidate (k in K_GRID x alpha in 0.9 / 0.5 / 0.99, at the
temperature factor tune's one-step rule picks at the reference k), with tune's own parts
(``_folds``, ``_alpha_form_at``, ``_held_out_probabilities``, ``label_log_likelihood``), then applies
each variant of the rule and looks the chosen point up in the JSON's grid (its accuracy on the
unlabeled rows' truth). Printed: tune - oracle (the best single grid point over the seed group)
per family, budget and seed group, and the worst over all of them.

    python tune_rules.py --results fd.json sub.json --subsample 20000
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import labelgraph  # noqa: E402
from labelgraph.temperature import auto_temperature  # noqa: E402
from labelgraph.tuning import (  # noqa: E402
    K_GRID,
    N_FOLDS,
    TEMPERATURE_FACTORS,
    _alpha_form_at,
    _folds,
    _held_out_probabilities,
    _row_sample,
    _temperature_scores,
    choose_setting,
    label_log_likelihood,
    reference_k,
)
from propagation_settings import cut, draw_labels, subsampled  # noqa: E402

ALPHAS = (0.9, 0.5, 0.99)


def candidates(graph: labelgraph.KnnGraph, labels: np.ndarray, c: int) -> dict:
    """Per-row held-out accuracy and log-likelihood of every (k, alpha), the reference (k_ref, 0.9) first."""
    k_ref = reference_k(graph, K_GRID)
    ks = [k_ref] + [k for k in K_GRID if k != k_ref]
    autos = {k: auto_temperature(cut(_row_sample(graph), k)) for k in ks}
    scores = _temperature_scores(cut(graph, k_ref), labels, [(autos[k_ref] * f, f) for f in TEMPERATURE_FACTORS], c)
    factor = scores[choose_setting([s.pop("per_row") for s in scores])]["temperature_factor"]
    labeled = np.flatnonzero(labels >= 0)
    y = labels[labeled]
    fold = _folds(y, N_FOLDS, 0)
    columns, column_of = np.unique(fold * c + y, return_inverse=True)
    seeds = np.full(graph.n, -1, dtype=np.int64)
    seeds[labeled] = column_of
    out = {"points": [], "accuracy": [], "log_likelihood": [], "leave_one_out": int(fold.max()) + 1 == y.size}
    for k in ks:
        propagator = labelgraph.LabelPropagator(cut(graph, k), autos[k] * factor)
        for alpha, soft in zip(ALPHAS, _alpha_form_at(propagator, seeds, labeled, columns.size, list(ALPHAS))):
            probabilities, reached = _held_out_probabilities(soft, fold, columns, c)
            out["points"].append((k, factor, alpha))
            out["accuracy"].append(((np.argmax(probabilities, axis=1) == y) & reached).astype(np.float64))
            out["log_likelihood"].append(label_log_likelihood(probabilities, y))
    return out


def pick(per_row: list[np.ndarray], z: float) -> int:
    means = [v.mean() for v in per_row]
    best = int(np.argmax(means))
    if best == 0 or per_row[0].size < 2:
        return 0
    d = per_row[best] - per_row[0]
    return best if d.mean() > z * d.std(ddof=1) / np.sqrt(d.size) else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", nargs="+", required=True, help="propagation_settings.py JSON files (the grid)")
    parser.add_argument("--subsample", type=int, default=0, help="as given to propagation_settings.py for them")
    args = parser.parse_args()
    runs = []
    for path in args.results:
        for fam in json.loads(Path(path).read_text()):
            family, graph = subsampled(fam["family"], args.subsample if fam["n"] < 60000 else 0)
            for r in fam["runs"]:
                labels = draw_labels(family.y, r["budget"], r["seed"])
                grid = {(g["k"], g["factor"], g["alpha"]): g["accuracy"] for g in r["grid"]}
                runs.append((fam["family"], r["budget"], r["seed"], grid, candidates(graph, labels, family.n_classes)))
    print("| criterion | keep the reference when leave-one-out | z (standard errors) | alpha grid | worst tune - oracle | per family, budget, seeds |")
    print("|---|---|---|---|---|---|")
    for criterion in ("accuracy", "log_likelihood"):
        for fallback in (False, True):
            for z in (1.0, 1.5, 2.0):
                for alphas in (ALPHAS, (0.9, 0.5), (0.9,)):
                    chosen = {}
                    for name, budget, seed, grid, cand in runs:
                        idx = [i for i, p in enumerate(cand["points"]) if p[2] in alphas]
                        i = 0 if fallback and cand["leave_one_out"] else pick([cand[criterion][j] for j in idx], z)
                        chosen[(name, budget, seed)] = grid[cand["points"][idx[i]]]
                    cells = []
                    for name, budget, group in sorted({(n, b, s // 3) for n, b, s in chosen}):
                        keys = [(name, budget, s) for s in range(3 * group, 3 * group + 3) if (name, budget, s) in chosen]
                        grid0 = next(g for n, b, s, g, _ in runs if (n, b, s) == keys[0])
                        oracle = max(np.mean([next(g for n, b, s, g, _ in runs if (n, b, s) == key)[p] for key in keys])
                                     for p in grid0)
                        cells.append((name, budget, 3 * group, 100 * (np.mean([chosen[k] for k in keys]) - oracle)))
                    worst = min(c[3] for c in cells)
                    print(f"| {criterion} | {'yes' if fallback else 'no'} | {z:g} | {'/'.join(map(str, alphas))} | "
                          f"{worst:+.1f} | " + " ".join(f"{n} {100 * b:g}% s{s}: {d:+.1f}" for n, b, s, d in cells) + " |",
                          flush=True)


if __name__ == "__main__":
    main()
