"""Simulations with known labels and the report they make (PNG plots + index.html); needs matplotlib for plots."""

from labelgraph.reporting.simulation import (
    COLD_START_METHODS,
    CurveSet,
    NoiseResult,
    active_learning_curves,
    cold_start_curves,
    inject_symmetric_noise,
    noise_simulation,
)

__all__ = [
    "COLD_START_METHODS",
    "CurveSet",
    "NoiseResult",
    "active_learning_curves",
    "cold_start_curves",
    "inject_symmetric_noise",
    "noise_simulation",
]
