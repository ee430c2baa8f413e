"""Files and options a battery of hostile inputs found mishandled: each exits 2 with one line naming the file or option.

Run in this process (``labelgraph.cli.main``) to keep them quick; interrupts and imports need a real process.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from cli_files import CLASS_NAMES, N_ROWS, UserFiles, assert_input_error, run_in_process

import labelgraph
from labelgraph.workflows import random_select


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    return lambda *args: run_in_process(capsys, *args)


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# --- labels CSV --------------------------------------------------------------------------------


def test_utf8_bom_in_a_labels_csv_is_read_as_text(cli, user_files: UserFiles, tmp_path: Path) -> None:
    """Excel writes a BOM; it must not become part of the header (no 'label' column) or of the first id."""
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + user_files.labels_csv.read_bytes())
    assert cli("propagate", user_files.embeddings, "--labels", bom, "-o", tmp_path / "bom_out.csv").returncode == 0
    assert cli("propagate", user_files.embeddings, "--labels", user_files.labels_csv,
               "-o", tmp_path / "plain_out.csv").returncode == 0
    got, want = _rows(tmp_path / "bom_out.csv"), _rows(tmp_path / "plain_out.csv")
    assert got[0]["id"] == "img0000.png"
    assert got == want


def test_utf8_bom_in_a_header_with_label_first(cli, user_files: UserFiles, tmp_path: Path) -> None:
    """label,id: a BOM glued to 'label' used to hide the column (the header check failed)."""
    bom = tmp_path / "label_first.csv"
    lines = user_files.labels_csv.read_text().splitlines()
    swapped = ["label,id"] + [",".join(reversed(line.split(","))) for line in lines[1:]]
    bom.write_text("\n".join(swapped) + "\n", encoding="utf-8-sig")
    out = tmp_path / "out.csv"
    assert cli("propagate", user_files.embeddings, "--labels", bom, "-o", out).returncode == 0
    assert _rows(out)[0]["id"] == "img0000.png"


def test_duplicate_ids_name_the_id_and_its_lines(cli, user_files: UserFiles, tmp_path: Path) -> None:
    dup = tmp_path / "dup.csv"
    lines = user_files.labels_csv.read_text().splitlines()
    lines[8] = lines[8].replace("img0007.png", "img0003.png")  # data row 7 is on line 9; img0003 is on line 5
    dup.write_text("\n".join(lines) + "\n")
    done = cli("audit", user_files.embeddings, "--labels", dup, "-o", tmp_path / "a.csv")
    assert_input_error(done, "audit", dup, "id 'img0003.png' appears on lines 5, 9")
    assert not (tmp_path / "a.csv").exists()


def test_extra_fields_in_a_row_give_the_line(cli, user_files: UserFiles, tmp_path: Path) -> None:
    extra = tmp_path / "extra.csv"
    lines = user_files.labels_csv.read_text().splitlines()
    lines[3] += ",surplus"
    extra.write_text("\n".join(lines) + "\n")
    done = cli("propagate", user_files.embeddings, "--labels", extra, "-o", tmp_path / "p.csv")
    assert_input_error(done, "propagate", extra, "line 4 has 3 fields but the header has 2 (id, label)")


def test_quoted_comma_is_one_field(cli, user_files: UserFiles, tmp_path: Path) -> None:
    """The extra-field check counts CSV fields, not commas."""
    quoted = tmp_path / "quoted.csv"
    lines = user_files.labels_csv.read_text().splitlines()
    lines[1] = '"img,0000.png",' + lines[1].split(",")[1]
    quoted.write_text("\n".join(lines) + "\n")
    out = tmp_path / "p.csv"
    assert cli("propagate", user_files.embeddings, "--labels", quoted, "-o", out).returncode == 0
    assert _rows(out)[0]["id"] == "img,0000.png"


# --- .npy files that are something else ----------------------------------------------------------


def _npz_named_npy(path: Path, array: np.ndarray) -> Path:
    with open(path, "wb") as f:
        np.savez(f, array)
    return path


def test_npz_archive_named_npy(cli, user_files: UserFiles, tmp_path: Path) -> None:
    embeddings = _npz_named_npy(tmp_path / "emb.npy", np.load(user_files.embeddings))
    assert_input_error(cli("graph", embeddings, "-o", tmp_path / "g.npz"), "graph", embeddings,
                       "is an .npz archive, not .npy; numpy.load it and numpy.save the one array to a .npy")
    labels = _npz_named_npy(tmp_path / "labels.npy", np.load(user_files.labels_npy))
    assert_input_error(cli("propagate", user_files.embeddings, "--labels", labels, "-o", tmp_path / "p.csv"),
                       "propagate", labels, "is an .npz archive, not .npy")


def test_csv_named_npy(cli, user_files: UserFiles, tmp_path: Path) -> None:
    labels = tmp_path / "labels.npy"
    labels.write_bytes(user_files.labels_csv.read_bytes())
    assert_input_error(cli("audit", user_files.embeddings, "--labels", labels, "-o", tmp_path / "a.csv"),
                       "audit", labels, "is a text file (it starts with 'id,label'), not .npy")


def test_truncated_npy(cli, user_files: UserFiles, tmp_path: Path) -> None:
    cut = tmp_path / "cut.npy"
    cut.write_bytes(user_files.embeddings.read_bytes()[:1000])
    assert_input_error(cli("graph", cut, "-o", tmp_path / "g.npz"), "graph", cut, "is a damaged or truncated .npy")
    header_only = tmp_path / "header.npy"
    header_only.write_bytes(user_files.embeddings.read_bytes()[:40])
    assert_input_error(cli("graph", header_only, "-o", tmp_path / "g.npz"), "graph", header_only,
                       "is a damaged or truncated .npy")


class _Payload:
    """Unpickling this runs os.mkdir(marker): proof that a pickle was executed."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def test_pickled_object_array_is_never_unpickled(cli, user_files: UserFiles, tmp_path: Path) -> None:
    marker = tmp_path / "pickle_ran"
    labels = tmp_path / "labels.npy"
    np.save(labels, np.array([_Payload(marker)] * N_ROWS, dtype=object), allow_pickle=True)
    done = cli("propagate", user_files.embeddings, "--labels", labels, "-o", tmp_path / "p.csv")
    assert_input_error(done, "propagate", labels, "holds Python objects (a pickled object array)")
    assert not marker.exists()


def test_npy_named_npz_graph(cli, user_files: UserFiles, tmp_path: Path) -> None:
    graph = tmp_path / "graph.npz"
    graph.write_bytes(user_files.embeddings.read_bytes())
    assert_input_error(cli("propagate", graph, "--labels", user_files.labels_npy, "-o", tmp_path / "p.csv"),
                       "propagate", graph, "is a .npy array, not a scipy sparse .npz graph")


def test_huge_class_id_is_an_error_not_terabytes(cli, user_files: UserFiles, tmp_path: Path) -> None:
    labels = tmp_path / "huge.npy"
    y = np.load(user_files.labels_npy)
    y[3] = 10**9
    np.save(labels, y)
    done = cli("propagate", user_files.embeddings, "--labels", labels, "-o", tmp_path / "p.csv")
    assert_input_error(done, "propagate", labels, f"has class id 1000000000 at index 3 but only {N_ROWS} rows")
    y_unsigned = np.where(y < 0, 0, y).astype(np.uint64)
    y_unsigned[5] = 2**64 - 1  # would wrap to -1 (unlabeled) in a careless cast
    np.save(labels, y_unsigned)
    done = cli("propagate", user_files.embeddings, "--labels", labels, "-o", tmp_path / "p.csv")
    assert_input_error(done, "propagate", labels, f"has class id {2**64 - 1} at index 5")


def test_integer_labels_keep_their_class_ids(cli, user_files: UserFiles, tmp_path: Path) -> None:
    """Class ids 0 and 2 (no 1): the .npy output speaks the user's ids, not positions among the classes found."""
    labels = tmp_path / "two.npy"
    y = np.where(np.arange(N_ROWS) % 3 == 0, -1, np.where(user_files.y < 5, 0, 2))
    np.save(labels, y)
    out = tmp_path / "p.npy"
    assert cli("propagate", user_files.embeddings, "--labels", labels, "-o", out).returncode == 0
    got = np.load(out)["label"]
    assert set(got.tolist()) <= {0, 2}
    np.testing.assert_array_equal(got[y >= 0], y[y >= 0])


# --- --classes -----------------------------------------------------------------------------------


def test_missing_classes_file_is_not_a_class_name(cli, user_files: UserFiles, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    done = cli("propagate", user_files.embeddings, "--labels", user_files.labels_csv, "--classes", "classes.txt",
               "-o", tmp_path / "p.csv")
    assert_input_error(done, "propagate", "classes.txt", "no such file; --classes takes an existing file")
    (tmp_path / "classes.txt").write_text("\n".join(CLASS_NAMES) + "\n", encoding="utf-8-sig")
    out = tmp_path / "p.csv"
    summary_run = cli("propagate", user_files.embeddings, "--labels", user_files.labels_csv, "--classes",
                      "classes.txt", "-o", out, "--json")
    assert summary_run.returncode == 0, summary_run.stderr
    assert '"classes": ["zero", "one", "two"' in summary_run.stdout  # the file's order, BOM dropped


def test_classes_list_problems_name_the_option(cli, user_files: UserFiles, tmp_path: Path) -> None:
    done = cli("propagate", user_files.embeddings, "--labels", user_files.labels_csv, "--classes", "a,b,a",
               "-o", tmp_path / "p.csv")
    assert_input_error(done, "propagate", "--classes", "repeats a class name: ['a']")
    done = cli("propagate", user_files.embeddings, "--labels", user_files.labels_csv, "--classes", ",",
               "-o", tmp_path / "p.csv")
    assert_input_error(done, "propagate", "--classes", "names no class")


# --- options -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "option", "problem"), [
    (("select", "{emb}", "-n", 0, "-o", "{out}"), "--n-select", "must be an integer >= 1; got 0"),
    (("graph", "{emb}", "--k", "ten", "-o", "{out}"), "--k", "must be an integer >= 1; got 'ten'"),
    (("propagate", "{emb}", "--labels", "{lab}", "--temperature", "inf", "-o", "{out}"), "--temperature",
     "must be a finite number > 0; got inf"),
    (("select", "{emb}", "-n", 5, "--random-state", -1, "-o", "{out}"), "--random-state",
     "must be an integer >= 0; got -1"),
])
def test_bad_option_values_are_one_line(cli, user_files: UserFiles, tmp_path: Path, args: tuple, option: str,
                                        problem: str) -> None:
    filled = [str(a).format(emb=user_files.embeddings, lab=user_files.labels_csv, out=tmp_path / "o.csv")
              for a in args]
    assert_input_error(cli(*filled), args[0], option, problem)


@pytest.mark.parametrize(("args", "old"), [
    (("select", "{emb}", "-n", 5, "--count", 5, "-o", "{out}"), "--count"),
    (("select", "{emb}", "-n", 5, "--seed", 1, "-o", "{out}"), "--seed"),
    (("simulate", "{emb}", "--labels", "{lab}", "--batch-size", 5, "-o", "{out}"), "--batch-size"),
    (("propagate", "{emb}", "--labels", "{lab}", "--iterations", 5, "-o", "{out}"), "--iterations"),
    (("bench", "--classes", 5), "--classes"),
])
def test_renamed_options_are_gone(cli, user_files: UserFiles, tmp_path: Path, args: tuple, old: str) -> None:
    filled = [str(a).format(emb=user_files.embeddings, lab=user_files.labels_csv, out=tmp_path / "o.csv")
              for a in args]
    done = cli(*filled)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert f"unrecognized arguments: {old}" in done.stderr


def test_random_state_keeps_its_meaning(cli, user_files: UserFiles, tmp_path: Path) -> None:
    picks = {}
    for state in (0, 7):
        out = tmp_path / f"r{state}.csv"
        assert cli("select", user_files.embeddings, "-n", 12, "--method", "random", "--random-state", state,
                   "-o", out).returncode == 0
        picks[state] = [int(r["index"]) for r in _rows(out)]
        assert picks[state] == random_select(N_ROWS, 12, random_state=state).tolist()
    assert picks[0] != picks[7]


@pytest.mark.parametrize(("args", "option", "problem"), [
    (("select", "{emb}", "-n", 5, "--strategy", "entropy", "-o", "{out}"), "--strategy",
     "applies to the next batch (with --labels)"),
    (("select", "{emb}", "-n", 5, "--method", "kmeans", "--k", 5, "-o", "{out}"), "--k",
     "--method kmeans builds no graph"),
    (("select", "{emb}", "-n", 5, "--temperature", 0.1, "-o", "{out}"), "--temperature",
     "applies to the next batch (with --labels)"),
    (("select", "{emb}", "-n", 5, "--classes", "a,b", "-o", "{out}"), "--classes", "applies with --labels"),
    (("select", "{emb}", "--labels", "{lab}", "-n", 5, "--method", "usl", "-o", "{out}"), "--method",
     "applies to a cold start"),
    (("select", "{emb}", "--labels", "{lab}", "-n", 5, "--strategy", "margin", "--random-state", 3, "-o", "{out}"),
     "--random-state", "--strategy margin draws nothing at random"),
    (("simulate", "{emb}", "--labels", "{truth}", "--mode", "noise", "--budgets", 10, "-o", "{out}"), "--budgets",
     "applies to --mode cold-start (or all), not noise"),
    (("simulate", "{emb}", "--labels", "{truth}", "--mode", "cold-start", "-n", 5, "-o", "{out}"), "--n-select",
     "applies to --mode active (or all), not cold-start"),
    (("simulate", "{emb}", "--labels", "{truth}", "--images", "{img}", "-o", "{out}"), "--images",
     "add --report DIR"),
    (("embed", "{img}", "--no-train", "--batch-size", 64, "-o", "{npy}"), "--batch-size",
     "sets BYOL, which --no-train skips"),
    (("embed", "{img}", "--no-train", "--resize", 16, "-o", "{npy}"), "--resize", "is a .npy array"),
    (("demo", "--no-train", "--train-minutes", 3), "--train-minutes", "sets BYOL, which --no-train skips"),
    (("demo", "--no-train", "--features", "byol"), "--no-train", "--features byol needs BYOL"),
])
def test_options_that_would_be_ignored_are_errors(cli, user_files: UserFiles, tmp_path: Path, args: tuple,
                                                  option: str, problem: str) -> None:
    filled = [str(a).format(emb=user_files.embeddings, lab=user_files.labels_csv, truth=user_files.truth_csv,
                            img=user_files.images, out=tmp_path / "o.csv", npy=tmp_path / "o.npy") for a in args]
    assert_input_error(cli(*filled), args[0], option, problem)
    assert not (tmp_path / "o.csv").exists() and not (tmp_path / "o.npy").exists()


def test_k_with_a_graph_file_is_an_error(cli, user_files: UserFiles, tmp_path: Path) -> None:
    graph = tmp_path / "g.npz"
    assert cli("graph", user_files.embeddings, "-o", graph, "--k", 5).returncode == 0
    done = cli("propagate", graph, "--labels", user_files.labels_npy, "--k", 20, "-o", tmp_path / "p.csv")
    assert_input_error(done, "propagate", "--k", f"{graph} is a graph already")


# --- Ctrl-C --------------------------------------------------------------------------------------


def _interrupt_on_import(folder: Path, module: str) -> dict[str, str]:
    """An environment in which importing ``module`` raises KeyboardInterrupt (Ctrl-C during the imports)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(
        "import sys, importlib.abc\n"
        "class Interrupt(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name == {module!r}:\n"
        "            raise KeyboardInterrupt\n"
        "        return None\n"
        "sys.meta_path.insert(0, Interrupt())\n")
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")])))


@pytest.mark.parametrize("module", ["tqdm", "labelgraph.workflows", "sklearn"])
def test_ctrl_c_during_the_imports_is_one_line(tmp_path: Path, module: str) -> None:
    done = subprocess.run([sys.executable, "-m", "labelgraph", "--help"], capture_output=True, text=True,
                          env=_interrupt_on_import(tmp_path / "hook", module), timeout=120)
    assert done.returncode == 130, done.stderr
    assert done.stderr == "labelgraph: interrupted\n" and done.stdout == ""


def _sigint_as_in_a_terminal() -> None:
    """Ctrl-C's default action in the child: a runner that started these tests in the background
    (`cmd &` in a script) passes SIGINT ignored on, and Python then never raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_while_a_command_runs_is_one_line(tmp_path: Path) -> None:
    process = subprocess.Popen([sys.executable, "-m", "labelgraph", "bench", "--n", "200000", "--d", "256",
                                "--skip-slow", "--repeat", "5"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, preexec_fn=_sigint_as_in_a_terminal)
    # Interrupt once the command runs (its first line is out), not at a fixed time after the start,
    # which a loaded machine may spend still importing; the kNN kernel then notices within a tile round.
    first_line = process.stdout.readline()
    time.sleep(2)
    process.send_signal(signal.SIGINT)
    try:
        out, err = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"no exit 120 s after Ctrl-C; stdout {first_line + out!r}, stderr {err!r}")
    out = first_line + out
    assert process.returncode == 130, err
    assert err in ("labelgraph bench: interrupted\n", "labelgraph: interrupted\n"), err
    assert "Traceback" not in out + err


def test_keyboard_interrupt_in_a_command_exits_130(cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                    user_files: UserFiles) -> None:
    from labelgraph.cli import graph

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(graph, "build_knn_graph", interrupted)
    done = cli("graph", user_files.embeddings, "-o", tmp_path / "g.npz")
    assert done.returncode == 130 and done.stderr == "labelgraph graph: interrupted\n"
    assert not list(tmp_path.iterdir())


# --- the library's out-of-core path (labelgraph.out_of_core; a CLI user meets it through --memory-budget-like
#     streaming, so the battery checked it here) ----------------------------------------------------


@pytest.mark.parametrize(("content", "problem"), [
    ("csv", "is not a .npy file; a path must be a .npy file written by numpy.save"),
    ("npz", "is a zip archive (.npz?)"),
    ("truncated", "is truncated: its header says shape (600, 64) float32"),
])
def test_out_of_core_path_that_is_not_npy(user_files: UserFiles, tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "x.csv" if content == "csv" else tmp_path / "x.npy"
    if content == "csv":
        path.write_bytes(user_files.labels_csv.read_bytes())
    elif content == "npz":
        _npz_named_npy(path, np.load(user_files.embeddings))
    else:
        path.write_bytes(user_files.embeddings.read_bytes()[:2000])
    with pytest.raises(ValueError) as error:
        labelgraph.knn_graph(str(path), 5, memory_budget=10**8)
    assert str(path) in str(error.value) and problem in str(error.value)
