"""Active learning on the three families: accuracy of the session's pseudo-labels against labels bought, per strategy.

Labels are bought in batches of c (the family's number of classes) from zero with the
session's defaults (graph ``family_graph(family, k=10)`` or, on a stratified subsample drawn
per seed, an exact k=10 graph of the subsample; temperature
``labelgraph.defaults.DEFAULT_TEMPERATURE``, printed with the value it resolves to; alpha form).
After the batches that reach 1x, 2x, 4x and 10x c labels, the pseudo-labels of the rows not
bought are scored (unreached rows count as wrong). Baselines in the same run: the session with
random picks ("random", from zero) and "random LP", the paper's clamped LP (t=20, from scratch,
same temperature) on random picks drawn with the same seed. ``--diagnose`` also prints, per round, where each strategy's picks
land: share unreached, their mean uncertainty, density percentile, classes, and whether
the pseudo-label was already right. ``--tune on`` runs ``AnnotationSession(tune=True)``; ``--query-k``
and ``--reach-k`` are experiments on how its batches are asked (results_tune.md, sessions 25 and 27).

    cd benchmarks/label_efficiency && python active_learning.py --family debian --subsample 20000 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import time

import labelgraph
import numpy as np
import scipy.sparse as sp
from labelgraph.defaults import DEFAULT_K, DEFAULT_TEMPERATURE
from labelgraph.workflows import STRATEGIES, AnnotationSession
from labelgraph.workflows.clusters import kmeans_clusters
from labelgraph.workflows.reach_query import in_neighbours
from labelgraph.workflows.session import (
    DEFAULT_STRATEGY,
    class_probabilities,
    uncertainty,
)

from families import FAMILIES, family_graph, load_family

MULTIPLES = (1, 2, 4, 10)


def stratified_subsample(y: np.ndarray, n: int, seed: int) -> np.ndarray:
    """About ``n`` rows, each class in proportion (at least 2 per class), sorted."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(int(y.max()) + 1):
        members = np.flatnonzero(y == c)
        take = max(2, round(members.size * n / y.size))
        rows.append(rng.choice(members, min(take, members.size), replace=False))
    return np.sort(np.concatenate(rows))


def data(family: str, subsample: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray, labelgraph.KnnGraph]:
    """The family (or its stratified subsample drawn with ``seed``, with its own exact graph) and its graph."""
    fam = load_family(family)
    if subsample and subsample < fam.y.size:
        rows = stratified_subsample(fam.y, subsample, seed)
        X, y = np.ascontiguousarray(fam.X[rows]), fam.y[rows]
        y = np.unique(y, return_inverse=True)[1].astype(np.int64)
        return X, y, labelgraph.knn_graph(X, k=k)
    return fam.X, fam.y, family_graph(fam, k)


def density(graph: labelgraph.KnnGraph) -> np.ndarray:
    """Percentile (0-100) of each row's mean similarity to its neighbours."""
    mean = graph.similarities.mean(axis=1)
    return 100.0 * np.argsort(np.argsort(mean)) / mean.size


class QueryViewSession(AnnotationSession):
    """Experiment (session 25): a tuned session whose batches are asked by a plain session at a fixed k.

    The pseudo-labels (``result``) are the tuned session's; ``query`` is that of a default
    session (tune off, default temperature) on the graph's first ``query_k`` neighbours (0: tune's
    label-free reference k), fed the same labels.
    """

    def __init__(self, graph: labelgraph.KnnGraph, n_classes: int, *, query_k: int, **kwargs) -> None:
        super().__init__(graph, n_classes, tune=True, **kwargs)
        k = self._tuner.reference_k if query_k == 0 else min(query_k, graph.k)
        view = labelgraph.KnnGraph(np.ascontiguousarray(graph.indices[:, :k]),
                                   np.ascontiguousarray(graph.similarities[:, :k]))
        self._view = AnnotationSession(view, n_classes, tune=False, **kwargs)

    def add_labels(self, indices, classes):
        result = super().add_labels(indices, classes)
        self._view.add_labels(indices, classes)
        return result

    def query(self, n_select, strategy=DEFAULT_STRATEGY, candidates=None):
        return self._view.query(n_select, strategy, candidates)


class ReachViewSession(AnnotationSession):
    """Experiment (session 27, variant R): a tuned session whose reach weights come from a fixed k.

    Pseudo-labels and the margins of "reach_margin" are the tuned session's (one propagation
    per batch, as with ``tune=True``); only the in-neighbour lists that say which rows a label
    reaches (``_reached_by``) are those of the default session's operator (default temperature)
    on the graph's first ``reach_k`` neighbours, built once and kept across retunes.
    """

    def __init__(self, graph: labelgraph.KnnGraph, n_classes: int, *, reach_k: int, **kwargs) -> None:
        super().__init__(graph, n_classes, tune=True, **kwargs)
        self._reach_k = min(reach_k, graph.k)
        self._narrow_reached_by = None

    def query(self, n_select, strategy=DEFAULT_STRATEGY, candidates=None):
        if self._narrow_reached_by is None:  # the default session's lists at reach_k (same operator)
            view = labelgraph.KnnGraph(np.ascontiguousarray(self._graph.indices[:, :self._reach_k]),
                                       np.ascontiguousarray(self._graph.similarities[:, :self._reach_k]))
            propagator = labelgraph.LabelPropagator(view, DEFAULT_TEMPERATURE, symmetrize=self._symmetrize)
            self._narrow_reached_by = in_neighbours(propagator.operator(internal_order=True), propagator.order)
        self._reached_by = self._narrow_reached_by  # a retune resets it to None: set it before every query
        return super().query(n_select, strategy, candidates)


class WeightedReachSession(AnnotationSession):
    """Experiment (session 27, variant W): a session whose reach counts a neighbour by its edge's share.

    Pseudo-labels, margins and neighbour lists are the session's (tuned or not); only the in-neighbour
    matrix of "reach_margin" holds, instead of 1 for every row that lists ``i`` among its k
    neighbours, the share ``exp(s_ji / T) / sum_l exp(s_jl / T)`` of row ``j``'s update that
    comes from ``i`` (k and T in use), so a row's value is its own uncertainty plus what one
    step from its label would move, and the 20th-30th neighbours of a wide k count little.
    Rebuilt after each retune, as the session's own lists are.
    """

    def query(self, n_select, strategy=DEFAULT_STRATEGY, candidates=None):
        if self._reached_by is None:
            k, T = self._k, self._propagator.temperature
            indices = self._graph.indices[:, :k].astype(np.int64)
            sim = self._graph.similarities[:, :k].astype(np.float64)
            share = np.exp((sim - sim.max(axis=1, keepdims=True)) / T)
            share /= share.sum(axis=1, keepdims=True)
            source = np.repeat(np.arange(self.n, dtype=np.int64), k)
            target = indices.ravel()
            keep = (target >= 0) & (target != source)
            # Entry (target, source): a label at `target` moves `source` by its share.
            self._reached_by = sp.csr_array((share.ravel()[keep], (target[keep], source[keep])),
                                            shape=(self.n, self.n))
        return super().query(n_select, strategy, candidates)


def run_session(graph: labelgraph.KnnGraph, X: np.ndarray, y: np.ndarray, strategy: str, seed: int,
                clusters: np.ndarray, budgets: list[int], diagnose: bool,
                tune: bool = False, query_k: int | None = None,
                reach_k: int | None = None) -> tuple[dict[int, float], list[dict]]:
    c = int(y.max()) + 1
    if query_k is not None:
        session = QueryViewSession(graph, c, query_k=query_k, clusters=clusters, embeddings=X, random_state=seed)
    elif reach_k == 0:
        session = WeightedReachSession(graph, c, clusters=clusters, embeddings=X, random_state=seed, tune=tune)
    elif reach_k is not None:
        session = ReachViewSession(graph, c, reach_k=reach_k, clusters=clusters, embeddings=X, random_state=seed)
    else:
        session = AnnotationSession(graph, c, clusters=clusters, embeddings=X, random_state=seed, tune=tune)
    dens = density(graph) if diagnose else None
    accuracy, rounds = {}, []
    while (session.labels >= 0).sum() < max(budgets):
        batch = session.query(c, strategy=strategy)
        if diagnose:
            before = session.result
            info = {"labels": int((session.labels >= 0).sum()), "classes": int(np.unique(y[batch]).size),
                    "top_class_share": float(np.bincount(y[batch]).max() / batch.size),
                    "density_pct": float(dens[batch].mean())}
            if before is not None:
                score = uncertainty(class_probabilities(before.soft), "margin")
                info |= {"unreached": float(before.unreached[batch].mean()),
                         "unreached_all": float(before.unreached.mean()),
                         "margin_unc": float(score[batch].mean()),
                         "already_right": float((before.labels[batch] == y[batch]).mean()),
                         "mass_pct": float((100.0 * np.argsort(np.argsort(before.soft.sum(axis=1)))
                                            / y.size)[batch].mean())}
            rounds.append(info)
        result = session.add_labels(batch, y[batch])
        bought = int((session.labels >= 0).sum())
        if bought in budgets:
            rest = session.labels < 0
            accuracy[bought] = float(np.mean(result.labels[rest] == y[rest]))
            if diagnose:
                rounds[-1]["unreached_after"] = float(result.unreached[rest].mean())
    return accuracy, rounds


def random_lp(graph: labelgraph.KnnGraph, y: np.ndarray, seed: int, budgets: list[int]) -> dict[int, float]:
    """The paper's baseline: random picks, clamped LP for 20 steps from scratch."""
    order = np.random.default_rng(seed).permutation(y.size)
    c = int(y.max()) + 1
    out = {}
    for budget in budgets:
        labels = np.full(y.size, -1)
        labels[order[:budget]] = y[order[:budget]]
        result = labelgraph.propagate(graph, labels, max_iter=20, temperature=DEFAULT_TEMPERATURE, n_classes=c)
        rest = labels < 0
        out[budget] = float(np.mean(result.labels[rest] == y[rest]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", choices=FAMILIES, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=STRATEGIES)
    parser.add_argument("--subsample", type=int, default=0, help="stratified subsample of this many rows, drawn per seed (0: all)")
    parser.add_argument("--k", type=int, default=DEFAULT_K, help=f"graph neighbours (default {DEFAULT_K})")
    parser.add_argument("--tune", choices=("on", "off"), default="off",
                        help="the session's tune= (on: retune k and alpha by labelgraph.tune as labels grow, from a k=30 graph; off: the default)")
    parser.add_argument("--query-k", type=int, default=None,
                        help="experiment, with --tune on: batches asked by a default session on the graph's first "
                             "k neighbours (0: tune's reference k); pseudo-labels from the tuned session")
    parser.add_argument("--reach-k", type=int, default=None,
                        help="experiment: k > 0 (with --tune on): reach_margin's in-neighbour lists from the default "
                             "operator of the graph's first k neighbours; 0 (--tune on or off): the session's own lists, "
                             "each entry weighted by its edge's share of the row's update. Margins and pseudo-labels "
                             "from the session")
    parser.add_argument("--diagnose", action="store_true", help="print where each strategy's picks land")
    parser.add_argument("--json", help="write the per-seed results here")
    args = parser.parse_args()
    if args.query_k is not None and args.tune != "on":
        parser.error("--query-k is an experiment of the tuned session: add --tune on")
    if args.reach_k is not None and args.query_k is not None:
        parser.error("--reach-k and --query-k are two experiments: pass one")
    if args.reach_k and args.tune != "on":
        parser.error("--reach-k k > 0 is an experiment of the tuned session: add --tune on")
    if args.reach_k is not None and args.reach_k < 0:
        parser.error("--reach-k must be >= 0")
    rows: dict[str, list[dict[int, float]]] = {s: [] for s in (*args.strategies, "random LP")}
    seconds = {s: 0.0 for s in args.strategies}
    diagnostics: dict[str, list] = {}
    for seed in args.seeds:
        X, y, graph = data(args.family, args.subsample, args.k, seed)
        c = int(y.max()) + 1
        budgets = [m * c for m in MULTIPLES]
        resolved = labelgraph.LabelPropagator(graph).temperature  # the session default's T on this graph
        print(f"{args.family} seed {seed}: n={y.size} c={c} k={args.k} T={DEFAULT_TEMPERATURE} ({resolved:.4g}) "
              f"tune={args.tune} query_k={args.query_k} reach_k={args.reach_k} "
              f"budgets={budgets}", flush=True)
        clusters = kmeans_clusters(X, c, random_state=seed, n_init=1)[0] if "cluster_margin" in args.strategies \
            else None
        for strategy in args.strategies:
            start = time.perf_counter()
            accuracy, rounds = run_session(graph, X, y, strategy, seed, clusters, budgets, args.diagnose,
                                           tune=args.tune == "on", query_k=args.query_k, reach_k=args.reach_k)
            seconds[strategy] += time.perf_counter() - start
            rows[strategy].append(accuracy)
            diagnostics[f"{strategy} seed {seed}"] = rounds
            print(f"seed {seed} {strategy}: {accuracy} ({time.perf_counter() - start:.0f} s)", flush=True)
            for info in rounds:
                print("   ", {key: round(v, 3) if isinstance(v, float) else v for key, v in info.items()}, flush=True)
        rows["random LP"].append(random_lp(graph, y, seed, budgets))
        print(f"seed {seed} random LP: {rows['random LP'][-1]}", flush=True)
    print("\n| strategy | " + " | ".join(f"{b} ({m}c)" for b, m in zip(budgets, MULTIPLES)) + " |")
    print("|---|" + "---|" * len(budgets))
    for name, runs in rows.items():
        cells = [f"{100 * np.mean([r[b] for r in runs]):.1f} ± {100 * np.std([r[b] for r in runs]):.1f}"
                 for b in budgets]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("seconds per run:", {s: round(v / len(args.seeds), 1) for s, v in seconds.items()})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": {k: [{str(b): a for b, a in r.items()} for r in v] for k, v in rows.items()},
                       "diagnostics": diagnostics, "temperature": DEFAULT_TEMPERATURE, "k": args.k, "family": args.family,
                       "n": int(y.size)}, f)


if __name__ == "__main__":
    main()
