"""knn_graph(memory_budget=...) streams a .npy from disk: the exact graph, within the stated memory."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import labelgraph
from labelgraph.out_of_core import knn_graph_out_of_core
from labelgraph.out_of_core import CALL_OVERHEAD_BYTES, bytes_per_block_row


def _assert_same_graph(got: labelgraph.KnnGraph, want: labelgraph.KnnGraph) -> None:
    np.testing.assert_array_equal(got.indices, want.indices)
    np.testing.assert_array_equal(got.similarities, want.similarities)


@pytest.mark.parametrize(("n", "d", "k", "block_rows"), [(500, 17, 7, 64), (300, 8, 299, 64), (130, 5, 1, 200)])
def test_memmap_path_and_array_equal_in_memory(tmp_path: Path, rng: np.random.Generator, n: int, d: int, k: int,
                                               block_rows: int) -> None:
    X = rng.standard_normal((n, d)).astype(np.float32)
    X[n - 1] = X[0]  # a duplicate in the last (uneven) block, tied with row 0
    path = tmp_path / "X.npy"
    np.save(path, X)
    want = labelgraph.knn_graph(X, k)
    budget = 8 * n * k + CALL_OVERHEAD_BYTES + bytes_per_block_row(d, k, 4) * block_rows
    for source in (np.load(path, mmap_mode="r"), str(path), X):
        got = labelgraph.knn_graph(source, k, memory_budget=budget, tile_rows=12, n_threads=1)
        assert got.stats["block_rows"] == min(n, block_rows)
        assert got.stats["from_file"] == (not isinstance(source, np.ndarray) or isinstance(source, np.memmap))
        _assert_same_graph(got, want)


def test_float64_file_and_progress(tmp_path: Path, rng: np.random.Generator) -> None:
    X = rng.standard_normal((400, 9))
    np.save(tmp_path / "X.npy", X)
    seen: list[float] = []
    got = knn_graph_out_of_core(tmp_path / "X.npy", 5, memory_budget=2_200_000, progress=seen.append, n_threads=1)
    assert got.stats["blocks"] > 2 and seen[-1] == 1.0 and seen == sorted(seen)
    _assert_same_graph(got, labelgraph.knn_graph(X.astype(np.float32), 5))


def test_bad_inputs(tmp_path: Path, rng: np.random.Generator) -> None:
    X = rng.standard_normal((200, 6)).astype(np.float32)
    with pytest.raises(ValueError, match=r"memory_budget=1000 bytes is too small.*pass memory_budget >= \d+"):
        labelgraph.knn_graph(X, 5, memory_budget=1000)
    with pytest.raises(TypeError, match="memory_budget must be an int"):
        labelgraph.knn_graph(X, 5, memory_budget=1e9)
    with pytest.raises(ValueError, match=r"k must be in \[1, 199\]"):
        labelgraph.knn_graph(X, 200, memory_budget=10**8)
    np.save(tmp_path / "i.npy", X.astype(np.int32))
    with pytest.raises(TypeError, match="X must be float32"):
        knn_graph_out_of_core(tmp_path / "i.npy", 5, memory_budget=10**8)
    bad = X.copy()
    bad[150] = np.nan
    np.save(tmp_path / "bad.npy", bad)
    with pytest.raises(ValueError, match=r"NaN or inf \(rows 150\)"):  # named by its row in the file
        knn_graph_out_of_core(tmp_path / "bad.npy", 5, memory_budget=2_200_000)


_PEAK_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import labelgraph

    def rss(field):
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith(field))

    def peak_growth(call):
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM (the peak RSS) to the current RSS
        before = rss("VmRSS:")
        result = call()
        return rss("VmHWM:") - before, result

    path, k, budget = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    X = np.load(path, mmap_mode="r")
    # Warm-up on a small array: library code pages and the kernels' one-time self-tests are the
    # libraries' memory, not this call's.
    small = np.random.default_rng(0).standard_normal((300, X.shape[1])).astype(np.float32)
    labelgraph.knn_graph(small, k, memory_budget=budget, n_threads=1)
    streamed, graph = peak_growth(lambda: labelgraph.knn_graph(X, k, memory_budget=budget, n_threads=1))
    np.save(path + ".indices.npy", graph.indices)
    np.save(path + ".sims.npy", graph.similarities)
    # Control: the in-memory call on the same rows must exceed the budget, or the probe sees nothing.
    in_memory, _ = peak_growth(lambda: labelgraph.knn_graph(np.array(X), k, n_threads=1))
    print(json.dumps({"streamed": streamed, "in_memory": in_memory, "blocks": graph.stats["blocks"]}))
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="peak RSS is read from /proc/self (Linux)")
def test_peak_memory_stays_within_budget(tmp_path: Path, rng: np.random.Generator) -> None:
    # A 12 MB file streamed with a 4 MB budget, in a fresh process.
    n, d, k, budget = 24_000, 128, 5, 4 * 2**20
    X = rng.standard_normal((n, d)).astype(np.float32)
    path = tmp_path / "X.npy"
    np.save(path, X)
    assert path.stat().st_size > 2.5 * budget
    out = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, str(path), str(k), str(budget)],
                         capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)
    streamed, in_memory = report["streamed"], report["in_memory"]
    assert report["blocks"] > 4
    assert in_memory > 2 * budget, f"the probe saw only {in_memory} bytes for the in-memory call"
    assert streamed <= budget, f"peak RSS grew by {streamed / 2**20:.1f} MiB for a {budget / 2**20:.1f} MiB budget"
    want = labelgraph.knn_graph(X, k)
    np.testing.assert_array_equal(np.load(str(path) + ".indices.npy"), want.indices)
    np.testing.assert_array_equal(np.load(str(path) + ".sims.npy"), want.similarities)
