"""StyleGAN3 (explorer/models/stylegan3.py, sg3_filters.py): the filter design against scipy's numbers, the fast
filtered lrelu and synthesis against the reference path, the input transform (translation and, for -R, rotation
equivariance), the layer-by-layer API with a transform, and a training step. The match with NVIDIA's own code
is checked through the importer (tests/unit/test_importers.py) and locally (bench/stylegan3_speed.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.models import ARCHITECTURES, build_discriminator, build_generator
from explorer.models import sg3_filters as filt
from explorer.models.stylegan3 import StyleGAN3Generator, layer_specs
from helpers import nontrivial_stylegan3

SMALL = {"res": 32, "z_dim": 8, "w_dim": 8, "channel_base": 256, "channel_max": 16, "num_layers": 6,
         "num_critical": 2, "margin_size": 4}
R = {"conv_kernel": 1, "use_radial_filters": True, "channel_base": 512, "channel_max": 32}


def small(variant: str = "t", seed: int = 0, **kw) -> StyleGAN3Generator:
    """A seeded 32 px generator with non-trivial biases, magnitude EMAs, input affine and w_avg."""
    return nontrivial_stylegan3({**SMALL, **(R if variant == "r" else {}), **kw}, seed)


# ----------------------------------------------------------------------------- filter design
def test_kaiser_lowpass_is_scipy_firwin():
    """scipy.signal.firwin(numtaps, cutoff, width=width, fs=fs) for two of StyleGAN3's filters (values from scipy)."""
    want = [0.002083757879, 0.024033406775, 0.060027894329, 0.103580685751, 0.143275355635, 0.16699889963]
    got = filt.firwin_lowpass(12, 2.8284271247461903, 2 * (5.0 - 2.8284271247461903), 32)
    np.testing.assert_allclose(got[:6], want, atol=1e-11)
    np.testing.assert_allclose(got, got[::-1], atol=1e-15)
    want = [-0.001638282749, -0.003055290602, -0.003715158147, -0.002145364455, 0.003312327736, 0.013982080421]
    np.testing.assert_allclose(filt.firwin_lowpass(24, 4.0, 8.0, 64)[:6], want, atol=1e-11)


def test_jinc_lowpass_is_nvidias_radial_design():
    np.testing.assert_allclose(filt.bessel_j1(np.array([0.5, 3.0, 10.0, 26.0])),
                               [0.242268457675, 0.339058958526, 0.043472746169, 0.015045730587], atol=1e-11)
    f = filt.jinc_lowpass(12, 5.656854249492381, 2 * (8 - 5.656854249492381), 32)
    np.testing.assert_allclose(f[0, :6], [0.00085423661, 0.001103684298, 0.000476175472, -0.000861744481,
                                          -0.002220388695, -0.003012214503], atol=1e-11)
    np.testing.assert_allclose(f[5, :6], [-0.003012214503, -0.007203816968, -0.001379985833, 0.024230372062,
                                          0.063774641679, 0.094371172517], atol=1e-11)
    assert abs(f.sum() - 1) < 1e-12 and np.allclose(f, f.T)


def test_the_layer_schedule_is_the_papers():
    """256 px, NVIDIA's defaults: 36 px at 16 samples first, 276 px at 256 last, ToRGB 256 px (Fig. 4 / Table 1)."""
    cfg = ARCHITECTURES["stylegan3"].config(res=256, channel_base=32768, channel_max=512)
    inp, specs = layer_specs(cfg)
    assert inp == {"channels": 512, "size": 36, "sampling_rate": 16.0, "bandwidth": 2.0}
    assert [s.name for s in specs] == ["36_512", "36_512", "36_512", "52_512", "52_512", "84_512", "84_512",
                                       "148_512", "148_512", "148_362", "276_256", "276_181", "276_128",
                                       "256_128", "256_3"]
    assert [s.out_sampling_rate for s in specs][-3:] == [256, 256, 256] and specs[-1].is_torgb


# ----------------------------------------------------------------------------- fast path = reference path
@pytest.mark.parametrize("variant", ["t", "r"])
@torch.no_grad()
def test_every_layers_fast_filtered_lrelu_is_the_reference(variant):
    """Each layer geometry of a 32 px model (up 2 and 4, the cropping critically sampled layers, the ToRGB,
    separable and radial filters), on inputs large enough to reach the clamp."""
    G = small(variant, conv_clamp=2.0)
    torch.manual_seed(1)
    clamped = 0
    for layer in list(G.layers[1:]) + list(G.to_rgb):
        k = layer.conv_kernel
        x = torch.randn(2, layer.out_channels, layer.in_size + k - 1, layer.in_size + k - 1) * 2
        ref = filt.filtered_lrelu_ref(x, layer.up_filter, layer.down_filter, layer.bias, layer.up_factor,
                                      layer.down_factor, layer.padding, layer.gain, layer.slope, layer.conv_clamp)
        _, _, up_k, down_k = layer._weight_prep(x)
        fast = filt.filtered_lrelu_fast(x, up_k, down_k, layer.bias, layer.up_factor, layer.down_factor,
                                        layer.padding, 1.0 if up_k is not None else layer.gain, layer.slope,
                                        layer.conv_clamp, layer.up_taps)
        assert fast.shape == ref.shape == (2, layer.out_channels, layer.out_size, layer.out_size)
        assert (fast - ref).abs().max() <= 1e-5, (layer.spec, (fast - ref).abs().max())
        free = filt.filtered_lrelu_ref(x, layer.up_filter, layer.down_filter, layer.bias, layer.up_factor,
                                       layer.down_factor, layer.padding, layer.gain, layer.slope, None)
        clamped += not torch.allclose(free, ref)
    assert clamped == G.num_layers  # the clamp acted in every layer, the ToRGB too


@pytest.mark.parametrize("variant", ["t", "r"])
def test_fast_synthesis_is_the_reference_synthesis(variant):
    G = small(variant)
    ws = G.mapping(torch.randn(3, 8), truncation_psi=0.8)
    T = G.input_transform(0.1, -0.05, 12.0)
    with torch.no_grad():
        for transform in (None, T):
            G.cfg.fast_inference = True
            fast = G.synthesis(ws, transform=transform)
            G.cfg.fast_inference = False
            ref = G.synthesis(ws, transform=transform)
            assert (fast - ref).abs().max() <= 1e-5 and ref.abs().max() > 0.05
    ref_grad = G.synthesis(ws)  # with autograd: the reference path
    assert torch.allclose(ref_grad.detach(), ref if transform is None else G.synthesis(ws).detach(), atol=1e-6)


def test_golden_corner():
    """A seeded 16 px -T's corner: an accidental change of the architecture or the filters fails here."""
    torch.manual_seed(0)
    G = build_generator("stylegan3", dict(ARCHITECTURES["stylegan3"].tiny)).eval()
    with torch.no_grad():
        img = G(torch.randn(1, 8))
    want = torch.tensor(GOLDEN)
    assert torch.allclose(img[0, 0, :2, :3], want, atol=1e-5), img[0, 0, :2, :3]


GOLDEN = [[0.10823671, 0.10621949, 0.09958914], [0.12122787, 0.10769868, 0.09541570]]


# ----------------------------------------------------------------------------- the contract's StyleGAN3 parts
def test_noise_and_truncation():
    G = small()
    assert not G.capabilities.noise and G.capabilities.mixing and G.capabilities.truncation
    assert G.make_noise(2, "random", None) == [None] * G.num_layers
    with pytest.raises(ValueError, match="noise_mode"):
        G.make_noise(1, "loud", None)
    z = torch.randn(2, 8)
    ws = G.mapping(z)
    with torch.no_grad():
        a = G.synthesis(ws)
        assert torch.equal(a, G.synthesis(ws, noise_mode="random", noise_generator=torch.Generator().manual_seed(1)))
        assert torch.equal(a, G.synthesis(ws, noise_mode="none", noise_strength=[0.0] * G.num_layers))
    assert torch.allclose(G.mapping(z, truncation_psi=0.0), G.w_avg.expand(2, G.num_ws, -1))
    cut = G.mapping(z, truncation_psi=0.0, truncation_cutoff=3)
    assert torch.allclose(cut[:, :3], G.w_avg.expand(2, 3, -1)) and torch.equal(cut[:, 3:], ws[:, 3:])
    assert G.cfg.variant == "stylegan3-t" and small("r").cfg.variant == "stylegan3-r"
    assert G.num_ws == SMALL["num_layers"] + 2 and G.layer_w == list(range(G.num_layers))
    assert G.ws_resolutions() == [4, 4, 8, 16, 16, 32, 32, 32] and len(G.noise_resolutions()) == G.num_layers
    assert [k for k, _ in G.feature_layers()][:2] == ["input", "L0_24_16"]


def test_layer_by_layer_with_a_transform_is_synthesis():
    G = small()
    ws = G.mapping(torch.randn(2, 8))
    T = G.input_transform(0.25, 0.0, 30.0)
    with torch.no_grad():
        state = G.initial_state(2, transform=T)
        for i in range(G.num_layers):
            state = G.run_layer(i, state, ws, None)
        assert torch.equal(G.finish(state, ws), G.synthesis(ws, transform=T))
        assert torch.equal(G.synthesis(ws, transform=T.expand(2, 3, 3)), G.synthesis(ws, transform=T))
        assert torch.equal(G.synthesis(ws, transform=G.input_transform()), G.synthesis(ws))


def test_the_input_transform_translates_and_rotates():
    """tx = 4/32 of the width moves the picture 4 px right, ty 4 px down (-T: translation equivariant, up to the
    borders); -R rotated by 90 degrees is the picture turned counter-clockwise, exactly (the grid maps onto itself)."""
    G = small()
    ws = G.mapping(torch.randn(1, 8))
    inner = (slice(None), slice(None), slice(6, 26), slice(6, 26))
    with torch.no_grad():
        a = G.synthesis(ws)
        for (tx, ty), shift in (((4 / 32, 0), (0, 4)), ((0, 4 / 32), (4, 0))):
            b = G.synthesis(ws, transform=G.input_transform(tx, ty))
            rolled = torch.roll(a, shifts=shift, dims=(2, 3))
            assert (b - rolled)[inner].abs().mean() < 0.05 * a.abs().mean()
            assert (b - a)[inner].abs().mean() > 0.3 * a.abs().mean()
        G = small("r")
        ws = G.mapping(torch.randn(1, 8))
        a = G.synthesis(ws)
        b = G.synthesis(ws, transform=G.input_transform(angle=90))
        assert (b - torch.rot90(a, 1, dims=(2, 3)))[inner].abs().max() < 1e-4


def test_magnitude_emas_track_during_training_and_a_training_step_moves_the_weights():
    torch.manual_seed(0)
    cfg = dict(ARCHITECTURES["stylegan3"].tiny)
    G, D = build_generator("stylegan3", cfg), build_discriminator("stylegan3", cfg)
    ws = G.mapping(torch.randn(4, 8))
    before = [float(layer.magnitude_ema) for layer in G.layers[1:]]
    img = G.synthesis(ws, update_emas=True)
    assert [float(layer.magnitude_ema) for layer in G.layers[1:]] != before
    logits = D(img)
    assert logits.shape == (4,)
    opt = torch.optim.Adam(G.parameters(), lr=1e-2)
    w0 = G.layers[1].weight.detach().clone()
    torch.nn.functional.softplus(-logits).mean().backward()  # -log(sigmoid(logits))
    opt.step()
    assert not torch.equal(w0, G.layers[1].weight) and torch.isfinite(G.layers[1].weight).all()
