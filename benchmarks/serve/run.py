"""Latency of `labelgraph serve` at n = 100k over real HTTP (uvicorn on 127.0.0.1), written to RESULTS.md.

Data: synthetic, 100,000 x 64 unit vectors around 10 random centres (no real data set of that size
is needed to time the server: the work per request depends on n, k and the classes, not on what
the vectors mean). Measures /health, /predict of 100 tasks, webhook received -> session updated
(the webhook's round trip: the response is sent after the journal commit and the incremental
update), the same inside the server, and a sustained 20 annotations/s.

    python benchmarks/serve/run.py                  # n=100000, writes benchmarks/serve/RESULTS.md
    python benchmarks/serve/run.py --n 20000 --seconds 10 --output /tmp/r.md     # a quick look
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import numpy as np

from labelgraph.serve import Backend, Journal, ServeConfig
from labelgraph.serve.backend import cached_graph
from labelgraph.serve.server import one_thread_per_task

N_CLASSES = 10
LABEL_CONFIG = ('<View><Text name="text" value="$text"/><Choices name="label" toName="text">'
                + "".join(f'<Choice value="c{i}"/>' for i in range(N_CLASSES)) + "</Choices></View>")


def synthetic(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((N_CLASSES, d))
    y = rng.integers(0, N_CLASSES, n)
    X = centres[y] + 0.9 * rng.standard_normal((n, d))
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32), y


def percentiles(seconds: list[float]) -> str:
    ms = np.array(seconds) * 1000
    return f"p50 {np.percentile(ms, 50):.1f} ms, p99 {np.percentile(ms, 99):.1f} ms, max {ms.max():.1f} ms (n={ms.size})"


def event(annotation: int, row: int, cls: int) -> dict:
    return {"action": "ANNOTATION_CREATED", "annotation": {"id": annotation, "task": row, "result": [
        {"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": [f"c{cls}"]}}]},
        "task": {"id": row, "data": {"row": row}}}


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo ("unknown CPU" elsewhere): the two kinds of development VM differ."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--d", type=int, default=64)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--annotations", type=int, default=300, help="webhooks timed one after another")
    parser.add_argument("--seconds", type=float, default=30, help="duration of the sustained 20/s run")
    parser.add_argument("--output", default=str(Path(__file__).with_name("RESULTS.md")))
    args = parser.parse_args()

    X, y = synthetic(args.n, args.d, 0)
    folder = Path(tempfile.mkdtemp(prefix="lg-serve-bench-"))
    np.save(folder / "emb.npy", X)
    (folder / "config.xml").write_text(LABEL_CONFIG)
    config = ServeConfig(embeddings=folder / "emb.npy", journal=folder / "journal.sqlite", k=args.k)
    start = time.perf_counter()
    graph = cached_graph(X, args.k, config.graph_cache)  # the server process reads it from this cache
    graph_seconds = time.perf_counter() - start
    rng = np.random.default_rng(1)
    order = iter(rng.permutation(args.n).tolist())
    annotation = iter(range(10**9))

    # 1. in the server's process, no HTTP: the webhook's work (journal commit + update + snapshot)
    start = time.perf_counter()
    backend = Backend(config, embeddings=X, graph=graph, label_config=LABEL_CONFIG)
    backend.wait_for_queue(600)
    cold_seconds = time.perf_counter() - start
    limits = one_thread_per_task()  # as `labelgraph serve` does once the backend has started
    inside = []
    for _ in range(100):
        row = next(order)
        t = time.perf_counter()
        backend.webhook(event(next(annotation), row, int(y[row])))
        inside.append(time.perf_counter() - t)
        time.sleep(0.05)  # 20 a second, as in the sustained run
    backend.wait_for_queue(600)
    refresh = list(backend.refresh_seconds)
    backend.close()
    limits.restore_original_limits()

    # 2. a real server process (as `labelgraph serve` runs), restarted on the same journal
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    start = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "labelgraph", "serve", str(folder / "emb.npy"), "--journal",
                               str(config.journal), "--label-config", str(folder / "config.xml"), "--port", str(port),
                               "--k", str(args.k), "--log-level", "warning", "--quiet"])
    while True:
        try:
            if httpx2.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx2.HTTPError:
            time.sleep(0.1)
        if server.poll() is not None or time.perf_counter() - start > 600:
            raise SystemExit("the server did not start")
    restart_seconds = time.perf_counter() - start
    try:
        with httpx2.Client(base_url=url, timeout=60) as client:
            health = []
            for _ in range(200):
                t = time.perf_counter()
                assert client.get("/health").status_code == 200
                health.append(time.perf_counter() - t)
            webhook = []
            for _ in range(args.annotations):
                row = next(order)
                t = time.perf_counter()
                answer = client.post("/webhook", json=event(next(annotation), row, int(y[row])))
                webhook.append(time.perf_counter() - t)
                assert answer.status_code == 200, answer.text
                time.sleep(0.01)
            predict = []
            for _ in range(100):
                rows = rng.choice(args.n, 100, replace=False).tolist()
                body = {"tasks": [{"id": r, "data": {"row": r}} for r in rows]}
                t = time.perf_counter()
                answer = client.post("/predict", json=body)
                predict.append(time.perf_counter() - t)
                assert answer.status_code == 200 and len(answer.json()["results"]) == 100

        # 3. sustained: 20 annotations a second sent on schedule (open loop) from a pool
        rate, total = 20, int(20 * args.seconds)
        sustained, lateness = [], []
        http = httpx2.Client(base_url=url, timeout=60, limits=httpx2.Limits(max_connections=32))

        def send(i: int, row: int, due: float) -> None:
            t = time.perf_counter()
            assert http.post("/webhook", json=event(i, row, int(y[row]))).status_code == 200
            done = time.perf_counter()
            sustained.append(done - t)
            lateness.append(done - due)

        begin = time.perf_counter()
        with ThreadPoolExecutor(max_workers=32) as pool:
            for i in range(total):
                due = begin + i / rate
                time.sleep(max(0.0, due - time.perf_counter()))
                pool.submit(send, next(annotation), next(order), due)
        elapsed = time.perf_counter() - begin
        http.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    events = len(Journal(config.journal).events())

    load = os.getloadavg()
    lines = [
        "# `labelgraph serve` latency",
        "",
        f"Command: `python benchmarks/serve/run.py --n {args.n} --annotations {args.annotations} --seconds {args.seconds:g}` "
        f"(run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}).",
        "",
        f"Data: synthetic {args.n:,} x {args.d} unit vectors around {N_CLASSES} random centres (the timing depends "
        f"on n, k and the classes, not on what the vectors mean); exact kNN graph k={args.k} "
        f"({graph_seconds:.0f} s to build once, cached beside the journal). Server: `labelgraph serve` in its own "
        "process (uvicorn on 127.0.0.1), journal in SQLite WAL with synchronous=FULL on the local disk; "
        "client: httpx2 on the same machine.",
        f"Machine: {cpu_model()}, {os.cpu_count()} cores shared with other jobs (load average {load[0]:.1f} / {load[1]:.1f} / "
        f"{load[2]:.1f} at the end), Python {platform.python_version()}.",
        "",
        "| what | latency |",
        "|---|---|",
        f"| first start: session + cold-start order (TypiClust, {config.queue_size} picks) | {cold_seconds:.1f} s |",
        f"| webhook work inside the server (journal commit + incremental update + snapshot), no HTTP | "
        f"{percentiles(inside)} |",
        f"| background refresh of the active-learning order (off the webhook's path, at most one a second) | "
        f"{percentiles(refresh)} |",
        f"| restart: replay of the journal ({100} events) until /health answers | {restart_seconds:.1f} s |",
        f"| GET /health | {percentiles(health)} |",
        f"| POST /webhook, round trip (answered after journal commit + session update) | {percentiles(webhook)} |",
        f"| POST /predict, 100 tasks | {percentiles(predict)} |",
        f"| sustained {rate} annotations/s for {args.seconds:g} s: round trip | {percentiles(sustained)} |",
        f"| sustained: answer time after the scheduled send | {percentiles(lateness)} |",
        "",
        f"Sustained run: {total} annotations sent in {elapsed:.1f} s (scheduled {total / rate:.1f} s), all answered 200; "
        f"the journal holds {events} events at the end.",
        "",
        "The issue's targets (2 cores, n=100k): webhook -> session updated p50 < 50 ms, p99 < 200 ms; /health < 10 ms; "
        "/predict of 100 tasks < 50 ms; 20 annotations/s without falling behind.",
    ]
    Path(args.output).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
