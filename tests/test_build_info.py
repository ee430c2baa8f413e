"""build_info() reports how labelgraph was built and which SIMD level and microkernel it uses."""

from __future__ import annotations

import numpy as np
import pytest

import labelgraph
from labelgraph import _core

LEVELS = ("scalar", "avx2", "avx512", "avx512_vnni")


def test_keys_and_types() -> None:
    info = labelgraph.build_info()
    assert info["version"] == labelgraph.__version__
    assert info["simd"] in LEVELS and info["simd_detected"] in LEVELS
    assert isinstance(info["knn_kernel"], str) and isinstance(info["compiler"], str)
    assert isinstance(info["openmp_threads"], int) and info["openmp_threads"] >= 1
    assert isinstance(info["cuda_compiled"], bool) and isinstance(info["gpu_available"], bool)
    assert isinstance(info["gpus"], list)
    if not info["gpu_available"]:
        assert info["gpus"] == [] and isinstance(info["cuda_error"], str) and info["cuda_error"]


def test_returns_a_fresh_dict() -> None:
    info = labelgraph.build_info()
    info["simd"] = "changed"
    assert labelgraph.build_info()["simd"] != "changed"


def test_available_levels_are_a_prefix_up_to_the_detected_one() -> None:
    available = _core.simd_levels_available()
    assert available[0] == "scalar"
    assert list(available) == list(LEVELS[: len(available)])
    assert available[-1] == labelgraph.build_info()["simd_detected"]


def test_default_level_is_the_best_detected() -> None:
    info = labelgraph.build_info()
    assert info["simd"] == info["simd_detected"]


@pytest.mark.parametrize("level", _core.simd_levels_available())
def test_set_simd_level_changes_kernel(level: str) -> None:
    _core.set_simd_level(level)
    info = labelgraph.build_info()
    assert info["simd"] == level
    assert info["knn_kernel"].startswith(level + "_")
    X = np.random.default_rng(0).standard_normal((20, 5)).astype(np.float32)
    assert labelgraph.knn_graph(X, 2).stats["kernel"] == info["knn_kernel"]


def test_unknown_or_unsupported_levels_raise() -> None:
    with pytest.raises(ValueError, match="unknown simd level"):
        _core.set_simd_level("sse9")
    unsupported = [lv for lv in LEVELS if lv not in _core.simd_levels_available()]
    for level in unsupported:
        with pytest.raises(ValueError, match="not supported by this CPU"):
            _core.set_simd_level(level)
    assert labelgraph.build_info()["simd"] in _core.simd_levels_available()


def test_cpuinfo_agrees_with_detected_level() -> None:
    # The CPU here advertises no AVX-512 to the OS; the detected level must not claim it.
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read().split()
    except OSError:
        pytest.skip("no /proc/cpuinfo")
    detected = labelgraph.build_info()["simd_detected"]
    if "avx512f" not in flags:
        assert detected in ("scalar", "avx2")
    if detected != "scalar":
        assert "avx2" in flags
