"""The report as a person sees it: index.html shows existing PNGs and the numbers; Chromium renders it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cli_files import UserFiles, run_cli


@pytest.fixture(scope="module")
def report(user_files: UserFiles, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("simulate") / "report"
    done = run_cli("simulate", user_files.embeddings, "--labels", user_files.truth_csv, "-o", folder.parent / "c.json",
                   "--max-labels", 30, "--budgets", 10, 30, "--images", user_files.images, "--report", folder)
    assert done.returncode == 0, done.stderr
    return folder


def test_index_shows_every_plot_and_only_existing_ones(report: Path) -> None:
    page = (report / "index.html").read_text()
    sources = re.findall(r"<img src='([^']+)'", page)
    assert sorted(sources) == sorted(["active_learning.png", "cold_start.png", "noise_curves.png", "audit_pr.png",
                                      "suspicious.png"])
    for name in sources:
        data = (report / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 5000, name
    assert "http" not in page  # self-contained: nothing fetched from elsewhere


def test_index_contains_the_numbers(report: Path) -> None:
    page = (report / "index.html").read_text()
    results = json.loads((report / "results.json").read_text())
    for curve in (results["active_learning"], results["cold_start"]):
        for accuracy in curve["accuracy"].values():
            for value in accuracy:
                assert f"<td class='num'>{100 * value:.1f}</td>" in page
    for level in results["noise"]:
        for key in ("precision", "recall", "f1", "auroc"):
            assert f"<td class='num'>{level[key]:.3f}</td>" in page
        assert f"<td class='num'>{100 * level['wrong_smoothed'][-1]:.1f}</td>" in page
    assert "<td>zero</td>" in page or "<td>one</td>" in page  # class names in the suspicious-label table


def _chromium() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


@pytest.mark.skipif(_chromium() is None, reason="needs chromium (Debian: apt-get install -y chromium)")
def test_chromium_renders_the_page(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "page.png"
    done = subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           f"--screenshot={shot}", "--window-size=1280,2400", (report / "index.html").as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    pytest.importorskip("PIL")
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == (1280, 2400)
        # A page that failed to show its plots is nearly all white; the plots bring colour and grey.
        colours = image.convert("RGB").resize((320, 600)).getcolors(maxcolors=1 << 16)
    assert colours is not None and len(colours) > 50
