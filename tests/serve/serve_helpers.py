"""Payloads and data of the serve tests: Label Studio's webhook and /predict bodies, well separated blobs."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

CLASSES = ("cat", "dog", "fox")
LABEL_CONFIG = ('<View><Image name="image" value="$image"/><Choices name="label" toName="image">'
                + "".join(f'<Choice value="{c}"/>' for c in CLASSES) + "</Choices></View>")
N_ROWS = 600


def blobs(seed: int, n: int = N_ROWS, d: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Three well separated Gaussian blobs: embeddings and the true class of every row."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((len(CLASSES), d)) * 3
    y = rng.integers(0, len(CLASSES), n)
    return (centres[y] + rng.standard_normal((n, d))).astype(np.float32), y


_ids = itertools.count(1)


def annotation_event(row: int, cls: str | None, *, annotation: int | None = None, action: str = "ANNOTATION_CREATED",
                     task: int | None = None, field: str = "row") -> dict[str, Any]:
    """A webhook payload as Label Studio sends it (task id = 1000 + row unless given)."""
    task = 1000 + row if task is None else task
    result = [] if cls is None else [{"from_name": "label", "to_name": "image", "type": "choices",
                                      "value": {"choices": [cls]}}]
    return {"action": action, "annotation": {"id": next(_ids) if annotation is None else annotation, "task": task,
                                             "result": result, "was_cancelled": False},
            "task": {"id": task, "data": {field: row, "image": f"/data/{row}.png"}}, "project": {"id": 1}}


def predict_body(rows: list[int]) -> dict[str, Any]:
    return {"tasks": [{"id": 1000 + r, "data": {"row": r}} for r in rows], "label_config": LABEL_CONFIG,
            "project": "1.1700000000"}


