"""StyleGAN's "fir" upsampling (NVIDIA's and rosinality's order) against an independent formulation,
conv_clamp, and old checkpoints keeping the "bilinear" order they were trained with."""

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from explorer.edit.latents import latents_for_seeds
from explorer.models import build_generator
from explorer.models.stylegan import fir_up_conv3x3, fir_upsample2x
from explorer.train.recipes import make_train_config
from explorer.weights import load_generator

# The StyleGAN2 faces model shipped before the "upsample" option existed (its config has no such field).
OLD = Path(__file__).resolve().parents[1] / "data" / "stylegan2-faces-bilinear.json"
TAPS = torch.tensor([1.0, 3.0, 3.0, 1.0])


def zero_stuff(x: torch.Tensor) -> torch.Tensor:
    """[N, C, n, n] -> [N, C, 2n, 2n] with x at the even positions and zeros between."""
    n, c, h, w = x.shape
    out = x.new_zeros(n, c, 2 * h, 2 * w)
    out[:, :, ::2, ::2] = x
    return out


def fir(x: torch.Tensor, pad: tuple[int, int]) -> torch.Tensor:
    """The [1,3,3,1] x [1,3,3,1] filter (taps summing to 4) over zero padding (before, after) on both axes, depthwise."""
    k = (TAPS[:, None] * TAPS[None, :] / 16).expand(x.shape[1], 1, 4, 4)
    return F.conv2d(F.pad(x, (pad[0], pad[1], pad[0], pad[1])), k, groups=x.shape[1])


@pytest.mark.parametrize("n", [1, 2, 5])
def test_fir_upsample_is_zero_stuffing_then_the_filter(n):
    torch.manual_seed(n)
    x = torch.randn(2, 3, n, n)
    ref = fir(zero_stuff(x), (2, 1))  # NVIDIA's upsample2d padding for a 4-tap filter
    assert torch.allclose(fir_upsample2x(x), ref, atol=1e-6)


def test_fir_upsample_is_bilinear_inside_and_zero_padded_on_the_ring():
    x = torch.rand(1, 2, 6, 6) + 1.0
    up, bil = fir_upsample2x(x), F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    assert torch.allclose(up[..., 1:-1, 1:-1], bil[..., 1:-1, 1:-1], atol=1e-6)
    assert (up[..., 0, :] < bil[..., 0, :]).all()  # the edge blends with zeros, not with itself


@pytest.mark.parametrize("n", [1, 4])
@pytest.mark.parametrize("fmt", [torch.contiguous_format, torch.channels_last])
def test_fir_up_conv_is_conv_of_the_zero_stuffed_input_then_the_filter(n, fmt):
    torch.manual_seed(n)
    x = torch.randn(2, 6, n, n).contiguous(memory_format=fmt)
    w, b = torch.randn(5, 6, 3, 3), torch.randn(5)
    # 'full' correlation of the zero-stuffed input (2n+1 outputs), then the filter with one pixel of padding.
    y = F.conv2d(F.pad(zero_stuff(x)[..., :-1, :-1], (2, 2, 2, 2)), w)
    ref = fir(y, (1, 1)) + b[None, :, None, None]
    assert torch.allclose(fir_up_conv3x3(x, w, b), ref, atol=1e-4)


def test_conv_clamp_bounds_every_layer_and_the_image():
    torch.manual_seed(0)
    cfg = {"res": 16, "z_dim": 8, "w_dim": 8, "mapping_layers": 2, "channel_base": 64, "channel_max": 8,
           "upsample": "fir"}
    G, Gc = (build_generator("stylegan", dict(cfg, conv_clamp=c)).eval() for c in (None, 0.5))
    Gc.load_state_dict(G.state_dict())
    ws = G.mapping(torch.randn(2, 8)).detach()
    for fast in (False, True):
        G.cfg.fast_inference = Gc.cfg.fast_inference = fast
        with torch.no_grad():
            assert Gc.fast() == fast
            state, clipped = Gc.initial_state(2), G.initial_state(2)
            for i in range(G.num_layers):
                state, clipped = Gc.run_layer(i, state, ws, None), G.run_layer(i, clipped, ws, None)
                assert state[0].abs().max() <= 0.5 + 1e-6
            assert clipped[0].abs().max() > 0.5  # the clamp did something
            # toRGB outputs are clamped too: 3 of them summed through the filter stay within 3 * 0.5 * gain
            assert Gc.finish(state, ws).abs().max() <= 0.5 * (1 + 1 + 1) + 1e-5


def test_stylegan2_recipe_trains_with_fir_and_old_configs_stay_bilinear():
    cfg = make_train_config("stylegan2", res=16, channels=3)
    assert cfg.model["upsample"] == "fir"
    assert build_generator("stylegan", {"res": 16}).cfg.upsample == "bilinear"  # a config without the field
    with pytest.raises(ValueError, match="upsample must be one of"):
        build_generator("stylegan", {"res": 16, "upsample": "nearest"})


# That model's pixels as the code before the "upsample" option drew them (seeds 0, 1, 2, const noise):
# image [:, :, 0, 0] (a corner, where bilinear and fir differ most), image 0 channel 0's top-right 2x2, sum |img|.
GOLDEN_CORNERS = [0.85782, 0.58345, 0.14173, 0.67729, 0.63001, 0.09671, 0.46261, 0.31149, 0.48481]
GOLDEN_TOP_RIGHT = [0.69234, 0.62054, 0.67083, 0.58535]
GOLDEN_ABS_SUM = 16726.9


@pytest.mark.parametrize("fast", [True, False])
def test_an_old_stylegan2_checkpoint_renders_as_before(fast):
    assert "upsample" not in json.loads(OLD.read_text())["config"]  # an old checkpoint
    G, _ = load_generator(OLD)
    assert G.cfg.upsample == "bilinear"
    G.cfg.fast_inference = fast
    with torch.inference_mode():
        img = G(latents_for_seeds([0, 1, 2], G.z_dim))
    assert torch.allclose(img[:, :, 0, 0].flatten(), torch.tensor(GOLDEN_CORNERS), atol=2e-5)
    assert torch.allclose(img[0, 0, :2, -2:].flatten(), torch.tensor(GOLDEN_TOP_RIGHT), atol=2e-5)
    assert img.abs().sum().item() == pytest.approx(GOLDEN_ABS_SUM, abs=0.05)
