"""Backbones: any timm name, grayscale/colour, the hub code path on a local file, local weights files."""

import pytest

torch = pytest.importorskip("torch")
timm = pytest.importorskip("timm")

from labelgraph.ssl.backbone import create_backbone, feature_dim, load_weights_file  # noqa: E402

NAME = "test_resnet"  # timm's tiny test network: fast enough for unit tests


@pytest.mark.parametrize("in_chans", [1, 3])
def test_headless_backbone_any_channels(in_chans):
    net = create_backbone(NAME, in_chans=in_chans)
    out = net(torch.zeros(2, in_chans, 24, 24))
    assert out.shape == (2, feature_dim(net))


def test_unknown_name():
    with pytest.raises(ValueError, match="not a timm model"):
        create_backbone("no_such_net_123")


def _full_rgb_state(tmp_path, fmt: str):
    torch.manual_seed(0)
    full = timm.create_model(NAME, num_classes=10, in_chans=3)  # with a classifier, like hub weights
    state = full.state_dict()
    if fmt == "safetensors":
        from safetensors.torch import save_file

        path = tmp_path / "w.safetensors"
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        path = tmp_path / "w.pth"
        torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}, "epoch": 3}, path)
    return state, path


def _first_conv(state):
    return next(k for k, v in state.items() if v.ndim == 4)


def test_hub_code_path_with_local_file(tmp_path):
    # pretrained=True runs timm's hub loader; pretrained_cfg_overlay points it at a local file,
    # so the same code (classifier dropped, RGB conv adapted to 1 channel) runs offline.
    state, path = _full_rgb_state(tmp_path, "safetensors")
    net = create_backbone(NAME, in_chans=1, pretrained=True, pretrained_cfg_overlay=dict(file=str(path)))
    own = net.state_dict()
    conv = _first_conv(state)
    assert own[conv].shape[1] == 1
    assert torch.allclose(own[conv], state[conv].sum(dim=1, keepdim=True), atol=1e-6)
    shared = [k for k in own if k != conv and own[k].is_floating_point()]
    assert shared and all(torch.equal(own[k], state[k]) for k in shared)


@pytest.mark.parametrize("fmt", ["safetensors", "torch"])
def test_local_weights_file(tmp_path, fmt):
    state, path = _full_rgb_state(tmp_path, fmt)
    net = create_backbone(NAME, in_chans=3, weights=path)
    own = net.state_dict()
    assert all(torch.equal(own[k], state[k]) for k in own)
    gray = create_backbone(NAME, in_chans=1, weights=path)
    conv = _first_conv(state)
    assert torch.allclose(gray.state_dict()[conv], state[conv].sum(dim=1, keepdim=True), atol=1e-6)


def test_weights_file_errors(tmp_path):
    net = create_backbone(NAME)
    with pytest.raises(FileNotFoundError):
        load_weights_file(net, tmp_path / "missing.pt")
    other = timm.create_model("resnet10t", num_classes=0).state_dict()
    torch.save(other, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="does not fit"):
        load_weights_file(net, tmp_path / "other.pt")
    report = load_weights_file(net, tmp_path / "other.pt", strict=False)
    assert report["missing"]
