"""Reading blocks of rows from a .npy file (or any array) into a reused buffer.

A memory-mapped array read through its mapping leaves every page it touched resident in this
process (counted in its RSS) until the kernel needs the memory back. Reading the file with
``readinto`` instead goes through the page cache, which no process is charged for, so the
process's own memory stays at the buffers it allocated.
"""

from __future__ import annotations

import mmap
import os
from typing import Any

import numpy as np


class RowReader:
    """Rows ``[begin, end)`` of an ``[n, d]`` matrix on disk or in memory, as numpy arrays.

    Args:
        source: a path to a C-order .npy file, a memory map of one (``np.load(path, mmap_mode='r')``,
            read from the file), or any 2-D numpy array (sliced).
    """

    def __init__(self, source: Any) -> None:
        self._path: str | None = None
        self._array: np.ndarray | None = None
        if isinstance(source, (str, os.PathLike)):
            self._path = os.fspath(source)
            shape, fortran, dtype, self._offset = _npy_header(self._path)
            if fortran:
                raise ValueError(f"{self._path} stores a Fortran-order array; save it in C order "
                                 "(np.save(path, np.ascontiguousarray(X)))")
            self.shape, self.dtype = tuple(shape), np.dtype(dtype)
            _check_length(self._path, self._offset, self.shape, self.dtype)
        elif isinstance(source, np.memmap) and isinstance(source.base, mmap.mmap) and source.flags.c_contiguous \
                and source.filename is not None:
            # A memmap as np.load made it (not a view of one): its own file offset is known.
            self._path, self._offset = source.filename, int(source.offset)
            self.shape, self.dtype = source.shape, source.dtype
        elif isinstance(source, np.ndarray):
            self._array = source
            self.shape, self.dtype = source.shape, source.dtype
        else:
            raise TypeError(f"X must be a numpy array, a memory-mapped .npy or a path to one; got {type(source).__name__}")

    @property
    def where(self) -> str:
        """For error messages: `` in '<path>'`` when reading a file, else ``""``."""
        return "" if self._path is None else f" in {self._path!r}"

    @property
    def from_file(self) -> bool:
        """True when rows are read from the file, not through a mapping or from memory."""
        return self._path is not None

    def read(self, begin: int, end: int, out: np.ndarray | None = None) -> np.ndarray:
        """Rows ``[begin, end)``; into ``out`` (its first ``end - begin`` rows) when given."""
        rows = end - begin
        if self._array is not None:
            block = self._array[begin:end]
            if out is None:
                return np.array(block)
            out[:rows] = block
            return out[:rows]
        d = int(np.prod(self.shape[1:]))
        buf = out[:rows] if out is not None else np.empty((rows,) + tuple(self.shape[1:]), self.dtype)
        view = memoryview(buf.reshape(-1).view(np.uint8))
        with open(self._path, "rb", buffering=0) as f:  # type: ignore[arg-type]
            f.seek(self._offset + begin * d * self.dtype.itemsize)
            done = 0
            while done < view.nbytes:
                got = f.readinto(view[done:])
                if not got:
                    raise ValueError(f"{self._path} ended early: rows {begin}..{end} are not all in the file")
                done += got
        return buf


def _npy_header(path: str) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """``(shape, fortran_order, dtype, data offset)`` of a .npy file; ValueError naming ``path`` if it is not one."""
    with open(path, "rb") as f:
        start = f.read(6)
        f.seek(0)
        if start != b"\x93NUMPY":
            what = "a zip archive (.npz?)" if start.startswith(b"PK") else "not a .npy file"
            raise ValueError(f"X = {path!r} is {what}; a path must be a .npy file written by numpy.save "
                             "of an [n, d] float array")
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        except (ValueError, EOFError) as error:  # numpy's message names no file
            raise ValueError(f"X = {path!r} has an unreadable .npy header ({error}); a path must be a .npy file "
                             "written by numpy.save of an [n, d] float array") from None
        return tuple(shape), bool(fortran), np.dtype(dtype), f.tell()


def _check_length(path: str, offset: int, shape: tuple[int, ...], dtype: np.dtype) -> None:
    """A truncated file fails here, naming it, not after minutes of blocks."""
    if dtype.hasobject:
        return  # the caller rejects the dtype with its own message
    need = offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    have = os.path.getsize(path)
    if have < need:
        raise ValueError(f"X = {path!r} is truncated: its header says shape {shape} {dtype} ({need} bytes) but the "
                         f"file has {have} bytes; write it again with numpy.save")
