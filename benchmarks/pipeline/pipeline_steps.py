"""The pipeline users run, step by step, with each step's seconds and peak memory.

Embeddings -> exact 10-NN graph -> propagation of 1% labels -> audit of a noisy labeled subset
-> cold-start pick -> an annotation session started from the picks, then active-learning
batches. Each step runs with the library's defaults (what a user gets without tuning) and is
scored against the known classes of the synthetic data, so a fast step that went wrong shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import labelgraph
import numpy as np
from labelgraph.knn_results import KnnGraph
from labelgraph.workflows import AnnotationSession, audit_labels, select_cold_start
from peak_memory import Measured, measure
from pipeline_data import N_CLASSES, Embeddings, load_graph, save_graph
from threadpoolctl import threadpool_limits


@dataclass(frozen=True)
class PipelineSize:
    """How large a run is: rows, dimensions, k, picks, batches."""

    n: int
    d: int = 128
    k: int = 10
    labeled_fraction: float = 0.01  # labels given to propagate
    audit_fraction: float = 0.1  # rows whose (noisy) labels are audited
    noise_rate: float = 0.1  # of the audited labels, flipped to another class
    n_select: int = 1000  # cold-start picks
    batches: int = 10
    batch_size: int = 100
    max_iter: int = 20  # propagate's clamped steps

    @classmethod
    def full(cls) -> PipelineSize:
        return cls(1_000_000)

    @classmethod
    def smoke(cls) -> PipelineSize:
        return cls(4000, n_select=40, batches=3, batch_size=10)


@dataclass
class Step:
    """One step: what ran, its measurement, what it scored."""

    name: str
    call: str
    measured: Measured
    quality: dict[str, float] = field(default_factory=dict)
    cached: bool = False  # the graph came from the cache (time and memory not measured in this run)


def _accuracy(predicted: np.ndarray, truth: np.ndarray, rows: np.ndarray) -> float:
    return float((predicted[rows] == truth[rows]).mean())


def noisy_subset(y: np.ndarray, size: PipelineSize, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Given labels on ``audit_fraction`` of the rows (-1 elsewhere), ``noise_rate`` of them flipped; the flipped rows."""
    n = y.size
    given_rows = rng.choice(n, size=max(N_CLASSES, int(size.audit_fraction * n)), replace=False)
    labels = np.full(n, -1, dtype=np.int64)
    labels[given_rows] = y[given_rows]
    flipped = rng.choice(given_rows, size=int(size.noise_rate * given_rows.size), replace=False)
    labels[flipped] = (y[flipped] + rng.integers(1, N_CLASSES, flipped.size)) % N_CLASSES
    return labels, np.sort(flipped)


def run_pipeline(data: Embeddings, size: PipelineSize, *, seed: int = 0, n_threads: int = 2,
                 graph: KnnGraph | None = None, cache_graph: bool = False) -> list[Step]:
    """Runs every step once on ``data``; ``graph`` given skips the build (reported as cached)."""
    X, y = data.X, data.y
    n = X.shape[0]
    rng = np.random.default_rng(seed)
    steps: list[Step] = []
    with threadpool_limits(n_threads):  # BLAS of the k-means inside selection and queries
        if graph is None:
            with measure() as m:
                graph = labelgraph.knn_graph(X, size.k, n_threads=n_threads)
            steps.append(Step("kNN graph", f"knn_graph(X, k={size.k})", m))
            if cache_graph:
                save_graph(graph, n, X.shape[1], seed, size.k)
        else:
            steps.append(Step("kNN graph", f"knn_graph(X, k={size.k})", Measured(), cached=True))
        steps[-1].quality["edges within the class"] = float((y[graph.indices] == y[:, None]).mean())

        labels = np.full(n, -1, dtype=np.int64)
        seeds = rng.choice(n, size=max(N_CLASSES, int(size.labeled_fraction * n)), replace=False)
        labels[seeds] = y[seeds]
        with measure() as m:
            result = labelgraph.propagate(graph, labels, max_iter=size.max_iter, n_classes=N_CLASSES,
                                          n_threads=n_threads)
        unlabeled = np.flatnonzero(labels < 0)
        steps.append(Step("propagation", f"propagate(graph, labels, max_iter={size.max_iter}), "
                          f"{size.labeled_fraction:.0%} labeled", m,
                          {"accuracy (unlabeled rows)": _accuracy(result.labels, y, unlabeled)}))
        del result

        given, flipped = noisy_subset(y, size, rng)
        with measure() as m:
            audit = audit_labels(graph, given, n_classes=N_CLASSES)
        flagged = audit.flagged
        hits = np.intersect1d(flagged, flipped).size
        steps.append(Step("audit", f"audit_labels(graph, labels): {int((given >= 0).sum()):,} given, "
                          f"{size.noise_rate:.0%} flipped", m,
                          {"precision": hits / max(1, flagged.size), "recall": hits / max(1, flipped.size)}))
        del audit

        with measure() as m:
            picks = select_cold_start(X, size.n_select, random_state=seed)
        steps.append(Step("cold start", f"select_cold_start(X, {size.n_select})", m,
                          {"classes covered": float(np.unique(y[picks]).size),
                           "modes covered": float(np.unique(data.mode[picks]).size)}))

        with measure() as m:
            session = AnnotationSession(graph, N_CLASSES, embeddings=X, random_state=seed, n_threads=n_threads)
            first = session.add_labels(picks, y[picks])
        unlabeled = np.flatnonzero(session.labels < 0)
        steps.append(Step("session start", f"AnnotationSession(graph, embeddings=X) + add_labels({size.n_select} picks)",
                          m, {"accuracy (unlabeled rows)": _accuracy(first.labels, y, unlabeled)}))

        with measure() as m:
            for _ in range(size.batches):
                batch = session.query(size.batch_size)
                result = session.add_labels(batch, y[batch])
        unlabeled = np.flatnonzero(session.labels < 0)
        steps.append(Step("active learning", f"{size.batches} x (query({size.batch_size}) + add_labels)", m,
                          {"accuracy (unlabeled rows)": _accuracy(result.labels, y, unlabeled)}))
    return steps


def warm_up(n_threads: int) -> None:
    """Runs the whole pipeline once on a few hundred rows: imports, code pages and one-time setup out of the measurement."""
    from pipeline_data import sphere_mixture

    run_pipeline(sphere_mixture(600, 16, 1), PipelineSize(600, d=16, n_select=20, batches=2, batch_size=5),
                 n_threads=n_threads)


def mib(nbytes: float) -> str:
    return f"{nbytes / 2**20:,.0f}"


def markdown_table(steps: list[Step], size: PipelineSize) -> str:
    """Seconds, share of the total, peak growth, process peak and the step's quality, one row a step."""
    total = sum(s.measured.seconds for s in steps)
    lines = ["| step | call | seconds | share | CPU seconds | peak growth (MiB) | bytes per row | process peak (MiB) | quality |",
             "|---|---|---|---|---|---|---|---|---|"]
    for s in steps:
        quality = ", ".join(f"{k} {v:.3f}" if v < 2 else f"{k} {v:.0f}" for k, v in s.quality.items())
        if s.cached:
            lines.append(f"| {s.name} | `{s.call}` | (cached) | | | | | | {quality} |")
            continue
        m = s.measured
        lines.append(f"| {s.name} | `{s.call}` | {m.seconds:.2f} | {m.seconds / total:.1%} | {m.cpu_seconds:.1f} | "
                     f"{mib(m.peak_growth)} | "
                     f"{m.peak_growth / size.n:.0f} | {mib(m.peak)} | {quality} |")
    cpu = sum(s.measured.cpu_seconds for s in steps)
    lines.append(f"| **total** | | **{total:.2f}** | 100% | {cpu:.1f} | | | {mib(max(s.measured.peak for s in steps))} | |")
    return "\n".join(lines)


def as_json(steps: list[Step]) -> list[dict[str, Any]]:
    return [{"name": s.name, "call": s.call, "seconds": s.measured.seconds, "cpu_seconds": s.measured.cpu_seconds,
             "peak_growth": s.measured.peak_growth,
             "rss_before": s.measured.rss_before, "rss_after": s.measured.rss_after, "quality": s.quality,
             "cached": s.cached} for s in steps]


__all__ = ["PipelineSize", "Step", "as_json", "load_graph", "markdown_table", "run_pipeline", "warm_up"]
