"""The generator contract (explorer/models/contract.py) on every registered family, built from its
TINY config: a new family that breaks a renderer, the metrics or the trainer fails here, by name."""

import pytest
import torch

from explorer.edit.latents import latents_for_seeds, z_from_seed
from explorer.models import ARCHITECTURES, build_generator
from explorer.models.contract import (Generator, LayeredGenerator, ProgressiveGenerator, check_generator,
                                      trained_growth)
from explorer.models.stylegan import StyleGANGenerator
from explorer.weights import load_generator, save_generator

ARCHS = list(ARCHITECTURES)


def tiny_generator(arch: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_generator(arch, dict(ARCHITECTURES[arch].tiny)).eval()


def draw(G, ws, **kw):
    """synthesis() with the family's default arguments (ProGAN: its last stage, alpha 1)."""
    with torch.no_grad():
        return G.synthesis(ws, **kw)


@pytest.mark.parametrize("arch", ARCHS)
def test_every_family_keeps_the_contract_its_capabilities_promise(arch):
    G = tiny_generator(arch)
    assert check_generator(G) == []
    caps = G.capabilities
    assert caps == ARCHITECTURES[arch].capabilities
    assert isinstance(G, Generator)
    assert isinstance(G, LayeredGenerator) or not caps.mixing      # mixing needs the per-layer API
    assert isinstance(G, ProgressiveGenerator) or not caps.progressive
    if caps.mixing:
        assert G.num_ws > 1


@pytest.mark.parametrize("arch", ARCHS)
def test_mapping_and_synthesis_shapes(arch):
    G = tiny_generator(arch)
    z = latents_for_seeds([0, 1, 2], G.z_dim)                    # [3, z_dim]
    with torch.no_grad():
        ws = G.mapping(z, truncation_psi=0.7, truncation_cutoff=None)
    assert ws.shape == (3, G.num_ws, G.w_dim)
    img = draw(G, ws)
    assert img.shape == (3, G.img_channels, G.img_resolution, G.img_resolution)
    assert torch.isfinite(img).all() and img.std() > 0


@pytest.mark.parametrize("arch", ARCHS)
def test_synthesis_of_mapping_is_the_generator(arch):
    G = tiny_generator(arch)
    z = latents_for_seeds([3, 4], G.z_dim)
    with torch.no_grad():
        assert torch.equal(draw(G, G.mapping(z)), G(z))


@pytest.mark.parametrize("arch", ARCHS)
def test_a_seed_gives_the_same_image_whatever_the_batch(arch):
    G = tiny_generator(arch)
    z = latents_for_seeds([5, 6, 7, 8], G.z_dim)
    with torch.no_grad():
        batch = draw(G, G.mapping(z))
        assert torch.equal(batch, draw(G, G.mapping(z)))         # same z twice: the same bits
        alone = draw(G, G.mapping(z_from_seed(7, G.z_dim)[None]))
    assert torch.allclose(alone, batch[2:3], atol=1e-5)


@pytest.mark.parametrize("arch", [a for a in ARCHS if ARCHITECTURES[a].capabilities.noise])
def test_random_noise_comes_only_from_the_generator_passed_in(arch):
    """(StyleGAN's per-layer noise weights start at 0, so this checks reproducibility, not that noise acts.)"""
    G = tiny_generator(arch)
    ws = G.mapping(latents_for_seeds([1, 2], G.z_dim))

    def random(seed):
        return draw(G, ws, noise_mode="random", noise_generator=torch.Generator().manual_seed(seed))

    torch.manual_seed(123)  # the global RNG plays no part
    first = random(0)
    torch.manual_seed(456)
    assert torch.equal(first, random(0))


@pytest.mark.parametrize("arch", ARCHS)
def test_save_load_round_trip_draws_the_same_images(arch, tmp_path):
    G = tiny_generator(arch)
    if G.capabilities.mixing:  # a trained w_avg, so the round trip carries buffers too
        G.update_w_avg(G.mapping(latents_for_seeds([0, 1], G.z_dim)))
    path = save_generator(tmp_path / arch, G, arch, dict(ARCHITECTURES[arch].tiny), train={"kimg": 1})
    G2, meta = load_generator(path)
    assert meta["arch"] == arch and check_generator(G2) == []
    z = latents_for_seeds([9, 10], G.z_dim)
    with torch.no_grad():
        assert torch.equal(draw(G2, G2.mapping(z, truncation_psi=0.5)), draw(G, G.mapping(z, truncation_psi=0.5)))


@pytest.mark.parametrize("arch", [a for a in ARCHS if ARCHITECTURES[a].capabilities.mixing])
@pytest.mark.parametrize("noise_mode", ["const", "random", "none"])
def test_layer_by_layer_synthesis_is_full_synthesis(arch, noise_mode):
    """initial_state -> run_layer for each layer -> finish, as the StyleRenderer runs it."""
    G = tiny_generator(arch)
    ws = G.mapping(latents_for_seeds([1, 2], G.z_dim), truncation_psi=0.8)
    with torch.no_grad():
        full = G.synthesis(ws, noise_mode=noise_mode, noise_generator=torch.Generator().manual_seed(3))
        noise = G.make_noise(ws.shape[0], noise_mode, torch.Generator().manual_seed(3))
        state = G.initial_state(ws.shape[0])
        for i in range(G.num_layers):
            state = G.run_layer(i, state, ws, noise[i])
        assert torch.equal(G.finish(state, ws), full)


@pytest.mark.parametrize("arch", [a for a in ARCHS if ARCHITECTURES[a].capabilities.progressive])
def test_progressive_defaults_are_the_last_stage_fully_faded_in(arch):
    G = tiny_generator(arch)
    ws = G.mapping(latents_for_seeds([1], G.z_dim))
    assert torch.equal(draw(G, ws), draw(G, ws, stage=G.num_stages - 1, alpha=1.0))
    assert trained_growth(G, {"train": {}}) == (G.num_stages - 1, 1.0)
    assert trained_growth(G, {"train": {"stage": 99, "alpha": 0.25}}) == (G.num_stages - 1, 0.25)


# ----------------------------------------------------------------------------- a family that breaks it
class _NoRunLayer(StyleGANGenerator):
    """A StyleGAN whose run_layer is gone (as if a refactor had renamed it)."""

    def __getattribute__(self, name):
        if name == "run_layer":
            raise AttributeError(name)
        return super().__getattribute__(name)


def test_a_family_without_run_layer_is_named_with_what_needs_it():
    G = _NoRunLayer(build_generator("stylegan", dict(ARCHITECTURES["stylegan"].tiny)).cfg)
    problems = check_generator(G)
    assert problems == ["_NoRunLayer lacks run_layer(): the StyleRenderer uses it to re-run only the layers "
                        "after a moved control"]
    assert not isinstance(G, LayeredGenerator)


def test_wrong_members_are_named():
    G = tiny_generator("stylegan")
    G.layer_w = G.layer_w[:-1]
    G.num_ws = 0
    problems = check_generator(G)
    assert any("layer_w has" in p for p in problems), problems
    assert any("num_ws is 0" in p for p in problems), problems


def test_a_progressive_family_whose_synthesis_takes_no_alpha_is_named():
    G = tiny_generator("progan")
    G.synthesis = lambda ws, *, noise_mode="const", stage=None: None  # alpha forgotten
    assert check_generator(G) == ["ProGANGenerator.synthesis() takes no alpha=: the Renderer and the Trainer "
                                  "pass it"]
