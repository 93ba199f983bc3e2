"""Model contracts on tiny configs: shapes, ranges, the generator API, golden values."""

import pytest
import torch
from torch import nn

from explorer.models import ARCHITECTURES, build_discriminator, build_generator, make_config


def tiny(**kw):
    return {"res": 16, "channels": 3, "ngf": 8, "ndf": 8, "z_dim": 16, **kw}


@pytest.mark.parametrize("res,channels", [(16, 1), (32, 1), (32, 3), (64, 3)])
def test_shapes_and_range(res, channels):
    torch.manual_seed(0)
    cfg = tiny(res=res, channels=channels)
    G, D = build_generator("dcgan", cfg).eval(), build_discriminator("dcgan", cfg).eval()
    z = torch.randn(3, cfg["z_dim"])
    with torch.no_grad():
        img = G(z)
        logits = D(img)
    assert img.shape == (3, channels, res, res)
    assert img.min() >= -1 and img.max() <= 1
    assert img.std() > 0  # not a constant picture
    assert logits.shape == (3,)


def test_generator_contract_mapping_and_synthesis():
    torch.manual_seed(0)
    G = build_generator("dcgan", tiny()).eval()
    z = torch.randn(4, 16)
    ws = G.mapping(z)
    assert ws.shape == (4, G.num_ws, G.w_dim) == (4, 1, 16)
    with torch.no_grad():
        assert torch.equal(G.synthesis(ws), G(z))
    # Truncation: psi = 0 gives the average latent (0 for z ~ N(0, I)); psi = 0.5 halves the distance.
    assert torch.equal(G.mapping(z, truncation_psi=0.0), torch.zeros_like(ws))
    assert torch.allclose(G.mapping(z, truncation_psi=0.5), 0.5 * ws)
    caps = ARCHITECTURES["dcgan"].capabilities
    assert caps.truncation and not caps.mixing and not caps.progressive


def test_image_depends_on_its_latent_alone_in_eval_mode():
    torch.manual_seed(0)
    G = build_generator("dcgan", tiny()).eval()
    z = torch.randn(5, 16)
    with torch.no_grad():
        alone = G(z[2:3])
        in_batch = G(z)[2:3]
    assert torch.allclose(alone, in_batch, atol=1e-6)


@pytest.mark.parametrize("norm", ["none", "layer"])
def test_wgan_critic_scores_each_sample_independently(norm):
    torch.manual_seed(0)
    D = build_discriminator("dcgan", tiny(d_norm=norm)).train()
    assert not any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    x = torch.randn(4, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(D(x)[:1], D(x[:1]), atol=1e-6)


def test_dcgan_discriminator_has_batchnorm_and_dropout_option():
    D = build_discriminator("dcgan", tiny(d_dropout=0.3))
    assert any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    assert any(isinstance(m, nn.Dropout2d) and m.p == 0.3 for m in D.modules())


def test_pytorch_example_widths_at_64():
    # ngf 64 at 64x64: 100 -> 512 -> 256 -> 128 -> 64 -> 3, as in the classic DCGAN.
    G = build_generator("dcgan", {"res": 64, "channels": 3})
    widths = [m.out_channels for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert widths == [512, 256, 128, 64, 3]


@pytest.mark.parametrize("bad,msg", [({"res": 48}, "power of two"), ({"channels": 2}, "channels"),
                                     ({"d_norm": "spectral"}, "d_norm"), ({"colour": 1}, "unknown fields")])
def test_bad_configs_say_what_is_wrong(bad, msg):
    with pytest.raises(ValueError, match=msg):
        make_config("dcgan", {**tiny(), **bad})


def test_unknown_architecture():
    with pytest.raises(ValueError, match="Unknown architecture"):
        build_generator("biggan", {})


def test_golden_values():
    """A seeded tiny generator's output corner: an accidental architecture or init change fails here."""
    torch.manual_seed(1234)
    G = build_generator("dcgan", tiny()).eval()
    z = torch.randn(2, 16, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        corner = G(z)[0, 0, :2, :3]
    expected = torch.tensor(GOLDEN)
    assert torch.allclose(corner, expected, rtol=1e-4, atol=1e-9), corner.tolist()


# The DCGAN init (weights ~ N(0, 0.02)) makes fresh outputs small, hence the relative tolerance.
GOLDEN = [[0.0002053272, -0.0002054337, 0.0003281127], [0.0007248303, 0.0005175181, 0.0003113211]]


@pytest.mark.parametrize("channels_last", [False, True])
def test_fast_first_layer_matches_the_reference_path(channels_last):
    torch.manual_seed(0)
    G = build_generator("dcgan", {"res": 32, "channels": 3, "ngf": 16}).eval()
    with torch.no_grad():
        for m in G.modules():  # livelier weights than the N(0, 0.02) init, so differences would show
            if isinstance(m, nn.ConvTranspose2d):
                m.weight.normal_(0, 0.2)
        z = torch.randn(5, 100)
        reference = G.net(z[:, :, None, None])
        if channels_last:
            G = G.to(memory_format=torch.channels_last)
        fast = G(z)
    assert reference.std() > 0.1
    assert torch.allclose(fast, reference, atol=1e-5)


# Tiny configs of every family (each family module's TINY), for the contract checks below.
FAMILY_CONFIGS = {arch: a.tiny for arch, a in ARCHITECTURES.items()}


def _images(G, z, psi):
    with torch.no_grad():
        return G.synthesis(G.mapping(z, truncation_psi=psi), **({"noise_mode": "const"} if G.capabilities.noise else {}))


def test_every_family_has_a_tiny_config_here():
    assert set(FAMILY_CONFIGS) == set(ARCHITECTURES)
    for arch, config in FAMILY_CONFIGS.items():
        assert config, f"{arch} has an empty TINY config"
        make_config(arch, config)  # every key is a field of the family's config


@pytest.mark.parametrize("arch", list(FAMILY_CONFIGS))
def test_truncation_changes_the_image_for_every_family_that_offers_it(arch):
    """A family that offers ψ: images move towards one average image as ψ goes to 0, monotonically. One
    that does not (its synthesis normalises z, which would undo any scaling): ψ changes nothing at all,
    not even at 0, where scaling z to nothing drew every seed as the same image."""
    torch.manual_seed(0)
    G = build_generator(arch, FAMILY_CONFIGS[arch]).eval()
    z = torch.randn(8, G.z_dim, generator=torch.Generator().manual_seed(1))
    spread = {psi: _images(G, z, psi).std(dim=0).mean().item() for psi in (1.0, 0.7, 0.4, 0.1, 0.0)}
    if ARCHITECTURES[arch].capabilities.truncation:
        assert spread[1.0] > spread[0.7] > spread[0.4] > spread[0.1] > spread[0.0], spread
        assert spread[0.0] < 1e-6  # one image for every seed: the average latent's
    else:
        assert torch.equal(_images(G, z, 0.0), _images(G, z, 1.0)) and spread[0.0] == spread[1.0] > 0
