"""GPU arrays in and out of the CUDA kernels: torch and CuPy arrays by ``__cuda_array_interface__``
(zero copy, their device and current stream), numpy arrays by copies, and device outputs allocated
by the caller's own library so they come back as its arrays on its device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from labelgraph import _core
from labelgraph._dispatch import CUDA_MISSING


def cuda_module() -> Any:
    """``labelgraph._core._cuda``, or RuntimeError when this build or machine cannot run it."""
    info = _core.build_info()
    if not info["cuda_compiled"]:
        raise RuntimeError(CUDA_MISSING)
    if not info["gpu_available"]:
        raise RuntimeError(f"device='cuda' needs a CUDA GPU; none is usable ({info['cuda_error']})")
    return _core._cuda


@dataclass
class DeviceMatrix:
    """A C-contiguous device array seen through ``__cuda_array_interface__``; ``owner`` keeps it alive."""

    ptr: int
    shape: tuple[int, ...]
    dtype: np.dtype
    device: int
    stream: int
    library: str  # "torch", "cupy" or "labelgraph" (copied from the host here)
    owner: Any


def _library(a: Any) -> str:
    module = type(a).__module__.split(".")[0]
    return module if module in ("torch", "cupy") else "other"


def device_of(a: Any) -> int:
    """CUDA device index of a GPU array (torch ``.device.index``, CuPy ``.device.id``; else 0)."""
    if _library(a) == "torch":
        return int(a.device.index or 0)
    if _library(a) == "cupy":
        return int(a.device.id)
    return 0


def current_stream(library: str, device: int) -> int:
    """The stream the caller's library is working on (results are ordered after its pending work)."""
    if library == "torch":
        import torch

        return int(torch.cuda.current_stream(device).cuda_stream)
    if library == "cupy":
        import cupy

        return int(cupy.cuda.get_current_stream().ptr)
    return 0


def view(a: Any, name: str, dtype: Any) -> DeviceMatrix:
    """Zero-copy view of a GPU array; TypeError naming ``name`` unless it has ``dtype`` and is C-contiguous."""
    cai = a.__cuda_array_interface__
    want = np.dtype(dtype)
    got = np.dtype(cai["typestr"])
    shape = tuple(int(s) for s in cai["shape"])
    strides = cai.get("strides")
    contiguous = strides is None or tuple(strides) == tuple(
        int(want.itemsize * np.prod(shape[i + 1:], dtype=np.int64)) for i in range(len(shape)))
    if got != want or not contiguous:
        raise TypeError(f"{name} must be a C-contiguous {want} GPU array; got {got} with strides {strides}: pass "
                        f"{name}.contiguous().to(torch.{want}) (torch) or cupy.ascontiguousarray({name}, cupy.{want})")
    library = _library(a)
    device = device_of(a)
    return DeviceMatrix(int(cai["data"][0]), shape, want, device, current_stream(library, device), library, a)


class Outputs:
    """Allocates results in the caller's library (torch / CuPy) on its device, or in labelgraph's own
    device buffers that :meth:`to_host` copies back (numpy callers)."""

    def __init__(self, library: str, device: int, stream: int) -> None:
        self.library, self.device, self.stream = library, device, stream
        self._cuda = cuda_module()

    def empty(self, shape: tuple[int, ...], dtype: Any) -> tuple[Any, int]:
        """``(array, device pointer)`` of a new uninitialised array."""
        dtype = np.dtype(dtype)
        if self.library == "torch":
            import torch

            t = torch.empty(shape, dtype=getattr(torch, "bool" if dtype == np.bool_ else dtype.name),
                            device=f"cuda:{self.device}")
            return t, int(t.data_ptr())
        if self.library == "cupy":
            import cupy

            with cupy.cuda.Device(self.device):
                c = cupy.empty(shape, dtype=dtype)
            return c, int(c.data.ptr)
        buffer = self._cuda.DeviceBuffer(int(np.prod(shape, dtype=np.int64)) * dtype.itemsize)
        return (buffer, shape, dtype), int(buffer.ptr)

    def upload(self, host: np.ndarray) -> tuple[Any, int]:
        """A device copy of ``host`` (C-contiguous)."""
        host = np.ascontiguousarray(host)
        array, ptr = self.empty(host.shape, host.dtype)
        self._cuda.copy_to_device(ptr, host, host.nbytes, self.stream)
        return array, ptr

    def to_host(self, array: Any) -> Any:
        """numpy copy of a labelgraph buffer; a torch / CuPy result is returned as it is."""
        if self.library in ("torch", "cupy"):
            return array
        buffer, shape, dtype = array
        host = np.empty(shape, dtype=dtype)
        self._cuda.copy_to_host(host, buffer.ptr, host.nbytes, self.stream)
        return host

    def from_host(self, host: np.ndarray) -> Any:
        """``host`` as the caller's kind of array: numpy unchanged, torch / CuPy uploaded to the device."""
        if self.library not in ("torch", "cupy"):
            return host
        return self.upload(host)[0]
