"""Benchmark setup: 2 threads everywhere, the OpenBLAS core type, data cases and exact answers."""

from __future__ import annotations

import os


def _openblas_coretype() -> str:
    """OpenBLAS kernel family for this CPU, read from /proc/cpuinfo.

    OpenBLAS picks its kernels from CPUID unless told. On the development VMs (an EPYC Zen 3
    host) neither CPUID nor XCR0 offers AVX-512, so forcing "SkylakeX" would fault; a wrong guess
    either faults or falls back to slow generic kernels. /proc/cpuinfo lists only what the
    kernel enabled, so: "SkylakeX" only with avx512f there, else "Zen" on AMD, "Haswell" on Intel.
    """
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
    except OSError:
        return "Haswell"
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    if "avx512f" in flags:
        return "SkylakeX"
    return "Zen" if "AuthenticAMD" in text else "Haswell"


# Must happen before numpy (and so OpenBLAS) is imported: OpenBLAS reads it once at load time.
# Overrides what the environment sets (this workplace sets Haswell, which halves OpenBLAS on an
# AVX-512 CPU), so the baselines run with the best kernels this CPU can execute.
os.environ["OPENBLAS_CORETYPE"] = _openblas_coretype()

from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from labelgraph._reference import knn_numpy, knn_numpy_pair_similarities  # noqa: E402
from labelgraph.datasets import fashion_mnist_available, load_fashion_mnist, pixel_embeddings  # noqa: E402

THREADS = int(os.environ.get("LABELGRAPH_BENCH_THREADS", "2"))
FULL = os.environ.get("LABELGRAPH_BENCH", "").lower() == "full"
SEED = int(os.environ.get("LABELGRAPH_TEST_SEED", "20240611"))
ROUNDS = int(os.environ.get("LABELGRAPH_BENCH_ROUNDS", "3" if FULL else "1"))
TRUTH_ROWS = 256  # rows whose exact neighbours (numpy float64) check every result
# scikit-learn and scipy take minutes at n = 100k on 2 cores: they only run up to this size.
SLOW_BASELINE_MAX_N = int(os.environ.get("LABELGRAPH_BENCH_SLOW_MAX_N", "20000"))


@dataclass(frozen=True)
class KnnCase:
    """One benchmark input: which data, how many rows and dimensions, and k."""

    data: str  # "gaussian" or "fashion_mnist"
    n: int
    d: int
    k: int

    @property
    def id(self) -> str:
        return f"{self.data}-n{self.n}-d{self.d}-k{self.k}"


def knn_cases() -> list[KnnCase]:
    """The sizes of the issue with LABELGRAPH_BENCH=full; else a smoke set that runs in seconds."""
    if FULL:
        cases = [KnnCase("gaussian", n, d, k) for n in (20_000, 100_000) for d in (128, 384, 768) for k in (10, 50)]
        cases += [KnnCase("fashion_mnist", n, 784, k) for n in (20_000, 70_000) for k in (10, 50)]
        return cases
    return [KnnCase("gaussian", 2000, 128, 10), KnnCase("gaussian", 2000, 16, 10), KnnCase("fashion_mnist", 2000, 784, 10)]


@dataclass
class KnnTruth:
    """Exact neighbours of a sample of rows, to score any result by tie-aware recall."""

    X: np.ndarray
    rows: np.ndarray  # [m] sampled row numbers
    kth_similarity: np.ndarray  # [m] float64 cosine of each sampled row's k-th true neighbour

    def recall(self, indices: np.ndarray) -> float:
        """Fraction of the returned neighbours of the sampled rows that belong in the exact top k.

        A neighbour belongs when its true cosine reaches the k-th true cosine (less 1e-6, so a
        neighbour tied with the k-th counts whichever of the tied rows was returned).
        """
        got = np.ascontiguousarray(indices[self.rows])
        sims = knn_numpy_pair_similarities(self.X[self.rows], self.X, got).astype(np.float64)
        not_self = got != self.rows[:, None]
        return float(((sims >= self.kth_similarity[:, None] - 1e-6) & not_self).mean())


def load_case_matrix(case: KnnCase) -> np.ndarray:
    if case.data == "gaussian":
        return np.random.default_rng(SEED).standard_normal((case.n, case.d), dtype=np.float32)
    if not fashion_mnist_available():
        pytest.skip("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
    images, _ = load_fashion_mnist("all")
    rows = np.sort(np.random.default_rng(SEED).choice(images.shape[0], case.n, replace=False))
    X = pixel_embeddings(images[rows])
    return X[X.any(axis=1)][: case.n]


_CACHE: dict[str, tuple[np.ndarray, KnnTruth]] = {}


@pytest.fixture
def knn_data(request: pytest.FixtureRequest) -> tuple[KnnCase, np.ndarray, KnnTruth]:
    """(case, X [n, d] float32, truth) for the case the test is parametrised with; cached per case."""
    case: KnnCase = request.param
    if case.id not in _CACHE:
        _CACHE.clear()  # one case in memory at a time (100k x 768 float32 is 300 MB)
        X = load_case_matrix(case)
        rows = np.sort(np.random.default_rng(SEED + 1).choice(X.shape[0], min(TRUTH_ROWS, X.shape[0]), replace=False))
        with threadpool_limits(THREADS):
            _, sims = knn_numpy(np.ascontiguousarray(X[rows]), X, case.k + 1, exclude_self=False)
        # k + 1 with self: the (k+1)-th of the search is the k-th neighbour when self is first, and a
        # lower bound otherwise (a tied duplicate came first), which is what the tolerance is for.
        _CACHE[case.id] = (X, KnnTruth(X, rows, sims[:, case.k].astype(np.float64)))
    X, truth = _CACHE[case.id]
    return case, X, truth


@pytest.fixture(autouse=True)
def _limit_threads() -> Iterator[None]:
    """BLAS and OpenMP pools capped at THREADS for every benchmark, baselines included."""
    with threadpool_limits(THREADS):
        yield


_LABELGRAPH_SECONDS: dict[str, float] = {}


def record(benchmark: object, case: KnnCase, recall: float, name: str) -> None:
    """Stores recall, throughput (pairs/s) and the ratio to labelgraph's time in extra_info."""
    info = benchmark.extra_info  # type: ignore[attr-defined]
    info.update(n=case.n, d=case.d, k=case.k, threads=THREADS, recall=recall)
    stats = getattr(benchmark, "stats", None)
    if stats is None:  # --benchmark-disable
        return
    seconds = stats.stats.mean
    info["pairs_per_s"] = case.n * case.n / seconds
    if name == "labelgraph":
        _LABELGRAPH_SECONDS[case.id] = seconds
    elif case.id in _LABELGRAPH_SECONDS:
        info["time_vs_labelgraph"] = seconds / _LABELGRAPH_SECONDS[case.id]
