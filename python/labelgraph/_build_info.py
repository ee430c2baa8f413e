"""How this copy of labelgraph was built and what it will use at run time."""

from __future__ import annotations

from typing import Any

from labelgraph import _core


def build_info() -> dict[str, Any]:
    """Return how labelgraph was built and what it uses on this machine.

    Keys: ``version``, ``simd`` (level in use: scalar, avx2, avx512, avx512_vnni),
    ``simd_detected`` (best level the CPU and OS support), ``simd_env`` (the ``LABELGRAPH_SIMD``
    cap as read, any case, or None), ``simd_error`` (None, or why no level is in use: an unknown
    ``LABELGRAPH_SIMD``, which every kernel call then raises as ValueError; ``simd``,
    ``knn_kernel`` and ``spmm_kernel`` are then None), ``knn_kernel`` (microkernel used),
    ``spmm_kernel`` (propagation sweep used), ``openmp_threads``, ``compiler``, ``cuda_compiled``,
    ``gpu_available``, ``gpus`` and ``cuda_error`` (why no GPU is usable, or None).

    Example:
        >>> import labelgraph
        >>> labelgraph.build_info()["simd"] in {"scalar", "avx2", "avx512", "avx512_vnni"}
        True
    """
    return dict(_core.build_info())
