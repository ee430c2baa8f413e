"""Checks of Dask inputs at the boundary, and numpy rows shipped to the cluster in blocks."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np

from labelgraph._validation import _FLOAT_DTYPES, positive_int


def is_dask_array(a: Any) -> bool:
    """True for a ``dask.array.Array``, without importing dask when it is not one."""
    return type(a).__module__.startswith("dask.") and hasattr(a, "chunks") and hasattr(a, "dask")


def import_dask() -> Any:
    """``dask.array``, or ImportError saying which extra to install."""
    try:
        import dask.array as da
    except ImportError as e:  # pragma: no cover - exercised only without dask
        raise ImportError("labelgraph.distributed needs dask: pip install 'labelgraph[dask]'") from e
    return da


def check_embeddings(X: Any, name: str) -> None:
    """Check the metadata of embeddings ``[n, d]`` given as a dask or a numpy array (dtype, shape).

    Values (NaN, zero rows) are checked by each block's task, which names the bad rows by their
    global numbers, so a numpy ``X`` (a memmap, say) is not read here.
    """
    if not (is_dask_array(X) or isinstance(X, np.ndarray)):
        raise TypeError(f"{name} must be a dask.array.Array or a numpy array; got {type(X).__name__}; "
                        f"pass np.asarray({name}) or dask.array.from_array({name})")
    if X.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"{name} must be float32 (float16 and float64 are converted); got {X.dtype}; "
                        f"pass {name}.astype(np.float32)")
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_rows, n_dims); got shape {X.shape}")
    if any(np.isnan(s) for s in X.shape):
        raise ValueError(f"{name} has unknown chunk sizes {X.shape}; call {name}.compute_chunk_sizes() first")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {X.shape}); it needs at least one row and one column")


def row_blocks(X: Any, name: str, client: Any, block_rows: int | None) -> Any:
    """Checked embeddings (see :func:`check_embeddings`) as a dask array with whole rows per chunk.

    A dask array keeps its row chunks unless ``block_rows`` is given; a numpy array is sent to
    ``client`` in blocks of ``block_rows`` rows (default :func:`default_block_rows`).
    """
    if block_rows is not None:
        block_rows = positive_int(block_rows, "block_rows")
    if isinstance(X, np.ndarray):
        return rows_on_cluster(client, X, default_block_rows(client, X.shape[0]) if block_rows is None else block_rows)
    if block_rows is not None:
        return X.rechunk({0: block_rows, 1: -1})
    if len(X.chunks[1]) != 1:
        raise ValueError(f"{name} is chunked along columns (column chunks {X.chunks[1]}); each task needs whole "
                         f"rows: pass {name}.rechunk({{1: -1}}) or block_rows=")
    return X


def default_block_rows(client: Any, n: int) -> int:
    """Rows per block giving about two pair tasks per worker thread: ``B (B + 1) / 2 ~ 2 threads``."""
    threads = sum(client.nthreads().values()) if client is not None else 1
    blocks = max(1, int(np.ceil(np.sqrt(4 * max(threads, 1)))))
    return max(1, -(-n // blocks))


def rows_on_cluster(client: Any, X: np.ndarray, block_rows: int) -> Any:
    """A numpy matrix as a dask array of ``block_rows``-row blocks, each one task on ``client``.

    ``da.from_array`` would send all the data in one graph message; ``client.scatter`` would
    leave blocks that nothing can recompute when a worker is lost. One task per block holding
    that block can be rerun on any worker (see ``TaskRunner.put``).
    """
    da = import_dask()
    if client is None:
        return da.from_array(X, chunks=(block_rows,) + tuple(-1 for _ in X.shape[1:]))
    import dask

    from labelgraph.distributed._runner import TaskRunner

    starts = range(0, X.shape[0], block_rows)
    name = f"lg-rows-{uuid.uuid4().hex[:12]}"
    handles = TaskRunner(client).put([np.ascontiguousarray(X[s:s + block_rows]) for s in starts], name)
    return da.concatenate([da.from_delayed(dask.delayed(h), shape=(min(block_rows, X.shape[0] - s),) + X.shape[1:],
                                           dtype=X.dtype) for h, s in zip(handles, starts)])
