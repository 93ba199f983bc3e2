"""The StyleGAN inference fast path against the reference ops it replaces."""

import pytest
import torch
import torch.nn.functional as F

from explorer.models import build_generator
from explorer.models.stylegan import up_conv3x3

FORMATS = [torch.contiguous_format, torch.channels_last]


@pytest.mark.parametrize("n", [1, 2, 5, 16])
@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("bias", [False, True])
def test_up_conv3x3_is_conv_of_bilinear(n, batch, fmt, bias):
    torch.manual_seed(n)
    x = torch.randn(batch, 6, n, n).contiguous(memory_format=fmt)
    w, b = torch.randn(5, 6, 3, 3), (torch.randn(5) if bias else None)
    ref = F.conv2d(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False), w, b, padding=1)
    assert torch.allclose(up_conv3x3(x, w, b), ref, atol=1e-5)


def small_g(variant, res=64, **extra):
    torch.manual_seed(0)
    G = build_generator("stylegan", {"res": res, "variant": variant, "z_dim": 8, "w_dim": 8, "mapping_layers": 2,
                                     "channel_base": 256, "channel_max": 16, **extra}).eval()
    with torch.no_grad():  # biases and noise scales start at 0: make them matter
        for m in list(G.layers) + list(G.to_rgb):
            m.bias.normal_()
        for layer in G.layers:
            layer.noise_strength.normal_()
    return G


@pytest.mark.parametrize("variant", ["adain", "modulated"])
@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("noise_mode", ["const", "random", "none"])
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("upsample", ["bilinear", "fir"])
def test_fast_synthesis_matches_the_reference(variant, batch, noise_mode, fmt, upsample):
    # conv_clamp 4 clips part of this model's activations (its layers reach 6 to 25), so both paths must
    # clamp at the same place.
    G = small_g(variant, upsample=upsample, conv_clamp=4.0 if upsample == "fir" else None).to(memory_format=fmt)
    ws = G.mapping(torch.randn(batch, 8)).detach()

    def render(fast):
        G.cfg.fast_inference = fast
        gen = torch.Generator().manual_seed(1) if noise_mode == "random" else None
        with torch.inference_mode():
            assert G.fast() == fast
            return G.synthesis(ws, noise_mode=noise_mode, noise_generator=gen)

    ref, fast = render(False), render(True)
    assert fast.shape == ref.shape == (batch, 3, 64, 64)
    assert torch.allclose(fast, ref, atol=1e-4, rtol=1e-4), (fast - ref).abs().max()


@pytest.mark.parametrize("variant", ["adain", "modulated"])
@pytest.mark.parametrize("upsample", ["bilinear", "fir"])
def test_training_keeps_the_reference_path(variant, upsample):
    G = small_g(variant, res=16, upsample=upsample)
    assert not G.fast()  # autograd on: the reference ops, whatever fast_inference says
    G.synthesis(G.mapping(torch.randn(2, 8))).square().mean().backward()
    assert all(p.grad is not None for p in G.layers.parameters())


@pytest.mark.parametrize("variant", ["adain", "modulated"])
@pytest.mark.parametrize("upsample", ["bilinear", "fir"])
def test_fast_layer_by_layer_equals_fast_synthesis(variant, upsample):
    G = small_g(variant, upsample=upsample)
    with torch.inference_mode():
        ws = G.mapping(torch.randn(1, 8))
        noise = G.make_noise(1, "const", None)
        state = G.initial_state(1)
        for i in range(G.num_layers):
            state = G.run_layer(i, state, ws, noise[i])
        assert torch.equal(G.finish(state, ws), G.synthesis(ws))


@pytest.mark.parametrize("upsample", ["bilinear", "fir"])
@pytest.mark.parametrize("batch", [1, 3])
def test_fast_path_follows_weight_changes(upsample, batch):
    """The fast path keeps weight-only work between calls; an optimiser step, load_state_dict or a move
    of the weights must show in the very next render."""
    G = small_g("modulated", upsample=upsample)
    ws = G.mapping(torch.randn(batch, 8)).detach()

    def render(fast):
        G.cfg.fast_inference = fast
        with torch.inference_mode():
            return G.synthesis(ws, noise_mode="const")

    before = render(True)
    opt = torch.optim.SGD(G.layers.parameters(), lr=1e-3)
    G.synthesis(ws).square().mean().backward()
    opt.step()                                                    # in place, as training does
    stepped = render(True)
    assert not torch.allclose(stepped, before, atol=1e-3)
    assert torch.allclose(stepped, render(False), atol=1e-4, rtol=1e-4)
    other = small_g("modulated", upsample=upsample)
    G.load_state_dict(other.state_dict())                         # copy_ into the same tensors
    assert torch.allclose(render(True), render(False), atol=1e-4, rtol=1e-4)
    G.double()                                                    # new storage and dtype
    ws = ws.double()
    assert torch.allclose(render(True), render(False), atol=1e-8, rtol=1e-8)
