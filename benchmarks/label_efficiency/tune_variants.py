"""Does a cheaper held-out scheme change what ``labelgraph.tune`` picks? Picks and accuracy per variant, offline.

For every run (family, budget, seed) of ``propagation_settings.py`` JSON files, the same labels
are tuned with each variant of the held-out scheme (``n_folds`` x ``scored_folds``); the chosen
(k, T factor, alpha) is looked up in the JSON's grid (its LP accuracy on the unlabeled rows'
truth). Printed: per variant, how many picks differ from the first variant's (3 folds, all
scored: tune of session 24), the mean and worst accuracy change against it, and the search's
time as a ratio to the first variant's (same process, interleaved, min of ``--repeats``).

    python tune_variants.py --results digits_ll.json sub_ll.json --subsample 20000 --n-threads 1
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import labelgraph

from propagation_settings import draw_labels, subsampled

VARIANTS = {"3 folds, all scored": (3, None), "3 folds, 1 scored": (3, 1), "2 folds, all scored": (2, None),
            "4 folds, 1 scored": (4, 1), "2 folds, 1 scored": (2, 1)}


def lookup(grid: list[dict], best: labelgraph.tuning.TuneResult) -> float:
    """The grid accuracy of the chosen (k, factor of the auto T, alpha)."""
    factor = next(s["temperature_factor"] for s in best.scores if s["k"] == best.k and s["alpha"] == best.alpha)
    for point in grid:
        if (point["k"], point["factor"], point["alpha"]) == (best.k, factor, best.alpha):
            return point["accuracy"]
    raise KeyError((best.k, factor, best.alpha))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", nargs="+", required=True)
    parser.add_argument("--subsample", type=int, default=20000, help="rows of the subsampled families in the JSONs")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--n-threads", type=int, default=1)
    parser.add_argument("--budgets", type=float, nargs="+", help="only these budgets of the JSONs")
    parser.add_argument("--seeds", type=int, nargs="+", help="only these seeds of the JSONs")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    summary = {v: {"differ": 0, "delta": [], "ratio": [], "runs": 0} for v in args.variants}
    for path in args.results:
        with open(path) as f:
            families = json.load(f)
        for fam in families:
            family, graph = subsampled(fam["family"], args.subsample if fam["n"] < 60000 else 0)
            for run in fam["runs"]:
                if (args.budgets and run["budget"] not in args.budgets) or (args.seeds and run["seed"] not in args.seeds):
                    continue
                labels = draw_labels(family.y, run["budget"], run["seed"])
                picks, times = {}, {v: [] for v in args.variants}
                for _ in range(args.repeats):
                    for name in args.variants:
                        n_folds, scored = VARIANTS[name]
                        start = time.perf_counter()
                        best = labelgraph.tune(graph, labels, n_classes=family.n_classes, n_folds=n_folds,
                                               scored_folds=scored, n_threads=args.n_threads)
                        times[name].append(time.perf_counter() - start)
                        picks[name] = (best.k, best.temperature, lookup(run["grid"], best))
                base = args.variants[0]
                cells = []
                for name in args.variants:
                    k, t, acc = picks[name]
                    s = summary[name]
                    s["runs"] += 1
                    s["differ"] += (k, t) != picks[base][:2]
                    s["delta"].append(100 * (acc - picks[base][2]))
                    s["ratio"].append(min(times[name]) / min(times[base]))
                    cells.append(f"{name}: k={k} T={t:.4g} {100 * acc:.1f} ({min(times[name]):.2f} s)")
                print(f"{fam['family']} n={fam['n']} {run['budget']:g} seed {run['seed']}: " + "; ".join(cells), flush=True)
    print("\n| variant | runs | picks differing from the first | mean accuracy change | worst | time / first (median) |")
    print("|---|---|---|---|---|---|")
    for name, s in summary.items():
        print(f"| {name} | {s['runs']} | {s['differ']} | {np.mean(s['delta']):+.2f} | {min(s['delta']):+.1f} | "
              f"{np.median(s['ratio']):.2f} |")


if __name__ == "__main__":
    main()
