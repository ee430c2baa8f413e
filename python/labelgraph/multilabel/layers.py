"""One-hot layers: label sets split into single-label vectors the C++ propagation sweeps take as they are.

The single-label kernel clamps each labeled row to a one-hot row. Propagation is linear in the
clamped rows (clamped form: ``F_U = (I - S_UU)^-1 S_UL Y_L`` for a fixed set ``L`` of clamped
rows; alpha form: ``F = (1 - alpha) sum_t (alpha S)^t Y0``), so a multi-hot ``Y_L`` is the sum of
one-hot pieces run separately with the SAME clamped rows. A layer is a group of classes no known
row carries two of, plus a "none" column: each known row takes the column of its one class of the
group, or "none"; unknown rows are -1. Every layer clamps every known row (an empty known set is
"none" in every layer, i.e. all-zero in every class), so each class's column is exactly its own
binary propagation, and the columns of a layer sum to the same reach ``M 1_L`` in every layer:
``column / row sum`` is the propagated share of known rows carrying the class, with no
normalisation across classes of different layers.

Classes are grouped greedily (most frequent first, into the first group with no co-occurring
member), up to ``MAX_GROUP`` classes a layer: a sweep costs the padded width (4, 8, 16 floats for
up to 3, 7, 15 classes plus "none"), so a group of 3 costs what one class alone costs.
"""

from __future__ import annotations

import numpy as np

# Classes per layer at most: 15 + "none" fill the 16-float row of one AVX-512 register.
MAX_GROUP = 15


def group_classes(indicator: np.ndarray, known: np.ndarray, max_group: int = MAX_GROUP) -> list[np.ndarray]:
    """Groups of class ids (each ``[m]`` int64, ``m <= max_group``) no known row carries two of."""
    Y = indicator[known].astype(np.float64)
    co = (Y.T @ Y) > 0
    np.fill_diagonal(co, False)
    order = np.lexsort((np.arange(Y.shape[1]), -Y.sum(axis=0)))
    groups: list[list[int]] = []
    for j in order.tolist():
        for group in groups:
            if len(group) < max_group and not co[j, group].any():
                group.append(j)
                break
        else:
            groups.append([j])
    return [np.asarray(sorted(g), dtype=np.int64) for g in groups]


def layer_labels(indicator: np.ndarray, known: np.ndarray, group: np.ndarray) -> np.ndarray:
    """``[n]`` int64 single-label vector of one layer: the position of a known row's class in ``group``,
    ``len(group)`` ("none") for a known row with none of them, -1 for a row whose set is not known.

    Raises:
        ValueError: a known row carries two classes of the group (the layout must be rebuilt).
    """
    sub = indicator[:, group]
    count = sub.sum(axis=1)
    if np.any(count[known] > 1):
        raise ValueError("a known row carries two classes of one layer; rebuild the layers (group_classes)")
    labels = np.where(count > 0, np.argmax(sub, axis=1), group.size).astype(np.int64)
    labels[~known] = -1
    return labels
