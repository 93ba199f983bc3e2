"""Every checkpoint shipped in weights/ opens and draws varied, in-range pictures."""

import dataclasses
from pathlib import Path

import pytest
import torch

from explorer.edit.latents import latents_for_seeds
from explorer.models import ARCHITECTURES
from explorer.render import Renderer
from explorer.weights import list_checkpoints, load_generator

WEIGHTS = Path(__file__).resolve().parents[2] / "weights"
SHIPPED = list_checkpoints(WEIGHTS)


def test_there_is_a_default_model():
    assert any(e.name == "dcgan-mnist" for e in SHIPPED)


@pytest.mark.parametrize("entry", SHIPPED, ids=[e.name for e in SHIPPED])
def test_shipped_checkpoint_draws_varied_pictures(entry):
    assert Path(entry.path).with_suffix(".safetensors").stat().st_size <= 10 * 2**20
    G, meta = load_generator(entry.path)
    assert meta["train"].get("dataset_licence"), "record where the training data came from"
    if "backbone" in {f.name for f in dataclasses.fields(ARCHITECTURES[entry.arch].config)}:  # projected D
        assert meta["train"].get("backbone_licence"), "record the pretrained feature network's licence"
    with torch.no_grad():
        img = G(latents_for_seeds(list(range(16)), G.z_dim))
    assert img.shape == (16, entry.channels, entry.res, entry.res)
    # DCGAN and FastGAN end in tanh; ProGAN and StyleGAN output linear values, nominally in [-1, 1] and
    # clipped when shown: nearly all of them must fall there.
    lo, hi = torch.quantile(img.flatten()[::7], torch.tensor([0.005, 0.995])).tolist()
    # StyleGANs overshoot a little where the faces' colours are saturated, which the display clips: the
    # AdaIN one at 500 kimg has 0.5 % of its values beyond +-1.38 (a diverged model goes far beyond).
    assert -1.45 <= lo and hi <= 1.45
    assert img.std() > 0.3  # contrast, not a grey wash
    # Different seeds, different pictures: the mean distance between images is far from zero.
    flat = img.flatten(1)
    assert torch.cdist(flat, flat).mean() > 0.2 * flat.shape[1] ** 0.5
    # A seed alone gives its picture, whatever the batch (no hidden randomness, no batch statistics).
    with torch.no_grad():
        one = G(latents_for_seeds([5], G.z_dim))
    torch.testing.assert_close(one[0], img[5], atol=1e-4, rtol=0)


def test_the_renderer_keeps_every_shipped_model_and_drops_the_least_recently_used():
    r = Renderer()
    loaded = {e.name: r.model(e.path)[0] for e in SHIPPED}
    # Visitors switching between the shipped models never reload one.
    assert all(r.model(e.path)[0] is loaded[e.name] for e in reversed(SHIPPED))
    small = Renderer(max_models=2)
    a, b, c = (e.path for e in SHIPPED[:3])
    ga, gb = small.model(a)[0], small.model(b)[0]
    assert small.model(a)[0] is ga  # a used last: b is the least recently used
    small.model(c)
    assert small.model(a)[0] is ga and small.model(b)[0] is not gb


def test_every_shipped_model_offered_a_psi_moves_its_images_with_it():
    """On the trained models: where the Generate tab shows ψ, lowering it pulls every seed's image towards
    one, monotonically; where it hides ψ (ProGAN, FastGAN), ψ would change nothing."""
    from explorer.ui.generate_tab import psi_control
    from explorer.ui.services import Services

    services = Services(WEIGHTS, WEIGHTS / "no-runs-here", torch.device("cpu"))
    renderer = Renderer("cpu")
    for entry in SHIPPED:
        G, _ = renderer.model(entry.path)
        z = latents_for_seeds(list(range(12)), G.z_dim)
        kw = {"noise_mode": "const"} if G.capabilities.noise else {}
        if G.capabilities.progressive:
            kw.update(stage=G.num_stages - 1, alpha=1.0)
        with torch.no_grad():
            spread = [G.synthesis(G.mapping(z, truncation_psi=psi), **kw).std(dim=0).mean().item()
                      for psi in (1.0, 0.7, 0.4, 0.0)]
        shown = psi_control(services, entry.name)["visible"]
        assert shown == ARCHITECTURES[entry.arch].capabilities.truncation, entry.name
        if shown:
            assert spread[0] > spread[1] > spread[2] > spread[3] and spread[3] < 1e-5, (entry.name, spread)
        else:
            assert spread[0] == spread[3] > 0.1, (entry.name, spread)
    assert {e.arch for e in SHIPPED if not psi_control(services, e.name)["visible"]} == {"progan", "fastgan"}
