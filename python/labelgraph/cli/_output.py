"""Writing results so that nothing half-written looks complete: temp file or folder, then rename."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from labelgraph.cli._errors import InputError, one_line


def writable_output(path: str | Path, *, folder: bool = False) -> Path:
    """Check early (before any long step) that ``path`` can be written; create its parent folder.

    A probe file is created and removed in the target folder, because permission bits do not tell
    the truth for root or read-only mounts.
    """
    path = Path(path)
    if folder and path.exists() and not path.is_dir():
        raise InputError("exists and is not a folder", path)
    if not folder and path.is_dir():
        raise InputError("is a folder; give a file name", path)
    parent = path.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.probe-", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        raise InputError(f"cannot write here ({one_line(error.strerror or str(error))} in {parent})", path) from None
    return path


@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix); on success rename it onto ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.partial-", suffix=path.suffix, dir=path.absolute().parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_folder(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces ``path`` (an old folder is removed)."""
    path = Path(path)
    parent = path.absolute().parent
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.partial-", dir=parent))
    try:
        yield tmp
        old = None
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=parent))
            os.replace(path, old / path.name)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_csv(path: str | Path, header: Iterable[str], rows: Iterable[Iterable[Any]]) -> None:
    """CSV with a header row, written atomically."""
    with atomic_file(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(list(header))
        writer.writerows(rows)


def write_npy(path: str | Path, array: np.ndarray) -> None:
    """``numpy.save`` atomically."""
    with atomic_file(path) as tmp, open(tmp, "wb") as f:
        np.save(f, array)


def write_json(path: str | Path, value: Any) -> None:
    """Indented JSON, written atomically."""
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(value, indent=1) + "\n")
