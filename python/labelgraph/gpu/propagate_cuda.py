"""Label propagation with the CUDA kernel (csrc/cuda/propagate_csr.cu): all iterations in one call."""

from __future__ import annotations

from typing import Any

import numpy as np

from labelgraph.gpu.cuda_arrays import Outputs, current_stream, device_of, view


def _library_of(a: Any) -> str:
    module = type(a).__module__.split(".")[0]
    return module if module in ("torch", "cupy") else "labelgraph"


def host_copy(a: Any) -> np.ndarray:
    """A numpy copy of a torch / CuPy GPU array (labels and init are small: validated on the host)."""
    if _library_of(a) == "torch":
        return a.detach().cpu().numpy()
    if _library_of(a) == "cupy":
        return a.get()
    return np.asarray(a)


def propagate_csr_cuda(indptr: np.ndarray, indices: np.ndarray, values: np.ndarray, labels: np.ndarray, n_classes: int,
                       max_iter: int, alpha: float | None, init: np.ndarray | None, like: Any = None
                       ) -> tuple[Any, Any, Any, bool]:
    """Run ``max_iter`` propagation steps on the GPU over a normalised CSR operator (validated by the caller).

    Args:
        indptr, indices, values: ``[n + 1]`` int64, ``[nnz]`` int32, ``[nnz]`` float32 host arrays
            (the operator :class:`~labelgraph.LabelPropagator` builds, in caller row order), or GPU
            arrays of those dtypes (used without a copy).
        labels: ``[n]`` int32, -1 unlabeled.
        n_classes: classes (columns of the result).
        max_iter: iterations, all run (no tolerance test on the GPU).
        alpha: None (clamped) or the Zhou et al. alpha in (0, 1).
        init: ``[n, n_classes]`` float32 initial scores or None.
        like: a torch / CuPy GPU array: results are that library's arrays on its device and stream;
            None: numpy results.

    Returns:
        ``(soft [n, c] float32, hard [n] int64, unreached [n] bool, finite)``.
    """
    library = _library_of(like) if like is not None else "labelgraph"
    device = device_of(like) if like is not None else 0
    out = Outputs(library, device, current_stream(library, device))
    out._cuda.set_device(device)
    n = int(labels.shape[0])
    keep = []  # uploaded inputs, alive until the kernel has run

    def on_device(a: Any, name: str, dtype: Any) -> int:
        if a is None:
            return 0
        if hasattr(a, "__cuda_array_interface__"):
            return view(a, name, dtype).ptr
        array, ptr = out.upload(np.ascontiguousarray(a, dtype=dtype))
        keep.append(array)
        return ptr

    pointers = [on_device(a, name, dt) for a, name, dt in ((indptr, "indptr", np.int64), (indices, "indices", np.int32),
                                                           (values, "values", np.float32), (labels, "labels", np.int32),
                                                           (init, "init", np.float32))]
    work = out._cuda.DeviceBuffer(int(out._cuda.propagate_work_floats(n, n_classes)) * 4)
    soft, soft_ptr = out.empty((n, n_classes), np.float32)
    hard, hard_ptr = out.empty((n,), np.int64)
    unreached, unreached_ptr = out.empty((n,), np.uint8)
    finite = out._cuda.propagate_csr(pointers[0], pointers[1], pointers[2], n, pointers[3], n_classes, pointers[4],
                                     max_iter, -1.0 if alpha is None else float(alpha), work.ptr, soft_ptr, hard_ptr,
                                     unreached_ptr, out.stream)
    unreached = out.to_host(unreached)
    unreached = unreached.bool() if library == "torch" else unreached.astype(bool)
    return out.to_host(soft), out.to_host(hard), unreached, bool(finite)


def propagate_with_cuda(graph: Any, labels: Any, *, max_iter: int, temperature: Any, symmetrize: str,
                        normalization: str, reorder: str | None, alpha: float | None, tol: float,
                        n_classes: int | None, init: Any, progress: Any, n_threads: int | None) -> Any:
    """``labelgraph.propagate(..., device="cuda")``: the operator is built on the CPU
    (:class:`~labelgraph.LabelPropagator`, caller order), the iterations run on the GPU.

    Results are numpy arrays, or the arrays of ``labels``' library (torch / CuPy) on its device
    when ``labels`` is a GPU array.
    """
    from labelgraph._dispatch import is_cuda_array
    from labelgraph._validation import propagation_call
    from labelgraph.propagation import LabelPropagator, PropagationResult

    if tol != 0:
        raise ValueError(f"tol={tol} is not supported with device='cuda' yet: all max_iter iterations run; "
                         "pass tol=0")
    if progress is not None:
        raise ValueError("progress is not reported with device='cuda' (the iterations run in one GPU call); pass None")
    if reorder not in ("auto", None):
        raise ValueError(f"reorder={reorder!r} is not applied with device='cuda' (the GPU gathers in the caller's "
                         "order); pass reorder='auto' or None")
    like = labels if is_cuda_array(labels) else None
    propagator = LabelPropagator(graph, temperature, symmetrize=symmetrize, normalization=normalization, reorder=None,
                                 n_threads=n_threads)
    host_labels, max_iter, alpha, _, n_classes, init = propagation_call(
        host_copy(labels), propagator.n, max_iter, alpha, tol, n_classes, None if init is None else host_copy(init))
    soft, hard, unreached, finite = propagate_csr_cuda(
        propagator._indptr, propagator._indices, propagator._values, host_labels.astype(np.int32), n_classes, max_iter,
        alpha, init, like)
    if not finite:
        raise ValueError("propagation diverged (inf in the scores): with a non-symmetric graph the symmetric "
                         "operator can amplify; pass symmetrize='max' or 'mean', or normalization='row'")
    return PropagationResult(soft, hard, unreached, max_iter, False)
