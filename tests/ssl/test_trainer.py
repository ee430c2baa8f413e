"""The training loop on CPU: loss falls on a tiny run, checkpoint round trip, exact resume, embeddings."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("timm")

from labelgraph.ssl.byol import BYOL  # noqa: E402
from labelgraph.ssl.backbone import create_backbone  # noqa: E402
from labelgraph.ssl.trainer import BYOLConfig, BYOLTrainer  # noqa: E402


def _images(n: int = 64, size: int = 16, channels: int = 1) -> np.ndarray:
    # Two kinds of structured images (bars and blobs) with noise, so there is something to learn.
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:size, :size]
    out = np.empty((n, size, size, channels), np.uint8)
    for i in range(n):
        if i % 2:
            img = ((xx + rng.integers(0, 4)) % 4 < 2) * 200.0
        else:
            cy, cx = rng.integers(4, size - 4, 2)
            img = (((yy - cy) ** 2 + (xx - cx) ** 2) < 12) * 220.0
        img = img + rng.normal(0, 20, img.shape)
        out[i] = np.clip(img, 0, 255).astype(np.uint8)[..., None]
    return out if channels > 1 else out[..., 0]


def _config(**kw) -> BYOLConfig:
    base = dict(backbone="test_resnet", image_size=16, batch_size=16, steps=6, lr=1e-3,
                projection_hidden_dim=64, projection_dim=32, prediction_hidden_dim=64, device="cpu", seed=0, log_every=1)
    base.update(kw)
    return BYOLConfig(**base)


def test_tiny_cpu_run_loss_falls():
    trainer = BYOLTrainer(_config(steps=40, lr=3e-3, warmup_steps=2))
    history = trainer.fit(_images(64), progress=False)
    losses = [h["loss"] for h in history]
    assert len(losses) == 40 and all(np.isfinite(losses))
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])


def test_checkpoint_round_trip_and_exact_resume(tmp_path):
    images = _images(48)
    straight = BYOLTrainer(_config())
    straight.fit(images, progress=False)

    first = BYOLTrainer(_config())
    first.fit(images, progress=False, stop_after=4, checkpoint_path=tmp_path / "ck.pt")
    assert first.step == 4
    restored = BYOLTrainer.from_checkpoint(tmp_path / "ck.pt")
    assert restored.step == 4 and restored.config.in_chans == 1
    for a, b in zip(first.model.state_dict().values(), restored.model.state_dict().values()):
        assert torch.equal(a, b)
    assert torch.equal(first.generator.get_state(), restored.generator.get_state())
    restored.fit(images, progress=False)
    assert restored.step == 6
    for key, a in straight.model.state_dict().items():
        assert torch.allclose(a, restored.model.state_dict()[key], atol=1e-6), key


def test_checkpoint_backbone_loads_as_weights_file(tmp_path):
    trainer = BYOLTrainer(_config(steps=2))
    trainer.fit(_images(32), progress=False, checkpoint_path=tmp_path / "ck.pt")
    net = create_backbone("test_resnet", in_chans=1, weights=tmp_path / "ck.pt")
    for key, value in net.state_dict().items():
        assert torch.equal(value, trainer.model.online_backbone.state_dict()[key])


def test_target_is_ema_not_trained():
    trainer = BYOLTrainer(_config(steps=3, base_tau=1.0), in_chans=1)  # tau = 1: target frozen at init
    target0 = {k: v.clone() for k, v in trainer.model.target_backbone.state_dict().items()}
    trainer.fit(_images(32), progress=False)
    for k, v in trainer.model.target_backbone.state_dict().items():
        if v.is_floating_point() and "running" not in k:
            assert torch.equal(v, target0[k]), k
    assert not any(p.requires_grad for p in trainer.model.target_backbone.parameters())


def test_embed_shapes_norms_and_npy(tmp_path):
    trainer = BYOLTrainer(_config(steps=1))
    trainer.fit(_images(32, channels=3), progress=False)
    emb = trainer.embed(_images(10, channels=3), batch_size=4, out=tmp_path / "e.npy")
    assert emb.dtype == np.float32 and emb.shape[0] == 10
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(np.load(tmp_path / "e.npy"), emb)
    assert trainer.model.training  # embed restores the training mode


def test_monitor_and_progress_printer(capsys, monkeypatch):
    import sys

    from labelgraph.ssl.knn_monitor import KnnMonitor

    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # no tqdm: the plain printer reports

    pytest.importorskip("labelgraph._core")
    images = _images(40)
    labels = np.arange(40) % 2
    monitor = KnnMonitor(images[:30], labels[:30], images[30:], labels[30:], k=5)
    trainer = BYOLTrainer(_config(steps=4, knn_every=2, log_every=3))  # kNN steps need not be log steps
    history = trainer.fit(images, monitor=monitor, progress=True)
    accs = [h["knn_acc"] for h in history if "knn_acc" in h]
    assert len(accs) == 2 and all(0.0 <= a <= 1.0 for a in accs)
    err = capsys.readouterr().err
    assert "BYOL step 4/4" in err and "images_per_s" in err and "loss" in err


def test_bad_config_and_inputs():
    with pytest.raises(ValueError, match="batch_size"):
        _config(batch_size=0)
    with pytest.raises(ValueError, match="warmup_steps"):
        _config(warmup_steps=10)
    trainer = BYOLTrainer(_config(batch_size=16))
    with pytest.raises(ValueError, match="batch_size"):
        trainer.fit(_images(8), progress=False)


def test_byol_module_gradients_only_online():
    model = BYOL(create_backbone("test_resnet", in_chans=1), 32, 16, 32)
    x = torch.randn(4, 1, 16, 16)
    model(x, x.flip(-1)).backward()
    assert all(p.grad is not None for p in model.predictor.parameters())
    assert all(p.grad is None for p in model.target_projector.parameters())


def test_gpu_only_options_are_harmless_on_cpu():
    # bf16 autocast applies on CUDA only; channels-last is a memory format and works on CPU too.
    trainer = BYOLTrainer(_config(steps=2, amp=True, channels_last=True))
    history = trainer.fit(_images(32), progress=False)
    assert np.isfinite(history[-1]["loss"])
    emb = trainer.embed(_images(4))
    assert emb.dtype == np.float32 and np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
