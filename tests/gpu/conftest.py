"""tests/gpu run only with a CUDA build of labelgraph on a machine with a usable GPU; else skipped with the reason."""

from __future__ import annotations

import pytest

from labelgraph import build_info


def gpu_skip_reason() -> str | None:
    info = build_info()
    if not info["cuda_compiled"]:
        return "labelgraph was built without CUDA (LABELGRAPH_CUDA=ON and nvcc needed)"
    if not info["gpu_available"]:
        return f"no usable CUDA GPU: {info['cuda_error']}"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = gpu_skip_reason()
    if reason is None:
        return
    for item in items:
        if "tests/gpu/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.skip(reason=reason))
