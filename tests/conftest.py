"""Shared fixtures: the random seed (overridable by LABELGRAPH_TEST_SEED) and the SIMD level."""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import pytest

from labelgraph import _core, build_info

DEFAULT_TEST_SEED = 20240611
SIMD_LEVELS = tuple(_core.simd_levels_available())


def base_seed() -> int:
    """The seed every random test starts from: ``$LABELGRAPH_TEST_SEED`` or a fixed default."""
    return int(os.environ.get("LABELGRAPH_TEST_SEED", DEFAULT_TEST_SEED))


def pytest_report_header(config: pytest.Config) -> str:
    info = build_info()
    return (f"labelgraph: seed={base_seed()} (LABELGRAPH_TEST_SEED), simd={info['simd']} "
            f"(available {', '.join(SIMD_LEVELS)}), kernel={info['knn_kernel']}, threads={info['openmp_threads']}")


@pytest.fixture
def seed() -> int:
    """The session's base seed (see :func:`base_seed`)."""
    return base_seed()


@pytest.fixture
def rng(seed: int) -> np.random.Generator:
    """A fresh generator from the base seed, so each test is reproducible on its own."""
    return np.random.default_rng(seed)


@pytest.fixture(autouse=True)
def _restore_simd_level() -> Iterator[None]:
    """Puts the SIMD level back after any test that capped it with ``_core.set_simd_level``."""
    level = build_info()["simd"]
    yield
    _core.set_simd_level(level)


@pytest.fixture(params=SIMD_LEVELS)
def simd_level(request: pytest.FixtureRequest) -> str:
    """Each SIMD level this CPU supports, made active for the test."""
    _core.set_simd_level(request.param)
    return str(request.param)
