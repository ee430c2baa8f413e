"""Every subcommand driven as a user would (subprocess) on small digits files: outputs, --json, --quiet, --help."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from cli_files import CLASS_NAMES, N_ROWS, UserFiles, run_cli, without_torch

import labelgraph
from labelgraph.cli import main
from labelgraph.workflows import typiclust_select

COMMANDS = ("demo", "embed", "graph", "propagate", "select", "audit", "simulate", "bench")


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def ok_json(*args: object, env: dict[str, str] | None = None) -> dict:
    done = run_cli(*args, "--json", env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # stdout holds the summary and nothing else


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_an_example(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "examples:" in text and f"labelgraph {command}" in text


def test_help_from_the_shell() -> None:
    done = run_cli("--help")
    assert done.returncode == 0 and all(command in done.stdout for command in COMMANDS)


def test_graph_writes_a_scipy_knn_graph(user_files: UserFiles, tmp_path: Path) -> None:
    out = tmp_path / "graph.npz"
    summary = ok_json("graph", user_files.embeddings, "-o", out, "--k", 7)
    graph = sp.load_npz(out)
    assert graph.shape == (N_ROWS, N_ROWS) and graph.nnz == N_ROWS * 7
    assert summary["command"] == "graph" and summary["k"] == 7 and summary["output"] == str(out)
    assert graph.diagonal().sum() == 0  # self excluded


def test_propagate_keeps_class_names_and_writes_confidence(user_files: UserFiles, tmp_path: Path) -> None:
    graph = tmp_path / "graph.npz"
    assert run_cli("graph", user_files.embeddings, "-o", graph).returncode == 0
    out = tmp_path / "pseudo.csv"
    summary = ok_json("propagate", graph, "--labels", user_files.labels_csv, "-o", out)
    rows = read_csv(out)
    assert len(rows) == N_ROWS and rows[0]["id"] == "img0000.png"
    assert {r["label"] for r in rows} <= set(CLASS_NAMES) | {""}
    accuracy = np.mean([r["label"] == CLASS_NAMES[c] for r, c in zip(rows, user_files.y)])
    assert accuracy > 0.9  # two thirds of the digits labeled
    assert all(0.0 <= float(r["confidence"]) <= 1.0 for r in rows)
    assert all(r["label"] == r["given"] for r in rows if r["given"])  # clamped: given labels kept
    assert summary["classes"] == sorted(CLASS_NAMES)


def test_propagate_from_embeddings_to_npy(user_files: UserFiles, tmp_path: Path) -> None:
    out = tmp_path / "pseudo.npy"
    summary = ok_json("propagate", user_files.embeddings, "--labels", user_files.labels_npy, "-o", out)
    table = np.load(out)
    assert table.dtype.names == ("label", "confidence") and table.shape == (N_ROWS,)
    assert np.mean(table["label"] == user_files.y) > 0.9
    assert summary["unreached"] == 0


def test_propagate_class_prior_matches_the_library(user_files: UserFiles, tmp_path: Path) -> None:
    from labelgraph.class_mass import class_mass_normalize

    out = tmp_path / "pseudo.npy"
    summary = ok_json("propagate", user_files.embeddings, "--labels", user_files.labels_npy, "-o", out,
                      "--alpha", 0.9, "--class-prior", "uniform", "--k", 10, "--no-tune", "--temperature", 0.02)
    assert summary["class_prior"] == "uniform"
    X = np.load(user_files.embeddings)
    y = np.load(user_files.labels_npy)
    result = labelgraph.LabelPropagator(labelgraph.knn_graph(X, 10), 0.02).propagate(
        y, 100, alpha=0.9, tol=1e-5, n_classes=int(y.max()) + 1)
    want = class_mass_normalize(result, "uniform")
    np.testing.assert_array_equal(np.load(out)["label"], want.labels)


def test_select_cold_start_methods(user_files: UserFiles, tmp_path: Path) -> None:
    for method in ("centre_typical", "usl", "typiclust", "kmeans", "random"):
        out = tmp_path / f"{method}.csv"
        summary = ok_json("select", user_files.embeddings, "-n", 12, "--method", method, "-o", out)
        rows = read_csv(out)
        assert [int(r["rank"]) for r in rows] == list(range(12))
        assert len({r["index"] for r in rows}) == 12 and summary["selected"] == [int(r["index"]) for r in rows]


def test_select_typiclust_on_graph_smoothed_embeddings(user_files: UserFiles, tmp_path: Path) -> None:
    out = tmp_path / "smoothed.csv"
    summary = ok_json("select", user_files.embeddings, "-n", 12, "--method", "typiclust", "--smoothing-steps", 2,
                      "--k", 8, "-o", out)
    X = np.load(user_files.embeddings)
    want = typiclust_select(X, 12, graph=labelgraph.knn_graph(X / np.linalg.norm(X, axis=1, keepdims=True), 8),
                            smoothing_steps=2)
    assert summary["selected"] == want.tolist()


def test_select_next_batch_skips_labeled_rows(user_files: UserFiles, tmp_path: Path) -> None:
    out = tmp_path / "next.csv"
    ok_json("select", user_files.embeddings, "--labels", user_files.labels_csv, "-n", 10, "--strategy", "margin", "-o", out)
    rows = read_csv(out)
    assert len(rows) == 10
    assert all(int(r["index"]) % 3 == 0 for r in rows)  # only the unlabeled rows can be asked for
    assert rows[0]["id"] == f"img{int(rows[0]['index']):04d}.png"
    ok_json("select", user_files.embeddings, "--labels", user_files.labels_csv, "-n", 5, "--strategy", "typiclust",
            "-o", out)
    assert len(read_csv(out)) == 5 and all(int(r["index"]) % 3 == 0 for r in read_csv(out))


def test_select_next_batch_tunes_by_default_on_a_graph_built_at_k30(user_files: UserFiles, tmp_path: Path) -> None:
    runs = {}
    for name, extra in {"default": (), "tune": ("--tune", "--k", 30), "no-tune": ("--no-tune",),
                        "no-tune k10": ("--no-tune", "--k", 10)}.items():
        out = tmp_path / f"{name}.csv"
        runs[name] = ok_json("select", user_files.embeddings, "--labels", user_files.labels_csv, "-n", 10,
                             "--strategy", "reach_margin", "-o", out, *extra)["selected"]
    assert runs["default"] == runs["tune"]
    assert runs["no-tune"] == runs["no-tune k10"]  # without the search the graph keeps the default k


def test_audit_ranks_flipped_labels_first(user_files: UserFiles, tmp_path: Path) -> None:
    noisy = user_files.folder / "noisy.csv"
    flipped = set(range(0, N_ROWS, 20))
    with open(noisy, "w") as f:
        f.write("id,label\n")
        f.writelines(f"img{i},{CLASS_NAMES[(c + 1) % 10] if i in flipped else CLASS_NAMES[c]}\n"
                     for i, c in enumerate(user_files.y))
    out = tmp_path / "suspicious.csv"
    summary = ok_json("audit", user_files.embeddings, "--labels", noisy, "-o", out)
    rows = read_csv(out)
    assert len(rows) == N_ROWS and summary["audited"] == N_ROWS
    top = {int(r["index"]) for r in rows[:len(flipped)]}
    assert len(top & flipped) >= 0.8 * len(flipped)
    assert rows[0]["given"] in CLASS_NAMES and rows[0]["suggested"] in CLASS_NAMES
    flagged = tmp_path / "flagged.csv"
    assert run_cli("audit", user_files.embeddings, "--labels", noisy, "--flagged-only", "-o", flagged).returncode == 0
    assert all(r["flagged"] == "1" for r in read_csv(flagged))


def test_simulate_writes_curves(user_files: UserFiles, tmp_path: Path) -> None:
    out = tmp_path / "curves.json"
    summary = ok_json("simulate", user_files.embeddings, "--labels", user_files.truth_csv, "-o", out,
                      "--max-labels", 30, "--budgets", 10, 30, "--noise", 0.2)
    curves = json.loads(out.read_text())
    assert curves["active_learning"]["labels"] == [10, 20, 30]
    assert set(curves["active_learning"]["accuracy"]) == {"typiclust_reach", "reach_margin", "random",
                                                           "least_confidence", "margin", "entropy",
                                                           "cluster_margin", "typiclust"}
    assert curves["cold_start"]["labels"] == [10, 30]
    assert set(curves["cold_start"]["accuracy"]) == {"random", "kmeans_centre", "typiclust", "usl", "typiclust_graph"}
    noise = curves["noise"][0]
    assert noise["wrong_plain"][0] == pytest.approx(0.2, abs=0.01) and noise["recall"] > 0.8
    assert summary["noise"][0]["noise"] == 0.2
    out_csv = tmp_path / "curves.csv"
    assert run_cli("simulate", user_files.embeddings, "--labels", user_files.truth_csv, "-o", out_csv, "--mode",
                   "active", "--max-labels", 20, "--strategies", "random", "margin").returncode == 0
    rows = read_csv(out_csv)
    assert {(r["kind"], r["method"]) for r in rows} == {("active_learning", "random"), ("active_learning", "margin")}


def test_embed_without_training_on_npy_and_folder(user_files: UserFiles, tmp_path: Path) -> None:
    out = tmp_path / "emb.npy"
    summary = ok_json("embed", user_files.images, "-o", out, "--no-train")
    assert np.load(out).shape == (N_ROWS, 64) and summary["features"] == "pixels"
    pil = pytest.importorskip("PIL.Image")
    folder = tmp_path / "photos"
    images = np.load(user_files.images)
    for i in range(6):
        (folder / CLASS_NAMES[i % 2]).mkdir(parents=True, exist_ok=True)
        pil.fromarray(images[i] * 15).save(folder / CLASS_NAMES[i % 2] / f"{i}.png")
    labels = tmp_path / "labels.csv"
    assert run_cli("embed", folder, "-o", tmp_path / "photos.npy", "--no-train", "--labels-out", labels).returncode == 0
    rows = read_csv(labels)
    assert [r["label"] for r in rows] == ["one"] * 3 + ["zero"] * 3 and rows[0]["id"] == "one/1.png"


def test_embed_with_a_short_byol_run(user_files: UserFiles, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("timm")
    images = tmp_path / "few.npy"
    np.save(images, np.load(user_files.images)[:96])
    out = tmp_path / "emb.npy"
    summary = ok_json("embed", images, "-o", out, "--train-minutes", 0.02, "--batch-size", 32)
    E = np.load(out)
    assert E.shape[0] == 96 and summary["features"] == "byol" and summary["steps"] >= 1
    assert np.allclose(np.linalg.norm(E, axis=1), 1.0, atol=1e-4)


def test_bench_prints_ratios(tmp_path: Path) -> None:
    summary = ok_json("bench", "--n", 400, "--d", 16, "--propagate-n", 2000, "--repeat", 1)
    assert summary["knn"]["labelgraph"]["ratio"] == 1.0
    assert "numpy matmul + argpartition" in summary["knn"]
    assert summary["propagation"]["scipy csr @ dense + clamp"]["seconds"] > 0
    text = run_cli("bench", "--n", 400, "--d", 16, "--propagate-n", 2000, "--repeat", 1, "--skip-slow")
    assert text.returncode == 0 and "x" in text.stdout and "scikit-learn" not in text.stdout


def test_quiet_prints_nothing(user_files: UserFiles, tmp_path: Path) -> None:
    done = run_cli("graph", user_files.embeddings, "-o", tmp_path / "g.npz", "--quiet")
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""


def test_demo_without_torch_falls_back_to_pixels_and_writes_the_report(tmp_path: Path) -> None:
    """The README's `pip install . && labelgraph demo` on a machine without the ssl extra (digits, few rows)."""
    out = tmp_path / "report"
    done = run_cli("demo", "--dataset", "digits", "--limit", 500, "--max-labels", 20, "--report", out, "--json",
                   env=without_torch(tmp_path / "hide"))
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == ("labelgraph demo: torch/timm not installed, so no BYOL: using raw pixels "
                                   "(for BYOL: pip install 'labelgraph[ssl]')")
    summary = json.loads(done.stdout)
    assert summary["command"] == "demo" and summary["images"] == 500
    assert summary["report"] == str(out.absolute() / "index.html")
    assert summary["features"] == "pixels (centred, PCA-64, L2) (no BYOL without torch/timm)"
    assert summary["active_learning"]["labels"] == [10, 20]
    assert summary["knn_accuracy"]["pixels (centred, PCA-64, L2)"] > 90
    for name in ("index.html", "results.json", "active_learning.png", "cold_start.png", "noise_curves.png",
                 "audit_pr.png", "suspicious.png"):
        assert (out / name).is_file(), name
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left
