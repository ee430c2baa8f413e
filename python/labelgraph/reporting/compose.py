"""Turn simulation results into the report folder: PNG plots, index.html with the numbers, results.json."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from labelgraph.reporting import html, plots
from labelgraph.reporting.simulation import CurveSet, NoiseResult


def _pct(value: float) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.1f}"


def _curve_table(curves: CurveSet) -> tuple[list[str], list[list[Any]]]:
    header = ["method \\ labels"] + [str(b) for b in curves.labels] + ["seconds"]
    rows = [[name] + [_pct(a) for a in accuracy] + [f"{curves.seconds.get(name, 0.0):.1f}"]
            for name, accuracy in curves.accuracy.items()]
    return header, rows


def write_report(folder: Path, *, title: str, summary: str, settings: dict[str, Any], timings: dict[str, float],
                 class_names: Sequence[str], active: CurveSet | None = None, cold_start: CurveSet | None = None,
                 noise: Sequence[NoiseResult] | None = None, images: np.ndarray | None = None,
                 extra_tables: Sequence[html.Section] = ()) -> list[str]:
    """Write plots, ``index.html`` and ``results.json`` into ``folder`` (which must exist).

    Returns:
        The file names written, relative to ``folder``.
    """
    folder = Path(folder)
    written: list[str] = []
    sections = [html.Section("Data and settings", tables=[(["setting", "value"], [[k, v] for k, v in settings.items()])]),
                *extra_tables]
    for curves, png, plot_title, heading, text in (
            (active, "active_learning.png", "Active learning: accuracy vs. labels bought", "Active learning",
             "Labels are bought in batches for the rows each strategy asks for; after each batch the propagated "
             "labels of all rows not bought are scored against the known labels (accuracy, %). The score-based "
             "strategies start from the same random first batch; typiclust picks its first batch itself."),
            (cold_start, "cold_start.png", "Cold start: accuracy vs. first labels picked", "Cold-start selection",
             "With no label at all, each method picks the first m rows to label; their known labels are propagated "
             "(20 clamped steps) and the other rows are scored (accuracy, %). Seconds: selection time, the shared "
             "k-means included for each method that uses it.")):
        if curves is None:
            continue
        plots.accuracy_curves(curves, folder / png, plot_title)
        written.append(png)
        sections.append(html.Section(heading, [text], [_curve_table(curves)], [png]))
    if noise:
        plots.noise_curves(noise, folder / "noise_curves.png")
        plots.audit_precision_recall(noise, folder / "audit_pr.png")
        written += ["noise_curves.png", "audit_pr.png"]
        steps = len(noise[0].wrong_plain) - 1
        smoothing_rows = [[f"{100 * r.noise:.0f}%", _pct(r.wrong_plain[0]), _pct(min(r.wrong_plain)),
                           _pct(r.wrong_plain[-1]), _pct(r.wrong_smoothed[-1]), f"{r.alpha:.2f}", _pct(r.noise_estimate)]
                          for r in noise]
        audit_rows = [[f"{100 * r.noise:.0f}%", f"{r.precision:.3f}", f"{r.recall:.3f}", f"{r.f1:.3f}",
                       f"{r.auroc:.3f}", f"{r.average_precision:.3f}", f"{r.seconds:.1f}"] for r in noise]
        sections.append(html.Section(
            "Learning under label noise",
            ["A share of the known labels is replaced by a different class drawn uniformly. Plain LP is the paper's "
             "un-clamped F <- S F from the noisy labels; smoothed is labelgraph's default (F <- alpha S F + (1 - alpha) "
             "Y0, alpha chosen from the estimated noise). Wrong labels in %."],
            [(["noise", "given (t=0)", "plain LP best", f"plain LP t={steps}", f"smoothed t={steps}", "alpha",
               "estimated noise"], smoothing_rows)], ["noise_curves.png"]))
        sections.append(html.Section(
            "Label audit",
            ["Every label is scored by how strongly its neighbours disagree with it (1 - p_given, own label left "
             "out); a label is flagged when the suggested class differs. Precision and recall of the flags against "
             "the injected errors; AUROC and average precision (AP) of the score."],
            [(["noise", "precision", "recall", "F1", "AUROC", "AP", "seconds"], audit_rows)], ["audit_pr.png"]))
        first = noise[0]
        suspicious_rows = [[row["index"], class_names[row["given"]], class_names[row["suggested"]],
                            f"{row['score']:.3f}", "yes" if row["truly_wrong"] else "no"] for row in first.suspicious[:12]]
        images_shown = []
        if images is not None:
            plots.suspicious_grid(images, first, class_names, folder / "suspicious.png")
            written.append("suspicious.png")
            images_shown.append("suspicious.png")
        sections.append(html.Section(
            f"Most suspicious labels ({100 * first.noise:.0f}% injected noise)",
            [], [(["row", "given", "suggested", "score", "injected error"], suspicious_rows)], images_shown))
    if timings:
        sections.append(html.Section("Timings", tables=[(["step", "seconds"],
                                                         [[k, f"{v:.1f}"] for k, v in timings.items()])]))
    html.write(folder, title, summary, sections)
    written.append("index.html")
    results = {"settings": settings, "timings": timings, "class_names": list(class_names),
               "active_learning": active.to_dict() if active else None,
               "cold_start": cold_start.to_dict() if cold_start else None,
               "noise": [r.to_dict() for r in noise] if noise else None}
    (folder / "results.json").write_text(json.dumps(results, indent=1, default=float) + "\n")
    written.append("results.json")
    return written
