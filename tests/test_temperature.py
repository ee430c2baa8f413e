"""The label-free temperature rule: against an independent numpy computation, invariances, edge cases, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import labelgraph
from labelgraph.temperature import (
    AUTO_PERPLEXITY_FRACTION,
    FALLBACK_TEMPERATURE,
    auto_temperature,
    resolve_temperature,
)


def median_perplexity_share(sims: list[np.ndarray], t: float) -> float:
    """Independent reference: the median over rows of exp(entropy) / k of softmax(s / T), rows one by one."""
    shares = []
    for s in sims:
        s = np.asarray(s, dtype=np.float64)
        if s.size < 2 or s.max() == s.min():
            continue
        logits = s / t
        p = np.exp(logits - logits.max())
        p /= p.sum()
        entropy = -np.sum(p[p > 0] * np.log(p[p > 0]))
        shares.append(np.exp(entropy) / s.size)
    return float(np.median(shares))


def blob_graph(rng: np.random.Generator, n: int = 400, k: int = 10) -> labelgraph.KnnGraph:
    X = rng.standard_normal((n, 12)).astype(np.float32)
    return labelgraph.knn_graph(X, k=k)


def test_auto_matches_an_independent_perplexity_calibration(rng: np.random.Generator) -> None:
    graph = blob_graph(rng)
    t = resolve_temperature(graph, "auto")
    rows = list(graph.similarities)
    assert median_perplexity_share(rows, t) == pytest.approx(AUTO_PERPLEXITY_FRACTION, abs=1e-4)
    # The share grows with T, so a little lower / higher T lands on either side of the target.
    assert median_perplexity_share(rows, t * 0.98) < AUTO_PERPLEXITY_FRACTION < median_perplexity_share(rows, t * 1.02)


@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.95])
def test_other_targets_match_the_reference(rng: np.random.Generator, fraction: float) -> None:
    graph = blob_graph(rng)
    t = auto_temperature(graph, fraction)
    assert median_perplexity_share(list(graph.similarities), t) == pytest.approx(fraction, abs=1e-4)


def test_csr_input_with_rows_of_different_lengths_matches_the_reference(rng: np.random.Generator) -> None:
    n = 60
    rows, cols, vals, sims = [], [], [], []
    for i in range(n):
        length = int(rng.integers(0, 8))  # empty rows and single entries are allowed
        neighbours = np.sort(rng.choice(np.delete(np.arange(n), i), size=length, replace=False))
        s = rng.uniform(0.2, 0.9, size=length)
        rows += [i] * length
        cols += neighbours.tolist()
        vals += s.tolist()
        sims.append(s)
    csr = sp.csr_array((np.array(vals, np.float32), (rows, cols)), shape=(n, n))
    csr.sort_indices()
    t = resolve_temperature(csr, "auto")
    sims32 = [np.asarray(s, np.float32) for s in sims]
    assert median_perplexity_share(sims32, t) == pytest.approx(AUTO_PERPLEXITY_FRACTION, abs=1e-4)


def test_knn_graph_and_its_csr_agree(rng: np.random.Generator) -> None:
    graph = blob_graph(rng)
    assert resolve_temperature(graph, "auto") == pytest.approx(resolve_temperature(graph.to_csr(), "auto"), rel=1e-9)


def test_invariant_to_row_order(rng: np.random.Generator) -> None:
    graph = blob_graph(rng)
    order = rng.permutation(graph.n)
    shuffled = labelgraph.KnnGraph(graph.indices[order], graph.similarities[order])
    assert resolve_temperature(shuffled, "auto") == resolve_temperature(graph, "auto")
    assert resolve_temperature(graph, "auto") == resolve_temperature(graph, "auto")  # deterministic


def test_scale_follows_the_spread_of_similarities(rng: np.random.Generator) -> None:
    # Compressing every row's spread by 4 (s -> 1 - (1 - s) / 4) divides the calibrated T by 4.
    graph = blob_graph(rng)
    squeezed = labelgraph.KnnGraph(graph.indices, (1 - (1 - graph.similarities.astype(np.float64)) / 4).astype(np.float32))
    ratio = resolve_temperature(graph, "auto") / resolve_temperature(squeezed, "auto")
    assert ratio == pytest.approx(4.0, rel=1e-3)


def test_k1_and_all_ties_fall_back() -> None:
    indices = np.array([[1], [0], [1]], dtype=np.int32)
    k1 = labelgraph.KnnGraph(indices, np.array([[0.5], [0.5], [0.9]], dtype=np.float32))
    assert resolve_temperature(k1, "auto") == FALLBACK_TEMPERATURE
    tied = labelgraph.KnnGraph(np.array([[1, 2], [0, 2], [0, 1]], dtype=np.int32), np.full((3, 2), 0.7, np.float32))
    assert resolve_temperature(tied, "auto") == FALLBACK_TEMPERATURE


def test_tied_rows_are_left_out_of_the_median(rng: np.random.Generator) -> None:
    graph = blob_graph(rng, n=200)
    sims = graph.similarities.copy()
    sims[:150] = 0.5  # three quarters of the rows tied: their perplexity is k at every T
    tied = labelgraph.KnnGraph(graph.indices, sims)
    t = resolve_temperature(tied, "auto")
    assert median_perplexity_share(list(sims[150:]), t) == pytest.approx(AUTO_PERPLEXITY_FRACTION, abs=1e-4)


def test_numbers_pass_through(rng: np.random.Generator) -> None:
    graph = blob_graph(rng, n=50)
    assert resolve_temperature(graph, 0.05) == 0.05
    assert resolve_temperature(graph, np.float32(0.25)) == pytest.approx(0.25)
    assert isinstance(resolve_temperature(graph, 1), float)


@pytest.mark.parametrize(("value", "error", "match"), [
    (0.0, ValueError, "finite number > 0"),
    (-0.1, ValueError, "finite number > 0"),
    (float("nan"), ValueError, "finite number > 0"),
    (float("inf"), ValueError, "finite number > 0"),
    ("AUTO", ValueError, "or 'auto'"),
    ("0.1", ValueError, "or 'auto'"),
    (None, TypeError, "'auto' here"),
    (True, TypeError, "must be a float"),
    ([0.1], TypeError, "must be a float"),
])
def test_bad_values_raise(rng: np.random.Generator, value: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        resolve_temperature(blob_graph(rng, n=30), value)


def test_bad_graph_raises() -> None:
    with pytest.raises(TypeError, match="KnnGraph or a scipy CSR"):
        resolve_temperature(np.eye(3), "auto")


def test_propagator_resolves_auto_once_and_reports_it(rng: np.random.Generator) -> None:
    graph = blob_graph(rng)
    labels = np.full(graph.n, -1)
    labels[:6] = np.arange(6) % 3
    auto = labelgraph.LabelPropagator(graph, "auto")
    t = resolve_temperature(graph, "auto")
    assert auto.temperature == t and auto.temperature_rule == "auto"
    fixed = labelgraph.LabelPropagator(graph, t)
    assert fixed.temperature_rule == "fixed"
    np.testing.assert_array_equal(auto.propagate(labels, 10).soft, fixed.propagate(labels, 10).soft)
    with pytest.raises(ValueError, match="or 'auto'"):
        labelgraph.LabelPropagator(graph, "sharp")


@pytest.mark.parametrize("block_rows", [1, 7, 10_000])
def test_blocks_of_rows_give_the_same_t_bit_for_bit(rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch,
                                                     block_rows: int) -> None:
    """The search reads the gaps a block of rows at a time; a row's terms do not depend on its block."""
    from labelgraph import temperature

    graph = blob_graph(rng, n=300, k=8)
    sims = graph.similarities.copy()
    sims[5] = 0.5  # a tied row (left out), in some block
    graph = labelgraph.KnnGraph(graph.indices, sims)
    lengths = rng.integers(0, 6, size=90)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    cols = np.concatenate([np.sort(rng.choice(90, size=m, replace=False)) for m in lengths])
    csr = sp.csr_array((rng.uniform(0.1, 0.9, indptr[-1]).astype(np.float32), cols, indptr), shape=(90, 90))
    whole = [auto_temperature(g) for g in (graph, csr)]
    monkeypatch.setattr(temperature, "GAP_BLOCK_ROWS", block_rows)
    assert [auto_temperature(g) for g in (graph, csr)] == whole
    rows = [csr.data[csr.indptr[i]:csr.indptr[i + 1]] for i in range(90)]
    assert median_perplexity_share(rows, whole[1]) == pytest.approx(AUTO_PERPLEXITY_FRACTION, abs=1e-4)
