"""Bad input exits with 2 and one line `labelgraph <command>: <file>: <problem>`, leaving no output behind."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from cli_files import N_ROWS, UserFiles, assert_input_error, run_cli, without_torch


def assert_nothing_written(folder: Path) -> None:
    """Neither the output nor a temporary file that could pass for it."""
    assert list(folder.iterdir()) == [], list(folder.iterdir())


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def test_missing_embeddings(tmp_path: Path, out_dir: Path) -> None:
    missing = tmp_path / "nope.npy"
    assert_input_error(run_cli("graph", missing, "-o", out_dir / "g.npz"), "graph", missing, "no such file")
    assert_nothing_written(out_dir)


def test_missing_labels(user_files: UserFiles, tmp_path: Path, out_dir: Path) -> None:
    missing = tmp_path / "labels.csv"
    done = run_cli("propagate", user_files.embeddings, "--labels", missing, "-o", out_dir / "p.csv")
    assert_input_error(done, "propagate", missing, "no such file")
    assert_nothing_written(out_dir)


@pytest.mark.parametrize("shape", [(N_ROWS,), (N_ROWS, 2, 2)])
def test_embeddings_of_the_wrong_shape(tmp_path: Path, out_dir: Path, shape: tuple[int, ...]) -> None:
    bad = tmp_path / "flat.npy"
    np.save(bad, np.ones(shape, dtype=np.float32))
    assert_input_error(run_cli("graph", bad, "-o", out_dir / "g.npz"), "graph", bad, "must be 2-D")
    assert_nothing_written(out_dir)


def test_images_of_the_wrong_shape(tmp_path: Path, out_dir: Path) -> None:
    bad = tmp_path / "images.npy"
    np.save(bad, np.zeros((4, 8, 8, 5), dtype=np.uint8))
    assert_input_error(run_cli("embed", bad, "-o", out_dir / "e.npy", "--no-train"), "embed", bad, "[N, H, W]")
    assert_nothing_written(out_dir)


def test_labels_shorter_than_the_embeddings(user_files: UserFiles, tmp_path: Path, out_dir: Path) -> None:
    short = tmp_path / "short.npy"
    np.save(short, np.load(user_files.labels_npy)[:-1])
    done = run_cli("propagate", user_files.embeddings, "--labels", short, "-o", out_dir / "p.csv")
    assert_input_error(done, "propagate", short, f"has {N_ROWS - 1} labels but {user_files.embeddings} has {N_ROWS} rows")
    assert_nothing_written(out_dir)


def test_labels_csv_longer_than_the_graph(user_files: UserFiles, tmp_path: Path, out_dir: Path) -> None:
    long = tmp_path / "long.csv"
    long.write_text(user_files.labels_csv.read_text() + "extra.png,one\n")
    done = run_cli("audit", user_files.embeddings, "--labels", long, "-o", out_dir / "a.csv")
    assert_input_error(done, "audit", long, f"has {N_ROWS + 1} labels")
    assert_nothing_written(out_dir)


def test_unknown_class_name(user_files: UserFiles, out_dir: Path) -> None:
    done = run_cli("propagate", user_files.embeddings, "--labels", user_files.labels_csv, "--classes", "zero,one,two",
                   "-o", out_dir / "p.csv")
    assert_input_error(done, "propagate", user_files.labels_csv, "unknown class name 'four' on line 6")
    assert_nothing_written(out_dir)


def test_nan_embeddings(user_files: UserFiles, tmp_path: Path, out_dir: Path) -> None:
    bad = tmp_path / "nan.npy"
    X = np.load(user_files.embeddings)
    X[[5, 9]] = np.nan
    np.save(bad, X)
    done = run_cli("audit", bad, "--labels", user_files.labels_csv, "-o", out_dir / "a.csv")
    assert_input_error(done, "audit", bad, "2 rows contain NaN or inf (rows 5, 9)")
    assert_nothing_written(out_dir)


def test_output_folder_that_cannot_exist(user_files: UserFiles, tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    target = blocker / "graph.npz"
    assert_input_error(run_cli("graph", user_files.embeddings, "-o", target), "graph", target, "cannot write here")
    report = blocker / "report"
    assert_input_error(run_cli("demo", "--dataset", "digits", "--no-train", "--report", report), "demo", report,
                       "cannot write here")
    assert blocker.read_text() == "not a folder"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_output_folder(user_files: UserFiles, out_dir: Path) -> None:
    out_dir.chmod(0o555)
    try:
        target = out_dir / "graph.npz"
        assert_input_error(run_cli("graph", user_files.embeddings, "-o", target), "graph", target, "cannot write here")
    finally:
        out_dir.chmod(0o755)
    assert_nothing_written(out_dir)


def test_not_a_npy_file(tmp_path: Path, out_dir: Path) -> None:
    bad = tmp_path / "broken.npy"
    bad.write_text("hello")
    assert_input_error(run_cli("graph", bad, "-o", out_dir / "g.npz"), "graph", bad,
                       "is a text file (it starts with 'hello'), not .npy; write the array with numpy.save")
    assert_nothing_written(out_dir)


def test_simulate_needs_every_label(user_files: UserFiles, out_dir: Path) -> None:
    done = run_cli("simulate", user_files.embeddings, "--labels", user_files.labels_csv, "-o", out_dir / "c.json")
    assert_input_error(done, "simulate", user_files.labels_csv, "rows have no label")
    assert_nothing_written(out_dir)


def test_existing_output_survives_a_failed_run(user_files: UserFiles, tmp_path: Path, out_dir: Path) -> None:
    """A failure after the output was checked must not truncate or replace an earlier result."""
    target = out_dir / "p.csv"
    target.write_text("earlier result\n")
    short = tmp_path / "short.npy"
    np.save(short, np.zeros(3, dtype=np.int64))
    assert run_cli("propagate", user_files.embeddings, "--labels", short, "-o", target).returncode == 2
    assert target.read_text() == "earlier result\n" and [p.name for p in out_dir.iterdir()] == ["p.csv"]


def test_k_larger_than_the_rows(user_files: UserFiles, out_dir: Path) -> None:
    done = run_cli("graph", user_files.embeddings, "-o", out_dir / "g.npz", "--k", N_ROWS)
    assert_input_error(done, "graph", user_files.embeddings, f"--k {N_ROWS} is too large")
    assert_nothing_written(out_dir)


def test_smoothing_steps_negative_or_for_another_method(user_files: UserFiles, out_dir: Path) -> None:
    done = run_cli("select", user_files.embeddings, "-n", 5, "--method", "typiclust", "--smoothing-steps", -1,
                   "-o", out_dir / "picks.csv")
    assert_input_error(done, "select", "--smoothing-steps", "must be an integer >= 0; got -1")
    assert_nothing_written(out_dir)
    done = run_cli("select", user_files.embeddings, "-n", 5, "--method", "kmeans", "--smoothing-steps", 2,
                   "-o", out_dir / "picks.csv")
    assert_input_error(done, "select", "--smoothing-steps", "applies to --method typiclust, not kmeans")
    assert_nothing_written(out_dir)



def test_select_tune_applies_to_single_label_next_batches(user_files: UserFiles) -> None:
    done = run_cli("select", user_files.embeddings, "-n", 5, "--tune", "-o", user_files.folder / "x.csv")
    assert_input_error(done, "select", "--tune", "applies to the next batch")
    done = run_cli("select", user_files.embeddings, "--labels", user_files.labels_csv, "-n", 5, "--tune",
                   "--temperature", 0.1, "-o", user_files.folder / "x.csv")
    assert_input_error(done, "select", "--tune", "drop --temperature")
    done = run_cli("select", user_files.embeddings, "-n", 5, "--no-tune", "-o", user_files.folder / "x.csv")
    assert_input_error(done, "select", "--no-tune", "applies to the next batch")


def test_missing_torch_is_exit_3_not_a_traceback(user_files: UserFiles, tmp_path: Path, out_dir: Path) -> None:
    """BYOL without the ssl extra says what to install (the demo's fallback is tested in test_commands)."""
    done = run_cli("embed", user_files.images, "-o", out_dir / "e.npy", env=without_torch(tmp_path / "hide"))
    assert done.returncode == 3, done.stderr
    assert done.stderr.strip() == ("labelgraph embed: BYOL needs torch and timm, which are not installed; "
                                   "pip install 'labelgraph[ssl]', or pass --no-train for pixel features")
    assert_nothing_written(out_dir)


def test_fashion_mnist_asked_for_but_absent(tmp_path: Path, out_dir: Path) -> None:
    env = dict(os.environ, LABELGRAPH_FASHION_MNIST=str(tmp_path / "no-such-folder"))
    done = run_cli("demo", "--dataset", "fashion-mnist", "--no-train", "--report", out_dir / "report", env=env)
    assert_input_error(done, "demo", "--dataset fashion-mnist", str(tmp_path / "no-such-folder"))
    assert "apt-get install -y dataset-fashion-mnist" in done.stderr
    assert_nothing_written(out_dir)
