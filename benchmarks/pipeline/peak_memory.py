"""Peak resident memory of a block of code in this process, from /proc/self (Linux).

The same probe as tests/test_out_of_core.py: write "5" to /proc/self/clear_refs, which resets
VmHWM (the peak RSS) to the current RSS, run the code, read VmHWM. Peak growth = VmHWM after -
VmRSS before: the most memory the call held at once beyond what was resident when it started
(its inputs, loaded beforehand, are not counted; its outputs are). The kernel samples RSS at
page granularity, so the figure is exact to 4 KiB, not sampled in time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


def status_bytes(field: str) -> int:
    """A field of /proc/self/status ("VmRSS", "VmHWM") in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field} line (not Linux?)")


def reset_peak() -> None:
    """VmHWM := VmRSS (Linux >= 4.0)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


@dataclass
class Measured:
    """Wall and CPU seconds (all threads), peak growth over the RSS at the start, RSS at the start and at the end (bytes)."""

    seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_growth: int = 0
    rss_before: int = 0
    rss_after: int = 0

    @property
    def peak(self) -> int:
        """The process's peak RSS during the block (absolute)."""
        return self.rss_before + self.peak_growth


@contextmanager
def measure() -> Iterator[Measured]:
    """``with measure() as m: ...`` fills ``m`` when the block ends."""
    m = Measured()
    reset_peak()
    m.rss_before = status_bytes("VmRSS")
    start, cpu_start = time.perf_counter(), time.process_time()
    yield m
    m.seconds = time.perf_counter() - start
    m.cpu_seconds = time.process_time() - cpu_start
    m.peak_growth = max(0, status_bytes("VmHWM") - m.rss_before)
    m.rss_after = status_bytes("VmRSS")
