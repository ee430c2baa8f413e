"""`labelgraph serve` refuses bad files and options with one line naming them (exit 2), before serving anything."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from labelgraph.cli import main


@pytest.mark.parametrize("case, expected", [
    ("missing", "emb.npy: no such file"),
    ("text", "emb.npy"),
    ("no_folder", "its folder does not exist"),
    ("bad_config", "config.xml: label_config is not well-formed XML"),
    ("host", "host must be an IP address"),
    ("no_token", "--label-studio-url: pushing to Label Studio needs its API token"),
])
def test_bad_input_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                         case: str, expected: str) -> None:
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    emb, journal = tmp_path / "emb.npy", tmp_path / "j.sqlite"
    if case != "missing":
        np.save(emb, np.random.default_rng(0).standard_normal((20, 4)).astype(np.float32))
    if case == "text":
        emb.write_text("row,x\n1,2\n")
    argv = ["serve", str(emb), "--journal", str(journal)]
    if case == "no_folder":
        argv[3] = str(tmp_path / "nowhere" / "j.sqlite")
    if case == "bad_config":
        (tmp_path / "config.xml").write_text("<View>")
        argv += ["--label-config", str(tmp_path / "config.xml")]
    if case == "host":
        argv += ["--host", "example.com"]
    if case == "no_token":
        argv += ["--label-studio-url", "http://127.0.0.1:8080", "--project", "1"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("labelgraph serve: ") and expected in err
