"""FastGAN's generator behind the generator contract: shapes, range, noise modes, SLE, round trip."""

import pytest
import torch

from explorer.models import ARCHITECTURES, build_generator
from explorer.models.fastgan import FastGANConfig
from explorer.weights import load_generator, save_generator

TINY = {"res": 32, "channels": 3, "z_dim": 16, "ngf": 4, "backbone": "random"}


def tiny_g(seed: int = 0, **kw):
    torch.manual_seed(seed)
    return build_generator("fastgan", {**TINY, **kw}).eval()


@pytest.mark.parametrize("res,channels", [(16, 1), (32, 3), (64, 3)])
def test_shapes_range_and_contract(res, channels):
    G = tiny_g(res=res, channels=channels)
    z = torch.randn(3, 16)
    ws = G.mapping(z)
    assert ws.shape == (3, 1, 16) and G.num_ws == 1
    assert torch.equal(ws[:, 0], z)  # mapping is the identity
    img = G.synthesis(ws)
    assert img.shape == (3, channels, res, res)
    assert img.abs().max() <= 1.0                                   # tanh
    assert (img[0] - img[1]).abs().max() > 1e-4                     # another z, another image
    assert torch.equal(G(z), img)
    caps = ARCHITECTURES["fastgan"].capabilities
    assert (caps.mixing, caps.noise, caps.truncation, caps.progressive) == (False, True, False, False)


def test_no_truncation_is_offered_since_synthesis_normalises_z():
    """Scaling z (the identity mapping's truncation) is undone by the unit-RMS step, so FastGAN offers no ψ
    and its mapping ignores one: at ψ = 0 every seed used to be drawn as the same image."""
    G = tiny_g().eval()
    z = torch.randn(2, 16)
    with torch.no_grad():
        assert torch.allclose(G.synthesis(0.3 * G.mapping(z)), G.synthesis(G.mapping(z)), atol=1e-5)
        assert torch.equal(G.mapping(z, truncation_psi=0.0), G.mapping(z))
        assert torch.equal(G(z, truncation_psi=0.0), G(z))


def test_a_seed_reproduces_its_image_whatever_the_batch():
    G = tiny_g()
    z = torch.randn(5, 16)
    with torch.no_grad():
        assert torch.allclose(G(z)[2:3], G(z[2:3]), atol=1e-6)


def test_noise_modes():
    G = tiny_g()
    with torch.no_grad():
        for b in G.blocks:
            if b.comp:
                b.noise_strength.fill_(1.0)  # untrained strengths are 0: make the noise visible
    z = torch.randn(2, 16)
    const, none = G(z, noise_mode="const"), G(z, noise_mode="none")
    r1 = G(z, noise_mode="random", noise_generator=torch.Generator().manual_seed(1))
    r1_again = G(z, noise_mode="random", noise_generator=torch.Generator().manual_seed(1))
    r2 = G(z, noise_mode="random", noise_generator=torch.Generator().manual_seed(2))
    assert torch.equal(const, G(z, noise_mode="const"))
    assert torch.equal(r1, r1_again)
    assert not torch.allclose(const, none) and not torch.allclose(r1, r2)
    assert G.noise_resolutions() == [8, 8, 32, 32]  # two noise inputs in each "comp" block
    with pytest.raises(ValueError, match="torch.Generator"):
        G(z, noise_mode="random")
    with pytest.raises(ValueError, match="noise_mode"):
        G(z, noise_mode="loud")


def test_sle_pairs_and_gating():
    assert FastGANConfig(res=64, backbone="random").sle_pairs() == [(4, 64)]
    assert FastGANConfig(res=256, backbone="random").sle_pairs() == [(4, 64), (8, 128), (16, 256)]
    assert FastGANConfig(res=32, backbone="random").sle_pairs() == [(4, 32)]
    assert FastGANConfig(res=16, backbone="random").sle_pairs() == []
    G, G_plain = tiny_g(res=64), tiny_g(res=64, sle=False)
    assert list(G.sle) == ["64"] and len(G_plain.sle) == 0
    # The 4x4 features gate the 64x64 ones: changing only the SLE weights changes the image.
    z = torch.randn(2, 16)
    before = G(z)
    with torch.no_grad():
        w = G.sle["64"].conv2.parametrizations.weight.original
        w.copy_(torch.randn(w.shape, generator=torch.Generator().manual_seed(3)))
    assert not torch.allclose(before, G(z))


def test_glu_blocks_widths():
    G = tiny_g(res=64, ngf=8)
    assert [b.res for b in G.blocks] == [8, 16, 32, 64]
    assert [b.comp for b in G.blocks] == [True, False, True, False]
    assert [b.conv1.weight.shape[0] for b in G.blocks] == [2 * 64, 2 * 32, 2 * 16, 2 * 16]  # 2x width before GLU


GOLDEN = [-0.01408, -0.01404, -0.0141, -0.04229, -0.04227, -0.04227, 0.00423, 0.00427, 0.00416]  # [C, 3]


def test_golden_corner():
    """A seeded tiny generator's output corner: an accidental architecture change fails here."""
    G = tiny_g(seed=0)
    with torch.no_grad():
        img = G(torch.randn(1, 16, generator=torch.Generator().manual_seed(0)))
    corner = img[0, :, 0, :3].flatten().tolist()
    assert corner == pytest.approx(GOLDEN, abs=2e-5)


def test_save_load_round_trip(tmp_path):
    G = tiny_g()
    path = save_generator(tmp_path / "fg", G, "fastgan", TINY, {"kimg": 0.1, "backbone": "random"})
    G2, meta = load_generator(path)
    z = torch.randn(3, 16)
    assert torch.equal(G(z), G2(z))
    assert meta["arch"] == "fastgan" and meta["train"]["backbone"] == "random"


def test_config_errors_say_what_to_do():
    with pytest.raises(ValueError, match="power of two"):
        FastGANConfig(res=48)
    with pytest.raises(ValueError, match="feature_res"):
        FastGANConfig(res=32, feature_res=32)  # F would see 32 px: too small for four levels
    with pytest.raises(ValueError, match="backbone"):
        FastGANConfig(backbone="resnet")
