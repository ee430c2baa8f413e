"""Wall time of ``labelgraph.tune`` on a family's full k=50 graph, as a ratio to baselines in the same run.

Baselines, timed right beside each tune call (same labels, same threads):

* one propagation: preparing a :class:`LabelPropagator` at the chosen (k, T) and running the
  chosen settings once (what a session does anyway after tuning);
* optionally the previous ``tune`` (a copy of an older ``tuning.py``, e.g. from git), with its own
  default grid.

    git show d987caf:python/labelgraph/tuning.py > /tmp/previous_tuning.py
    python tune_speed.py --family debian --budgets 0.003 0.01 --n-threads 2 --previous /tmp/previous_tuning.py
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import labelgraph  # noqa: E402
from families import FAMILIES, family_graph, load_family  # noqa: E402
from propagation_settings import cut, draw_labels  # noqa: E402


def load_previous(path: str):
    spec = importlib.util.spec_from_file_location("previous_tuning", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.tune


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", default="debian", choices=FAMILIES)
    parser.add_argument("--budgets", nargs="+", type=float, default=[0.001, 0.003, 0.01])
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--n-threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2, help="best of this many calls")
    parser.add_argument("--previous", help="path of an older tuning.py to time beside the current one")
    args = parser.parse_args()
    family = load_family(args.family)
    graph = family_graph(family)
    previous = load_previous(args.previous) if args.previous else None
    print(f"{args.family}: n = {graph.n}, c = {family.n_classes}, graph k = {graph.k}, {args.n_threads} threads")
    print("| budget | labels | tune s | one propagation s | tune / propagation | previous tune s | previous / tune | chosen (k, T, alpha) |")
    print("|---|---|---|---|---|---|---|---|")
    for budget in args.budgets:
        labels = draw_labels(family.y, budget, args.seed)
        times, base, old = [], [], []
        for _ in range(args.repeats):
            start = time.perf_counter()
            best = labelgraph.tune(graph, labels, n_classes=family.n_classes, n_threads=args.n_threads)
            times.append(time.perf_counter() - start)
            start = time.perf_counter()
            propagator = labelgraph.LabelPropagator(cut(graph, best.k), best.temperature, n_threads=args.n_threads)
            propagator.propagate(labels, best.max_iter, alpha=best.alpha, tol=best.tol, n_classes=family.n_classes)
            base.append(time.perf_counter() - start)
            if previous is not None:
                start = time.perf_counter()
                previous(graph, labels, n_classes=family.n_classes, n_threads=args.n_threads)
                old.append(time.perf_counter() - start)
        t, b = min(times), min(base)
        cells = [f"{100 * budget:g}%", str(int((labels >= 0).sum())), f"{t:.2f}", f"{b:.2f}", f"{t / b:.1f}"]
        cells += [f"{min(old):.2f}", f"{min(old) / t:.1f}"] if old else ["-", "-"]
        cells.append(f"({best.k}, {best.temperature:.3g}, {best.alpha})")
        print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
