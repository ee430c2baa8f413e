"""The edge temperature ``T`` of ``W_ij = exp(s_ij / T)``: a number, or ``"auto"`` chosen from the graph without labels.

``"auto"`` calibrates one global ``T`` the way t-SNE calibrates its bandwidths (van der Maaten &
Hinton, JMLR 2008), but shared by all rows: each row's softmax over its neighbours,
``p_ij = exp(s_ij / T) / sum_l exp(s_il / T)``, has a perplexity ``exp(H_i)`` (its effective number
of neighbours, between 1 and the row's length ``k_i``), and ``T`` is set so the median over rows
of ``exp(H_i) / k_i`` equals :data:`AUTO_PERPLEXITY_FRACTION`. Perplexity grows with ``T`` in every
row, so the median does too and a root search on ``log T`` (Brent's method, bracketed) finds it. Rows whose perplexity cannot
move (one neighbour, or all similarities equal) are left out of the median.

A graph whose similarities are tightly packed (Fashion-MNIST pixels: a row's 10 neighbours within
0.03 of each other) gets a small ``T``; one with a broad spread (sentence embeddings: 0.17) a
larger one, so the weights discriminate among neighbours to the same degree on both.

Cost: O(nnz) per evaluation, about ten evaluations (Brent's method); nothing ``n x n``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import brentq

from labelgraph._validation import csr_graph, temperature_value
from labelgraph.knn_results import KnnGraph

# The median row's effective number of neighbours, as a share of its k.
# Chosen on Fashion-MNIST (seeds 0-2; flat from 0.8 to 0.95 there), confirmed on digits and Debian:
# benchmarks/label_efficiency/RESULTS.md ("Propagation settings").
AUTO_PERPLEXITY_FRACTION = 0.85

# The temperature used when no row can calibrate (every row has one neighbour or equal
# similarities): then the weights do not depend on T within a row, and 1 leaves cosines as they are.
FALLBACK_TEMPERATURE = 1.0

_LOG_T_TOLERANCE = 1e-8  # on log T: a relative precision of T of about 1e-8
_WIDEN_STEPS = 30
# Rows whose float64 gaps are formed at once by the "auto" search (about 1.3 MB at k = 10).
GAP_BLOCK_ROWS = 16_384


def resolve_temperature(graph: KnnGraph | sp.csr_matrix | sp.csr_array, temperature: Any) -> float:
    """The temperature ``T > 0`` to use on ``graph``: ``temperature`` itself if a number, else the ``"auto"`` rule.

    Args:
        graph: a :class:`KnnGraph` (its ``[n, k]`` similarities) or a square scipy CSR matrix /
            array of similarities (rows may differ in length; empty rows are allowed).
        temperature: a finite number > 0 (checked and returned as float) or ``"auto"``
            (see the module docstring).

    Returns:
        ``T`` as a float: deterministic, independent of the order of the rows.

    Memory: nothing per row for a number; for ``"auto"`` as :func:`auto_temperature`.

    Raises:
        TypeError: ``temperature`` is neither a number nor ``"auto"``, or ``graph`` is neither a
            KnnGraph nor a scipy CSR.
        ValueError: a number that is not finite and > 0, or a malformed graph.

    Example:
        >>> import numpy as np, labelgraph
        >>> from labelgraph.temperature import resolve_temperature
        >>> X = np.random.default_rng(0).standard_normal((500, 16)).astype(np.float32)
        >>> t = resolve_temperature(labelgraph.knn_graph(X, k=10), "auto")
        >>> 0 < t < 1
        True
    """
    if isinstance(temperature, str):
        if temperature != "auto":
            raise ValueError(f"temperature must be a number > 0 or 'auto'; got {temperature!r}")
        return auto_temperature(graph)
    if temperature is None:
        raise TypeError("temperature must be a number > 0 or 'auto' here; None (values already weights) has no T")
    return float(temperature_value(temperature))  # type: ignore[arg-type]


def auto_temperature(graph: KnnGraph | sp.csr_matrix | sp.csr_array,
                     fraction: float = AUTO_PERPLEXITY_FRACTION) -> float:
    """The global ``T`` at which the median row's perplexity is ``fraction`` times its number of neighbours.

    Args:
        graph: as in :func:`resolve_temperature`.
        fraction: the target share, in (0, 1).

    Returns:
        ``T`` (float); :data:`FALLBACK_TEMPERATURE` when no row has two different similarities.

    Memory: about ``32`` bytes per row beyond the graph (each calibrating row's entry count, its
    ``log k``, its entropy and the median's copy of them) plus the float64 gaps of
    :data:`GAP_BLOCK_ROWS` rows at a time, formed again at each of the ~10 evaluations.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1); got {fraction}")
    blocks, lengths = _row_gaps(graph)
    if lengths.size == 0:
        return FALLBACK_TEMPERATURE
    log_k = np.log(lengths.astype(np.float64))
    target = np.log(fraction)  # compare log(perplexity / k) = H - log k against it

    def median_excess(log_t: float) -> float:
        """median over rows of H_i(T) - log k_i - log(fraction); increasing in T."""
        scale = -np.exp(-log_t)
        entropy = np.empty(lengths.size)
        done = 0
        for gaps, starts in blocks():  # each row's entropy depends on its own entries only
            z = gaps * scale  # (s_ij - max_i) / T <= 0: exp cannot overflow
            e = np.exp(z)
            total = np.add.reduceat(e, starts)
            weighted = np.add.reduceat(e * z, starts)
            entropy[done:done + starts.size] = np.log(total) - weighted / total
            done += starts.size
        return float(np.median(entropy - log_k)) - target

    # Bracket around the median row's spread (largest gap): at T = spread / 1e3 a typical row is
    # nearly one-hot (perplexity ~1), at T = 1e2 * spread nearly uniform (perplexity ~k). Widened
    # tenfold while it does not bracket (a target in (1/k, 1) always lies between the extremes).
    spread = float(np.median(np.concatenate([np.maximum.reduceat(gaps, starts) for gaps, starts in blocks()])))
    low, high = np.log(spread * 1e-3), np.log(spread * 1e2)
    for _ in range(_WIDEN_STEPS):
        if median_excess(low) < 0:
            break
        low -= np.log(10.0)
    for _ in range(_WIDEN_STEPS):
        if median_excess(high) > 0:
            break
        high += np.log(10.0)
    # Brent's method on log T (bisection's guarantee, secant speed): about 10 evaluations of
    # O(nnz) each instead of bisection's 24, to a log T within _LOG_T_TOLERANCE.
    return float(np.exp(brentq(median_excess, low, high, xtol=_LOG_T_TOLERANCE, rtol=4 * np.finfo(float).eps)))


GapBlocks = Callable[[], Iterator[tuple[np.ndarray, np.ndarray]]]


def _row_gaps(graph: Any) -> tuple[GapBlocks, np.ndarray]:
    """``(blocks, lengths)`` of the rows that can calibrate: ``blocks()`` yields ``(gaps, starts)`` per block of them.

    ``gaps``: ``max_i - s_ij`` (float64, >= 0) of the block's rows, flat, ``starts`` their offsets
    in it (for ``np.add.reduceat``); ``lengths``: the entry count of every such row, blocks in
    order. Only rows with at least two entries and two different similarities are kept. The gaps
    are formed again at each call, :data:`GAP_BLOCK_ROWS` rows at a time (a row's values do not
    depend on the block it is in), instead of held for all rows.
    """
    if isinstance(graph, KnnGraph):
        sims = graph.similarities
        if np.ndim(sims) != 2:
            raise ValueError("graph.similarities must be a finite [n, k] array")
        n, k = np.shape(sims)
        for start in range(0, n, GAP_BLOCK_ROWS):
            if not np.isfinite(np.asarray(sims[start:start + GAP_BLOCK_ROWS], dtype=np.float64)).all():
                raise ValueError("graph.similarities must be a finite [n, k] array")
        if k < 2:
            return lambda: iter(()), np.zeros(0, dtype=np.int64)

        def block_gaps(start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            block = np.asarray(sims[start:stop], dtype=np.float64)
            gaps = block.max(axis=1, keepdims=True) - block
            gaps = gaps[gaps.max(axis=1) > 0]
            return gaps.ravel(), np.arange(gaps.shape[0], dtype=np.int64) * k, np.full(gaps.shape[0], k, np.int64)
    else:
        indptr, _, data = csr_graph(graph, "graph")
        n = int(indptr.size - 1)

        def block_gaps(start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            lengths = np.diff(indptr[start:stop + 1])
            rows = np.flatnonzero(lengths >= 2)
            if rows.size == 0:
                return np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
            # Keep only the entries of rows with >= 2 entries, so reduceat sees no empty segment.
            sub_lengths = lengths[rows]
            sub_starts = np.zeros(rows.size, dtype=np.int64)
            np.cumsum(sub_lengths[:-1], out=sub_starts[1:])
            take = np.repeat(indptr[start:stop][rows] - sub_starts, sub_lengths) + np.arange(int(sub_lengths.sum()))
            values = np.asarray(data[take], dtype=np.float64)
            row_max = np.maximum.reduceat(values, sub_starts)
            row_min = np.minimum.reduceat(values, sub_starts)
            gaps = np.repeat(row_max, sub_lengths) - values
            keep = row_max > row_min
            if not keep.all():
                entry_keep = np.repeat(keep, sub_lengths)
                gaps, sub_lengths = gaps[entry_keep], sub_lengths[keep]
                sub_starts = np.zeros(sub_lengths.size, dtype=np.int64)
                np.cumsum(sub_lengths[:-1], out=sub_starts[1:])
            return gaps, sub_starts, sub_lengths.astype(np.int64)

    bounds = [(start, min(n, start + GAP_BLOCK_ROWS)) for start in range(0, n, GAP_BLOCK_ROWS)]
    lengths = np.concatenate([np.zeros(0, dtype=np.int64)] + [block_gaps(*b)[2] for b in bounds])

    def blocks() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for bound in bounds:
            gaps, starts, _ = block_gaps(*bound)
            if starts.size:
                yield gaps, starts

    return blocks, lengths
