"""`--multilabel` on propagate, audit, select and simulate: label sets in and out, one-line errors naming the file."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from labelgraph.cli import main
from labelgraph.datasets import synthetic_multilabel

NAMES = ["cat", "dog", "car", "sky"]


def run(capsys, *args):
    capsys.readouterr()
    try:
        code = main([str(a) for a in args])
    except SystemExit as exit_info:
        code = exit_info.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ml")
    X, Y = synthetic_multilabel(300, 4, 16, random_state=5)
    np.save(folder / "X.npy", X)
    rng = np.random.default_rng(0)
    known = rng.random(300) < 0.25
    cells = [";".join(NAMES[j] for j in np.flatnonzero(row)) or "-" for row in Y]
    for name, mask in (("some.csv", known), ("all.csv", np.ones(300, bool))):
        with open(folder / name, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["id", "label"])
            writer.writerows([f"r{i}", cell if k else ""] for i, (cell, k) in enumerate(zip(cells, mask)))
    npy = np.where(known[:, None], Y.astype(np.int8), -1)
    np.save(folder / "some.npy", npy)
    return folder, Y, known


def read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_propagate_writes_sets(capsys, files):
    folder, Y, known = files
    code, out, err = run(capsys, "propagate", folder / "X.npy", "--labels", folder / "some.csv", "--multilabel",
                         "-o", folder / "sets.csv", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["multilabel"] and summary["labeled"] == known.sum()
    rows = read(folder / "sets.csv")
    assert len(rows) == 300 and rows[0].keys() == {"id", "labels", "confidence", "given"}
    classes = sorted(NAMES)
    got = np.array([[name in (r["labels"].split(";") if r["labels"] != "-" else []) for name in classes]
                    for r in rows])
    truth = Y[:, [NAMES.index(c) for c in classes]]
    np.testing.assert_array_equal(got[known], truth[known])  # given sets are kept
    assert (got[~known] == truth[~known]).mean() > 0.85
    # the same labels as a 0/1 .npy (-1 rows unlabeled) give the same sets, written as a matrix
    code, _, err = run(capsys, "propagate", folder / "X.npy", "--labels", folder / "some.npy", "--multilabel",
                       "-o", folder / "sets.npy")
    assert code == 0, err
    matrix = np.load(folder / "sets.npy")
    assert matrix.shape == (300, 4) and matrix.dtype == np.uint8
    np.testing.assert_array_equal(matrix[known], Y[known])


def test_audit_select_simulate(capsys, files, tmp_path):
    folder, _, known = files
    code, out, err = run(capsys, "audit", folder / "X.npy", "--labels", folder / "all.csv", "--multilabel",
                         "--entry-filter", "threshold", "-o", tmp_path / "audit.csv", "--json")
    assert code == 0, err
    rows = read(tmp_path / "audit.csv")
    assert len(rows) == 300 and {"missing", "spurious", "suggested"} <= rows[0].keys()
    assert [float(r["score"]) for r in rows] == sorted((float(r["score"]) for r in rows), reverse=True)
    code, out, err = run(capsys, "select", folder / "X.npy", "--labels", folder / "some.csv", "--multilabel",
                         "-n", 7, "-o", tmp_path / "next.csv", "--json")
    assert code == 0, err
    picks = json.loads(out)["selected"]
    assert len(set(picks)) == 7 and not known[picks].any()
    code, out, err = run(capsys, "simulate", folder / "X.npy", "--labels", folder / "all.csv", "--multilabel",
                         "--max-labels", 30, "--noise", 0.2, "-o", tmp_path / "sim.json", "--report",
                         tmp_path / "report", "--json")
    assert code == 0, err
    result = json.loads((tmp_path / "sim.json").read_text())
    assert set(result["active_learning"]["micro_f1"]) == {"reach_uncertainty", "uncertainty", "random"}
    assert {row["class"] for row in result["per_class"]} == set(NAMES)
    assert result["noise"][0]["auroc"] > 0.8
    page = (tmp_path / "report" / "index.html").read_text()
    assert "Per-class precision and recall" in page and "recall" in page


@pytest.mark.parametrize("extra, where, problem", [
    (["--label-delimiter", ","], "--label-delimiter", "applies with --multilabel"),
    (["--multilabel", "--tune"], "--tune", "single labels"),
    (["--multilabel", "--class-prior", "uniform"], "--class-prior", "single labels"),
])
def test_option_errors(capsys, files, tmp_path, extra, where, problem):
    folder, _, _ = files
    code, out, err = run(capsys, "propagate", folder / "X.npy", "--labels", folder / "some.csv", *extra,
                         "-o", tmp_path / "o.csv")
    assert code == 2 and out == ""
    assert err.strip().startswith(f"labelgraph propagate: {where}: ") and problem in err


def test_bad_label_files(capsys, files, tmp_path):
    folder, _, _ = files
    bad = tmp_path / "bad.csv"
    bad.write_text("id,label\na,cat;;dog\n")
    code, _, err = run(capsys, "audit", folder / "X.npy", "--labels", bad, "--multilabel", "-o", tmp_path / "a.csv")
    assert code == 2 and f"{bad}: line 2" in err and len(err.strip().splitlines()) == 1
    np.save(tmp_path / "bad.npy", np.full((300, 2), 2))
    code, _, err = run(capsys, "propagate", folder / "X.npy", "--labels", tmp_path / "bad.npy", "--multilabel",
                       "-o", tmp_path / "o.csv")
    assert code == 2 and "only 0 and 1" in err
    code, _, err = run(capsys, "simulate", folder / "X.npy", "--labels", folder / "some.csv", "--multilabel",
                       "-o", tmp_path / "s.json")
    assert code == 2 and "no label set" in err
    code, _, err = run(capsys, "select", folder / "X.npy", "--labels", folder / "some.csv", "--strategy",
                       "reach_uncertainty", "-n", 3, "-o", tmp_path / "n.csv")
    assert code == 2 and "--multilabel" in err
