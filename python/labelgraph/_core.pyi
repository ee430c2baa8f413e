"""Type stubs of the compiled `labelgraph._core` module (use the labelgraph package API instead)."""

from typing import Any, Callable

import numpy as np
import numpy.typing as npt

Progress = Callable[[float], None] | None

def build_info() -> dict[str, Any]: ...
def set_simd_level(level: str) -> None: ...
def simd_levels_available() -> list[str]: ...
def spmm_kernel_name() -> str: ...
def knn_kernel_for_level(level: str) -> str: ...
def spmm_kernel_for_level(level: str) -> str: ...
def knn_graph(
    X: npt.NDArray[np.float32], k: int, tile_rows: int = 0, margin: int = -1, n_threads: int = 0,
    progress: Progress = None, int8_filter: bool | None = None,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32], dict[str, Any]]: ...
def knn_search(
    queries: npt.NDArray[np.float32], X: npt.NDArray[np.float32], k: int, tile_rows: int = 0, margin: int = -1,
    n_threads: int = 0, progress: Progress = None, int8_filter: bool | None = None,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32], dict[str, Any]]: ...
def knn_pair(
    A: npt.NDArray[np.float32], B: npt.NDArray[np.float32], k: int, tile_rows: int = 0, margin: int = -1,
    n_threads: int = 0, progress: Progress = None, int8_filter: bool | None = None,
) -> tuple[
    npt.NDArray[np.int32], npt.NDArray[np.float32], npt.NDArray[np.int32], npt.NDArray[np.float32], dict[str, Any]
]: ...
def knn_reference(
    queries: npt.NDArray[np.float32], X: npt.NDArray[np.float32], k: int, exclude_self: bool
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]: ...
def log_degrees(
    indptr: npt.NDArray[np.int64], log_w: npt.NDArray[np.float64], n_threads: int = 0
) -> npt.NDArray[np.float64]: ...
def normalize_log_weights(
    indptr: npt.NDArray[np.int64], indices: npt.NDArray[np.int32], log_w: npt.NDArray[np.float64],
    row_log_degree: npt.NDArray[np.float64], col_log_degree: npt.NDArray[np.float64], normalization: str,
    n_threads: int = 0,
) -> npt.NDArray[np.float32]: ...
def propagation_weights(
    indptr: npt.NDArray[np.int64], indices: npt.NDArray[np.int32], log_w: npt.NDArray[np.float64],
    normalization: str, n_threads: int = 0,
) -> npt.NDArray[np.float32]: ...

PropagateResult = tuple[
    npt.NDArray[np.float32], npt.NDArray[np.int64], npt.NDArray[np.bool_], int, bool, bool, str
]
ResultArrays = (tuple[npt.NDArray[np.float32], npt.NDArray[np.int64], npt.NDArray[np.bool_]]
                | tuple[npt.NDArray[np.float32], npt.NDArray[np.int64], npt.NDArray[np.bool_], npt.NDArray[np.float32]])

class PreparedOperator:
    """A validated normalised CSR operator with reusable iteration buffers."""

    def __init__(
        self, indptr: npt.NDArray[np.int64], indices: npt.NDArray[np.int32], values: npt.NDArray[np.float32],
        order: npt.NDArray[np.int64] | None = None, symmetric: bool = False,
    ) -> None: ...
    def propagate(
        self, labels: npt.NDArray[np.int32], n_classes: int, init: npt.NDArray[np.float32] | None = None,
        n_iter: int = 20, alpha: float = -1.0, tol: float = 0.0, n_threads: int = 0, progress: Progress = None,
        accelerate: bool = True, seeds: npt.NDArray[np.float32] | None = None,
        reach: npt.NDArray[np.float32] | None = None,
    ) -> PropagateResult: ...
    def update_seeds(
        self, rows: npt.NDArray[np.int64], seed_values: npt.NDArray[np.float32], clamped: npt.NDArray[np.bool_],
        n_classes: int, alpha: float = -1.0, tol: float = 1e-4, max_iter: int = 200, n_threads: int = 0,
        out: ResultArrays | None = None,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32] | None, int]: ...
    def update(
        self, rows: npt.NDArray[np.int64], classes: npt.NDArray[np.int32], n_classes: int, alpha: float = -1.0,
        tol: float = 1e-4, max_iter: int = 200, dense_rows: int = -1, n_threads: int = 0,
        out: ResultArrays | None = None,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32] | None, int]: ...
    @property
    def has_state(self) -> bool: ...
    def labels(self) -> npt.NDArray[np.int32]: ...

def propagate_csr(
    indptr: npt.NDArray[np.int64], indices: npt.NDArray[np.int32], values: npt.NDArray[np.float32],
    labels: npt.NDArray[np.int32], n_classes: int, init: npt.NDArray[np.float32] | None = None,
    order: npt.NDArray[np.int64] | None = None, n_iter: int = 20, alpha: float = -1.0, tol: float = 0.0,
    n_threads: int = 0, progress: Progress = None,
) -> PropagateResult: ...
def bfs_order(indptr: npt.NDArray[np.int64], indices: npt.NDArray[np.int32]) -> npt.NDArray[np.int64]: ...
def permute_csr(
    indptr: npt.NDArray[np.int64], indices: npt.NDArray[np.int32], values: npt.NDArray[np.float64],
    order: npt.NDArray[np.int64], n_threads: int = 0,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.float64]]: ...
def check_csr(
    indptr: npt.NDArray[Any], indices: npt.NDArray[Any], data: npt.NDArray[Any], n_threads: int = 0,
) -> tuple[str, int] | None: ...
def prepare_propagation(
    indptr: npt.NDArray[np.int64], indices: npt.NDArray[np.int32], data: npt.NDArray[Any], temperature: float,
    normalization: str, check_symmetry: bool, reorder: str, order: npt.NDArray[np.int64] | None = None,
    sweeps: int = -1, n_classes: int = 0, n_threads: int = 0, symmetric_by_construction: bool = False,
) -> tuple[PreparedOperator, npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.float32],
           npt.NDArray[np.int64] | None, bool | None, dict[str, float]]: ...
