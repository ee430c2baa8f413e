"""Where each call runs. The one dispatch point between the CPU kernels and the CUDA kernels."""

from __future__ import annotations

from typing import Any

from labelgraph import _core

CUDA_MISSING = "labelgraph was built without CUDA; reinstall with a CUDA toolkit (LABELGRAPH_CUDA=ON) or use device='cpu'"


def is_cuda_array(a: Any) -> bool:
    """True for arrays that live on a GPU (torch, CuPy, anything with __cuda_array_interface__)."""
    return hasattr(a, "__cuda_array_interface__")


def resolve_device(device: str, *arrays: Any, cuda_kernels: bool = False) -> str:
    """Return "cpu" or "cuda" for a call, or raise if that device cannot be used.

    ``cuda_kernels``: the operation has CUDA kernels (labelgraph.gpu); without them "cuda" raises.
    """
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda'; got {device!r}")
    on_gpu = any(is_cuda_array(a) for a in arrays)
    wanted = "cuda" if device == "cuda" or (device == "auto" and on_gpu) else "cpu"
    if wanted == "cuda":
        info = _core.build_info()
        if not info["cuda_compiled"]:
            raise RuntimeError(CUDA_MISSING)
        if not cuda_kernels:
            raise RuntimeError("the CUDA kernels of this operation are not part of this build yet; pass numpy "
                               "arrays and device='cpu'")
        if not info["gpu_available"]:
            raise RuntimeError(f"device='cuda' needs a usable CUDA GPU; none was found ({info['cuda_error']})")
        return "cuda"
    if on_gpu:
        raise TypeError("got a GPU array with device='cpu'; copy it to the host first (e.g. tensor.cpu().numpy())")
    return wanted
