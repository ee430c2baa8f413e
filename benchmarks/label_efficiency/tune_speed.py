"""Wall time of ``labelgraph.tune`` on a family's full k=50 graph, as ratios to baselines in the same run.

Per budget, interleaved and the best of ``--repeats`` calls each (same labels, same threads):

* ``tune`` (operators prepared in the call);
* a :class:`labelgraph.tuning.Tuner` kept between calls (the session's reruns: operators
  prepared once);
* one propagation: preparing a :class:`LabelPropagator` at the chosen (k, T) and running the
  chosen settings once (what a session does anyway after tuning);
* optionally the previous ``tune`` (a copy of an older ``tuning.py``, e.g. from git).

The picks of every variant are printed beside each other.

    git show 98c8958:python/labelgraph/tuning.py > /tmp/previous_tuning.py
    python tune_speed.py --family debian --budgets 0.003 0.01 --n-threads 2 --previous /tmp/previous_tuning.py
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import labelgraph
from labelgraph.tuning import Tuner

from families import FAMILIES, family_graph, load_family
from propagation_settings import cut, draw_labels


def load_previous(path: str):
    spec = importlib.util.spec_from_file_location("previous_tuning", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.tune


def timed(call, *args):
    start = time.perf_counter()
    out = call(*args)
    return time.perf_counter() - start, out


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
    c, nt = family.n_classes, args.n_threads
    previous = load_previous(args.previous) if args.previous else None
    print(f"{args.family}: n = {graph.n}, c = {c}, graph k = {graph.k}, {nt} threads")
    tuner_seconds, tuner = timed(lambda: Tuner(graph, n_threads=nt))
    print(f"Tuner(graph) (reference k, auto T's): {tuner_seconds:.2f} s")
    variants = {"tune": lambda labels: labelgraph.tune(graph, labels, n_classes=c, n_threads=nt),
                "kept Tuner": lambda labels: tuner.search(labels, n_classes=c)}
    if previous is not None:
        variants["previous tune"] = lambda labels: previous(graph, labels, n_classes=c, n_threads=nt)
    ratios = [("kept Tuner", "tune")] + ([("tune", "previous tune"), ("kept Tuner", "previous tune")] if previous else [])
    print("| budget | labels | " + " | ".join(f"{v} s" for v in variants) + " | one propagation s | "
          + " | ".join(f"{a} / {b}" for a, b in ratios) + " | tune / propagation | kept Tuner / propagation | "
          "picks (k, T) |")
    print("|---|---|" + "---|" * (len(variants) + len(ratios) + 4))
    for budget in args.budgets:
        labels = draw_labels(family.y, budget, args.seed)
        variants["kept Tuner"](labels)  # prepares the kept Tuner's operators (not timed)
        times = {v: [] for v in variants}
        picks, results = {}, {}
        base = []
        for _ in range(args.repeats):
            for name, call in variants.items():
                seconds, best = timed(call, labels)
                times[name].append(seconds)
                picks[name] = (best.k, round(best.temperature, 4))
                results[name] = best
            chosen = results["tune"]
            base_start = time.perf_counter()
            propagator = labelgraph.LabelPropagator(cut(graph, chosen.k), chosen.temperature, n_threads=nt)
            propagator.propagate(labels, chosen.max_iter, alpha=chosen.alpha, tol=chosen.tol, n_classes=c)
            base.append(time.perf_counter() - base_start)
        best = {v: min(t) for v, t in times.items()}
        cells = [f"{100 * budget:g}%", str(int((labels >= 0).sum()))]
        cells += [f"{best[v]:.2f}" for v in variants] + [f"{min(base):.2f}"]
        cells += [f"{best[a] / best[b]:.2f}" for a, b in ratios]
        cells += [f"{best['tune'] / min(base):.1f}", f"{best['kept Tuner'] / min(base):.1f}",
                  "; ".join(f"{v}: {p}" for v, p in picks.items())]
        print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
