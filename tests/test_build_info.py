"""build_info() reports how labelgraph was built and which SIMD level and kernels it uses, on any x86-64 CPU."""

from __future__ import annotations

import ast
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import labelgraph
from labelgraph import _core

LEVELS = ("scalar", "avx2", "avx512", "avx512_vnni")
# The one table of which kernel family each level's code path is: the kNN microkernel's name
# prefix and the propagation sweep (which has no VNNI variant). _core.knn_kernel_for_level and
# _core.spmm_kernel_for_level say which kernel a level selects on this CPU.
KNN_FAMILY = {"scalar": "scalar_", "avx2": "avx2_", "avx512": "avx512_", "avx512_vnni": "avx512vnni_"}
SPMM_FAMILY = {"scalar": "scalar", "avx2": "avx2", "avx512": "avx512", "avx512_vnni": "avx512"}
# /proc/cpuinfo flags each level needs (the OS clears the flags of register state it does not save).
CPUINFO_FLAGS = {"avx2": {"avx2", "fma"}, "avx512": {"avx512f", "avx512bw", "avx512vl", "avx512dq"},
                 "avx512_vnni": {"avx512_vnni"}}


def test_keys_and_types() -> None:
    info = labelgraph.build_info()
    assert info["version"] == labelgraph.__version__
    assert info["simd"] in LEVELS and info["simd_detected"] in LEVELS
    assert isinstance(info["knn_kernel"], str) and isinstance(info["compiler"], str)
    assert info["simd_env"] is None or isinstance(info["simd_env"], str)
    assert info["simd_error"] is None
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


@pytest.mark.skipif(bool(os.environ.get("LABELGRAPH_SIMD")), reason="LABELGRAPH_SIMD caps the level")
def test_default_level_is_the_best_detected() -> None:
    info = labelgraph.build_info()
    assert info["simd"] == info["simd_detected"]


@pytest.mark.parametrize("level", _core.simd_levels_available())
def test_each_level_selects_its_own_kernels(level: str) -> None:
    knn, spmm = _core.knn_kernel_for_level(level), _core.spmm_kernel_for_level(level)
    # A kernel of a lower family here would mean this level's kernel failed its self-test.
    assert knn.startswith(KNN_FAMILY[level]), f"{level} selects {knn}"
    assert spmm == SPMM_FAMILY[level]
    assert _core.knn_kernel_for_level(level.upper()) == knn


@pytest.mark.parametrize("level", _core.simd_levels_available())
def test_set_simd_level_changes_kernel(level: str) -> None:
    _core.set_simd_level(level)
    info = labelgraph.build_info()
    assert info["simd"] == level
    assert info["knn_kernel"] == _core.knn_kernel_for_level(level)
    assert info["spmm_kernel"] == _core.spmm_kernel_for_level(level)
    X = np.random.default_rng(0).standard_normal((20, 5)).astype(np.float32)
    assert labelgraph.knn_graph(X, 2).stats["kernel"] == info["knn_kernel"]


def test_unknown_or_unsupported_levels_raise() -> None:
    with pytest.raises(ValueError, match="unknown simd level 'sse9'; use one of scalar, avx2"):
        _core.set_simd_level("sse9")
    unsupported = [lv for lv in LEVELS if lv not in _core.simd_levels_available()]
    for level in unsupported:
        with pytest.raises(ValueError, match="not supported by this CPU"):
            _core.set_simd_level(level)
        with pytest.raises(ValueError, match="not supported by this CPU"):
            _core.knn_kernel_for_level(level)
    assert labelgraph.build_info()["simd"] in _core.simd_levels_available()


def test_level_names_are_case_insensitive() -> None:
    best = _core.simd_levels_available()[-1]
    _core.set_simd_level(best.upper())
    assert labelgraph.build_info()["simd"] == best


def test_detected_level_agrees_with_cpuinfo() -> None:
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        pytest.skip("no /proc/cpuinfo")
    expected = "scalar"
    for level in ("avx2", "avx512", "avx512_vnni"):  # each needs the flags of the ones before
        if not CPUINFO_FLAGS[level] <= flags:
            break
        expected = level
    assert labelgraph.build_info()["simd_detected"] == expected


def run_with_simd_env(value: str, code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, LABELGRAPH_SIMD=value)
    return subprocess.run([sys.executable, "-W", "error", "-c", code], env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("value", ["SCALAR", "Avx2", "avx512_VNNI"])
def test_simd_environment_variable_in_any_case(value: str) -> None:
    code = "import labelgraph; i = labelgraph.build_info(); print(i['simd'], i['simd_detected'], i['simd_env'])"
    result = run_with_simd_env(value, code)
    assert result.returncode == 0, result.stderr
    simd, detected, env = result.stdout.split()
    assert env == value
    assert LEVELS.index(simd) == min(LEVELS.index(value.lower()), LEVELS.index(detected))


def test_unknown_simd_environment_variable_raises_at_first_use() -> None:
    code = """
import numpy as np
import labelgraph
from labelgraph import _core
info = labelgraph.build_info()
print(info["simd"], info["knn_kernel"], info["simd_env"])
print(info["simd_error"])
try:
    labelgraph.knn_graph(np.eye(4, dtype=np.float32), 1)
except ValueError as e:
    print(e)
_core.set_simd_level("scalar")  # an explicit level replaces the unusable variable
print(labelgraph.build_info()["simd"], labelgraph.build_info()["simd_error"])
"""
    result = run_with_simd_env("avx3", code)  # import works, and warns nothing (-W error)
    assert result.returncode == 0, result.stderr
    error = ("LABELGRAPH_SIMD='avx3' is not a SIMD level; set it to one of scalar, avx2, avx512, avx512_vnni "
             "(any case), or unset it")
    assert result.stdout.splitlines() == ["None None avx3", error, error, "scalar None"]


def stub_signatures() -> dict[str, list[str]]:
    """Parameter names of every function and method in _core.pyi ("Class.method" for methods)."""
    tree = ast.parse((Path(labelgraph.__file__).parent / "_core.pyi").read_text())
    out: dict[str, list[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            out[node.name] = [a.arg for a in node.args.args]
        elif isinstance(node, ast.ClassDef):
            out[node.name] = []
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    out[f"{node.name}.{item.name}"] = [a.arg for a in item.args.args][1:]
    return out


def binding_parameters(obj: object, name: str) -> list[str]:
    """Parameter names from a pybind11 docstring's first signature line: name(a: T, b: T = x) -> R."""
    doc = inspect.getdoc(obj) or ""
    match = re.search(rf"{name}\((.*?)\) ->", doc)
    assert match, f"no signature in the docstring of {name}"
    params = [p.split(":")[0].strip() for p in re.split(r",\s*(?![^\[\]]*\])", match.group(1)) if p.strip()]
    return [p for p in params if p != "self"]


def test_the_stub_covers_every_binding_with_its_parameters() -> None:
    stub = stub_signatures()
    public = sorted(n for n in dir(_core) if not n.startswith("_"))
    assert sorted(n for n in stub if "." not in n) == public
    for name in public:
        obj = getattr(_core, name)
        if isinstance(obj, type):
            methods = [m for m in vars(obj) if not m.startswith("_")] + ["__init__"]
            assert sorted(f"{name}.{m}" for m in methods) == sorted(n for n in stub if n.startswith(name + "."))
            for m in methods:
                if isinstance(vars(obj)[m], property):
                    continue
                assert stub[f"{name}.{m}"] == binding_parameters(getattr(obj, m), m), f"{name}.{m}"
        else:
            assert stub[name] == binding_parameters(obj, name), name
