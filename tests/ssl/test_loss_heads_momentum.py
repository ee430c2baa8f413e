"""The small parts: loss symmetry and range, heads' shapes, EMA update math."""

import pytest

torch = pytest.importorskip("torch")

from labelgraph.ssl.heads import BYOLPredictionHead, BYOLProjectionHead, MLPHead  # noqa: E402
from labelgraph.ssl.loss import byol_loss, normalized_mse  # noqa: E402
from labelgraph.ssl.momentum import deactivate_requires_grad, update_momentum  # noqa: E402


def test_loss_range_and_extremes():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(16, 8, generator=g)
    assert float(normalized_mse(x, x)) == pytest.approx(0.0, abs=1e-5)
    assert float(normalized_mse(x, -x)) == pytest.approx(4.0, abs=1e-5)
    assert float(normalized_mse(x, 3.0 * x)) == pytest.approx(0.0, abs=1e-5)  # scale invariant
    for _ in range(20):
        p1, p2, z1, z2 = (torch.randn(8, 5, generator=g) for _ in range(4))
        value = float(byol_loss(p1, p2, z1, z2))
        assert 0.0 <= value <= 4.0


def test_loss_symmetric_under_view_swap_and_matches_formula():
    g = torch.Generator().manual_seed(1)
    p1, p2, z1, z2 = (torch.randn(6, 4, generator=g) for _ in range(4))
    assert torch.allclose(byol_loss(p1, p2, z1, z2), byol_loss(p2, p1, z2, z1))
    cos = torch.nn.functional.cosine_similarity
    expected = 0.5 * ((2 - 2 * cos(p1, z2)).mean() + (2 - 2 * cos(p2, z1)).mean())
    assert torch.allclose(byol_loss(p1, p2, z1, z2), expected, atol=1e-6)


def test_loss_stops_gradient_into_target():
    p = torch.randn(4, 3, requires_grad=True)
    z = torch.randn(4, 3, requires_grad=True)
    normalized_mse(p, z).backward()
    assert p.grad is not None and z.grad is None


def test_loss_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="prediction and target"):
        normalized_mse(torch.randn(4, 3), torch.randn(4, 2))


def test_heads_shapes_and_defaults():
    proj = BYOLProjectionHead(512)
    pred = BYOLPredictionHead()
    assert proj.layers[0].out_features == 4096 and proj.layers[-1].out_features == 256
    z = proj(torch.randn(4, 512))
    assert z.shape == (4, 256) and pred(z).shape == (4, 256)
    assert isinstance(proj.layers[1], torch.nn.BatchNorm1d)
    with pytest.raises(ValueError, match="hidden_dim"):
        MLPHead(8, 0, 4)


def test_ema_update_math():
    torch.manual_seed(0)
    online, target = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)), None
    target = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    online(torch.randn(8, 3))  # moves online BN running stats and counter
    before_t = [t.clone() for t in target.state_dict().values()]
    onl = list(online.state_dict().values())
    update_momentum(online, target, 0.9)
    for key, t0, o, t1 in zip(target.state_dict(), before_t, onl, target.state_dict().values()):
        if t1.is_floating_point():
            assert torch.allclose(t1, 0.9 * t0 + 0.1 * o, atol=1e-6), key
        else:
            assert torch.equal(t1, o), key  # num_batches_tracked is copied
    snapshot = [t.clone() for t in target.parameters()]
    update_momentum(online, target, 1.0)
    assert all(torch.equal(a, b) for a, b in zip(snapshot, target.parameters()))
    update_momentum(online, target, 0.0)
    assert all(torch.equal(a, b) for a, b in zip(online.parameters(), target.parameters()))
    with pytest.raises(ValueError, match="tau"):
        update_momentum(online, target, 1.5)


def test_deactivate_requires_grad():
    net = torch.nn.Linear(2, 2)
    deactivate_requires_grad(net)
    assert not any(p.requires_grad for p in net.parameters())
