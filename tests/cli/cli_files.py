"""Files a user would hand the command (digits embeddings, labels with class names) and a subprocess runner."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from labelgraph import datasets

N_ROWS = 600  # small enough that every command finishes in a few seconds
CLASS_NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def run_cli(*args: object, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m labelgraph ARGS`` as a user would run it (not a TTY: no progress bars)."""
    return subprocess.run([sys.executable, "-m", "labelgraph", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env)


def run_in_process(capsys: pytest.CaptureFixture[str], *args: object) -> subprocess.CompletedProcess:
    """``labelgraph ARGS`` in this process (no interpreter start-up): for the many bad-input cases."""
    from labelgraph.cli import main

    capsys.readouterr()
    try:
        code = main([str(a) for a in args])
    except SystemExit as exit_info:  # argparse: usage errors and --help
        code = exit_info.code
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(["labelgraph", *map(str, args)], code, out, err)


def assert_input_error(done: subprocess.CompletedProcess, command: str, file: Path | str, problem: str) -> None:
    """Exit 2, nothing on stdout, one line ``labelgraph <command>: <file or option>: ...`` containing ``problem``."""
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"labelgraph {command}: {file}: "), lines[0]
    assert problem in lines[0], lines[0]
    assert done.stdout == ""


def without_torch(folder: Path) -> dict[str, str]:
    """An environment in which ``import torch`` and ``import timm`` fail, as on a machine without the ssl extra."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(
        "import sys, importlib.abc\n"
        "class HideTorch(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('torch', 'timm'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "        return None\n"
        "sys.meta_path.insert(0, HideTorch())\n")
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")])))


@dataclass(frozen=True)
class UserFiles:
    folder: Path
    embeddings: Path  # [600, 64] float32 .npy
    images: Path  # [600, 8, 8] uint8 .npy
    labels_csv: Path  # id,label with class names; every third row unlabeled
    labels_npy: Path  # int labels, -1 for the same unlabeled rows
    truth_csv: Path  # every row labeled (simulations)
    y: np.ndarray


@pytest.fixture(scope="session")
def user_files(tmp_path_factory: pytest.TempPathFactory) -> UserFiles:
    folder = tmp_path_factory.mktemp("user")
    images, y = datasets.load_digits_images()
    images, y = images[:N_ROWS], y[:N_ROWS]
    X = datasets.pixel_embeddings(images)
    keep = X.any(axis=1)
    assert keep.all()
    np.save(folder / "embeddings.npy", X)
    np.save(folder / "images.npy", images)
    given = np.where(np.arange(N_ROWS) % 3 == 0, -1, y)
    np.save(folder / "labels.npy", given)
    with open(folder / "labels.csv", "w") as f:
        f.write("id,label\n")
        f.writelines(f"img{i:04d}.png,{CLASS_NAMES[c] if c >= 0 else ''}\n" for i, c in enumerate(given))
    with open(folder / "truth.csv", "w") as f:
        f.write("id,label\n")
        f.writelines(f"img{i:04d}.png,{CLASS_NAMES[c]}\n" for i, c in enumerate(y))
    return UserFiles(folder, folder / "embeddings.npy", folder / "images.npy", folder / "labels.csv",
                     folder / "labels.npy", folder / "truth.csv", y)
