"""A headless-Chromium screenshot of a logged-in Label Studio page, over the DevTools protocol on a pipe.

Chromium's ``--remote-debugging-pipe`` reads DevTools commands (JSON, each ended by a NUL byte)
on file descriptor 3 and answers on 4, so no websocket client is needed.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import struct
import subprocess
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np


def png_data_uri(image: np.ndarray) -> str:
    """A grayscale uint8 ``[h, w]`` image as a ``data:image/png`` URI (tasks that show their picture)."""
    h, w = image.shape
    raw = b"".join(b"\x00" + image[r].tobytes() for r in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    return "data:image/png;base64," + base64.b64encode(png).decode()


def chromium() -> str | None:
    return os.environ.get("LABELGRAPH_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


class _DevTools:
    def __init__(self, executable: str, size: tuple[int, int]) -> None:
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def wire() -> None:  # in the child: its fds 3 and 4 are the pipe's ends
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        self.process = subprocess.Popen(
            [executable, "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             f"--window-size={size[0]},{size[1]}", "--hide-scrollbars", "about:blank"],
            preexec_fn=wire, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self._next = 0
        self._buffer = b""

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self._buffer:
                data = os.read(self._from_child, 1 << 20)
                if not data:
                    raise RuntimeError("Chromium closed the DevTools pipe")
                self._buffer += data
            line, self._buffer = self._buffer.split(b"\0", 1)
            answer = json.loads(line)
            if answer.get("id") == self._next:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return dict(answer.get("result", {}))

    def close(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)
        os.close(self._to_child)
        os.close(self._from_child)


def screenshot(url: str, cookies: dict[str, str], output: Path, *, wait: float = 12.0,
               size: tuple[int, int] = (1500, 950)) -> None:
    """Open ``url`` with ``cookies`` (a logged-in session) and save a PNG of the page to ``output``."""
    executable = chromium()
    if executable is None:
        raise RuntimeError("Chromium is not installed (apt-get install chromium, or LABELGRAPH_CHROMIUM=/path)")
    tools = _DevTools(executable, size)
    try:
        target = tools.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = tools.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for name, value in cookies.items():
            tools.call("Network.setCookie", {"name": name, "value": value, "url": url}, session)
        tools.call("Emulation.setDeviceMetricsOverride", {"width": size[0], "height": size[1], "deviceScaleFactor": 1,
                                                          "mobile": False}, session)
        tools.call("Page.enable", {}, session)
        tools.call("Page.navigate", {"url": url}, session)
        time.sleep(wait)
        data = tools.call("Page.captureScreenshot", {"format": "png"}, session)["data"]
        output.write_bytes(base64.b64decode(data))
    finally:
        tools.close()
