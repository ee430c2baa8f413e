"""The report's PNG figures (matplotlib, Agg canvas: no display, no global pyplot state)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from labelgraph.reporting.simulation import CurveSet, NoiseResult

_DPI = 110


def _figure(width: float = 6.4, height: float = 4.0):  # -> matplotlib.figure.Figure
    from matplotlib.figure import Figure

    # Figure() draws with the Agg canvas when saved; pyplot (and its backend choice) is never imported.
    return Figure(figsize=(width, height), dpi=_DPI, layout="constrained")


def _finish(fig, ax, path: Path, xlabel: str, ylabel: str, title: str, legend_loc: str = "best") -> None:
    """Axis labels, title, light grid and legend, then the PNG."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc=legend_loc)
    fig.savefig(path)


def accuracy_curves(curves: CurveSet, path: Path, title: str) -> None:
    """Accuracy (%) of the propagated labels against labels bought, one line per strategy."""
    fig = _figure()
    ax = fig.add_subplot()
    for name, accuracy in curves.accuracy.items():
        ax.plot(curves.labels, 100 * np.asarray(accuracy), marker="o", markersize=3, label=name)
    _finish(fig, ax, path, "labels bought", "accuracy on the other rows (%)", title)


def noise_curves(results: Sequence[NoiseResult], path: Path) -> None:
    """Wrong-label % after each propagation step: the paper's plain LP against smooth_labels' default."""
    fig = _figure()
    ax = fig.add_subplot()
    for i, r in enumerate(results):
        color = f"C{i}"
        steps = np.arange(len(r.wrong_plain))
        ax.plot(steps, 100 * np.asarray(r.wrong_plain), color=color, linestyle="--",
                label=f"{100 * r.noise:.0f}% noise, plain LP")
        ax.plot(steps, 100 * np.asarray(r.wrong_smoothed), color=color,
                label=f"{100 * r.noise:.0f}% noise, smoothed (alpha={r.alpha:.2f})")
    _finish(fig, ax, path, "propagation steps", "wrong labels (%)", "Label noise against smoothing steps")


def audit_precision_recall(results: Sequence[NoiseResult], path: Path) -> None:
    """Precision-recall of the audit score at finding the injected wrong labels; dot = default flag rule."""
    fig = _figure()
    ax = fig.add_subplot()
    for i, r in enumerate(results):
        ax.plot(r.pr_recall, r.pr_precision, color=f"C{i}",
                label=f"{100 * r.noise:.0f}% noise (AP {r.average_precision:.3f})")
        ax.plot([r.recall], [r.precision], "o", color=f"C{i}")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.01)
    _finish(fig, ax, path, "recall (share of wrong labels found)", "precision (share of flagged that are wrong)",
            "Label audit: precision-recall (dots: suggested != given)", legend_loc="lower left")


def suspicious_grid(images: np.ndarray, result: NoiseResult, class_names: Sequence[str], path: Path,
                    columns: int = 6) -> None:
    """The most suspicious images with their given and suggested labels (red title: the label was really wrong)."""
    rows = result.suspicious
    n_rows = max(1, -(-len(rows) // columns))
    fig = _figure(1.75 * columns, 2.2 * n_rows)
    for i, row in enumerate(rows):
        ax = fig.add_subplot(n_rows, columns, i + 1)
        image = images[row["index"]]
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"#{row['index']}\ngiven: {class_names[row['given']]}\nsuggested: {class_names[row['suggested']]}",
                     fontsize=9, color="firebrick" if row["truly_wrong"] else "black")
    fig.suptitle(f"Most suspicious labels at {100 * result.noise:.0f}% injected noise "
                 "(red: the given label was one of the flipped ones)", fontsize=11)
    fig.savefig(path)
