"""Schedules for BYOL: cosine decay, linear warm-up + cosine learning rate, the EMA momentum tau.

Pure Python (no torch), after lightly's ``lightly/utils/scheduler.py``: every schedule is a
function of the step that rejects bad arguments with a ValueError naming the argument.
"""

from __future__ import annotations

import math

__all__ = ["byol_momentum", "cosine_schedule", "warmup_cosine_schedule"]


def _check_steps(step: int, total_steps: int) -> None:
    if not isinstance(total_steps, int) or isinstance(total_steps, bool) or total_steps < 1:
        raise ValueError(f"total_steps must be an integer >= 1; got {total_steps!r}")
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        raise ValueError(f"step must be an integer >= 0; got {step!r}")


def cosine_schedule(step: int, total_steps: int, start_value: float, end_value: float) -> float:
    """Cosine interpolation from ``start_value`` at step 0 to ``end_value`` at ``total_steps - 1``.

    Steps past the end keep ``end_value``. With a single step the schedule is ``end_value``.

    Args:
        step: current step, ``>= 0``.
        total_steps: number of steps of the schedule, ``>= 1``.
        start_value: value at step 0.
        end_value: value at the last step.

    Returns:
        The scheduled value.

    Raises:
        ValueError: ``step < 0`` or ``total_steps < 1`` (the message names the argument).

    Example:
        >>> cosine_schedule(0, 11, 1.0, 0.0), cosine_schedule(5, 11, 1.0, 0.0), cosine_schedule(10, 11, 1.0, 0.0)
        (1.0, 0.5, 0.0)
    """
    _check_steps(step, total_steps)
    if total_steps == 1 or step >= total_steps - 1:
        return float(end_value)
    t = step / (total_steps - 1)
    return float(end_value - (end_value - start_value) * (math.cos(math.pi * t) + 1.0) / 2.0)


def warmup_cosine_schedule(
    step: int, total_steps: int, warmup_steps: int, peak_value: float, end_value: float = 0.0
) -> float:
    """Linear warm-up from ``peak_value / warmup_steps`` to ``peak_value``, then cosine decay to ``end_value``.

    This is the learning-rate schedule of BYOL (Grill et al. 2020, sec. 3.2: warm-up, then cosine
    decay without restarts).

    Args:
        step: current step, ``>= 0``.
        total_steps: total steps, ``>= 1``.
        warmup_steps: warm-up steps, ``0 <= warmup_steps <= total_steps``.
        peak_value: value reached at the end of the warm-up.
        end_value: value at the last step.

    Returns:
        The scheduled value.

    Raises:
        ValueError: a bad ``step``, ``total_steps`` or ``warmup_steps`` (named in the message).

    Example:
        >>> [round(warmup_cosine_schedule(s, 10, 2, 1.0), 3) for s in (0, 1, 2, 9)]
        [0.5, 1.0, 1.0, 0.0]
    """
    _check_steps(step, total_steps)
    if not isinstance(warmup_steps, int) or isinstance(warmup_steps, bool) or not 0 <= warmup_steps <= total_steps:
        raise ValueError(f"warmup_steps must be an integer in [0, total_steps={total_steps}]; got {warmup_steps!r}")
    if step < warmup_steps:
        return float(peak_value * (step + 1) / warmup_steps)
    return cosine_schedule(step - warmup_steps, max(total_steps - warmup_steps, 1), peak_value, end_value)


def byol_momentum(step: int, total_steps: int, base_tau: float = 0.99) -> float:
    """The target-network EMA rate of BYOL: ``1 - (1 - base_tau) * (cos(pi k / K) + 1) / 2``.

    Grill et al. 2020, sec. 3.2: tau starts at ``base_tau`` and is annealed to 1 at the last step.

    Args:
        step: current step ``k``, ``>= 0``.
        total_steps: total steps ``K + 1``, ``>= 1``.
        base_tau: starting rate, in ``[0, 1]``.

    Returns:
        tau for this step.

    Raises:
        ValueError: a bad ``step``, ``total_steps`` or ``base_tau`` (named in the message).

    Example:
        >>> byol_momentum(0, 100, 0.99), byol_momentum(99, 100, 0.99)
        (0.99, 1.0)
    """
    if not isinstance(base_tau, (int, float)) or not 0.0 <= base_tau <= 1.0:
        raise ValueError(f"base_tau must be a number in [0, 1]; got {base_tau!r}")
    return cosine_schedule(step, total_steps, float(base_tau), 1.0)
