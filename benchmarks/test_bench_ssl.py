"""BYOL throughput on CPU: training images/s and embedding images/s, with a plain-backbone baseline
in the same group (the cost of one forward+backward / one forward without BYOL's extra work).

Tiny by default (timm's ``test_resnet``, 28 px grayscale, batch 64, 1 thread); change with
``LABELGRAPH_BENCH_SSL_BACKBONE``, ``..._SIZE``, ``..._BATCH``, ``..._THREADS``. Smoke run:
``python -m pytest benchmarks/test_bench_ssl.py --benchmark-disable -q``.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("timm")

from labelgraph.ssl.embed import embed  # noqa: E402
from labelgraph.ssl.trainer import BYOLConfig, BYOLTrainer  # noqa: E402

BACKBONE = os.environ.get("LABELGRAPH_BENCH_SSL_BACKBONE", "test_resnet")
SIZE = int(os.environ.get("LABELGRAPH_BENCH_SSL_SIZE", "28"))
BATCH = int(os.environ.get("LABELGRAPH_BENCH_SSL_BATCH", "64"))
THREADS = int(os.environ.get("LABELGRAPH_BENCH_SSL_THREADS", "1"))
ROUNDS = int(os.environ.get("LABELGRAPH_BENCH_SSL_ROUNDS", "5"))
EMBED_N = 4 * BATCH


@pytest.fixture(scope="module")
def trainer() -> BYOLTrainer:
    torch.set_num_threads(THREADS)
    cfg = BYOLConfig(backbone=BACKBONE, image_size=SIZE, batch_size=BATCH, steps=10_000, device="cpu",
                     projection_hidden_dim=1024, projection_dim=128, prediction_hidden_dim=1024)
    return BYOLTrainer(cfg, in_chans=1)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (EMBED_N, SIZE, SIZE), dtype=np.uint8)


def _throughput(benchmark, n_images: int) -> float:
    stats = getattr(benchmark, "stats", None)
    if stats is None or not stats.stats.data:  # --benchmark-disable
        return float("nan")
    rate = n_images / stats.stats.mean
    benchmark.extra_info["images_per_s"] = round(rate, 1)
    return rate


def test_bench_byol_train_step(benchmark, trainer, images):
    batch = torch.from_numpy(images[:BATCH, None].copy())
    benchmark.group = f"ssl-train-{BACKBONE}-{SIZE}px-b{BATCH}"
    stats = benchmark.pedantic(trainer.train_step, args=(batch,), rounds=ROUNDS, iterations=1, warmup_rounds=1)
    assert np.isfinite(stats["loss"]) and 0.0 <= stats["loss"] <= 4.0
    _throughput(benchmark, BATCH)


def test_bench_backbone_fwd_bwd_baseline(benchmark, trainer):
    net = trainer.model.online_backbone
    x = torch.randn(BATCH, 1, SIZE, SIZE)

    def step() -> float:
        net.zero_grad(set_to_none=True)
        out = net(x)
        out.square().mean().backward()
        return float(out.detach().mean())

    benchmark.group = f"ssl-train-{BACKBONE}-{SIZE}px-b{BATCH}"
    assert np.isfinite(benchmark.pedantic(step, rounds=ROUNDS, iterations=1, warmup_rounds=1))
    _throughput(benchmark, BATCH)


def test_bench_embed(benchmark, trainer, images):
    benchmark.group = f"ssl-embed-{BACKBONE}-{SIZE}px"
    emb = benchmark.pedantic(trainer.embed, args=(images,), kwargs={"batch_size": 256}, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    assert emb.shape[0] == EMBED_N and np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-4)
    _throughput(benchmark, EMBED_N)


def test_bench_backbone_forward_baseline(benchmark, trainer, images):
    net = trainer.model.online_backbone.eval()
    x = torch.from_numpy(images[:, None].astype(np.float32) / 255.0)

    def forward() -> int:
        with torch.no_grad():
            return sum(int(net(x[i:i + 256]).shape[0]) for i in range(0, EMBED_N, 256))

    benchmark.group = f"ssl-embed-{BACKBONE}-{SIZE}px"
    try:
        assert benchmark.pedantic(forward, rounds=ROUNDS, iterations=1, warmup_rounds=1) == EMBED_N
    finally:
        net.train()
    _throughput(benchmark, EMBED_N)


def test_embed_function_matches_trainer(trainer, images):
    cfg = trainer.config
    a = trainer.embed(images[:8])
    b = embed(trainer.model.online_backbone, images[:8], cfg.image_size, cfg.mean, cfg.std)
    assert np.allclose(a, b, atol=1e-6)
