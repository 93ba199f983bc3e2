"""StyleGAN / StyleGAN2: the contract, AdaIN, modulated conv against its reference, truncation,
noise, mixing, R1, a training step and an exact resume for both recipes."""

import pytest
import torch
import torch.nn.functional as F
from helpers import resumed_after

from explorer.edit.mixing import mix_ws, preset_weights
from explorer.models import build_discriminator, build_generator
from explorer.models.stylegan import adain, modulated_conv2d
from explorer.train import losses
from explorer.train.datasets import load_dataset
from explorer.train.loop import Trainer
from explorer.train.recipes import make_train_config
from explorer.train.run import RunDir

TINY = {"res": 16, "channels": 3, "z_dim": 8, "w_dim": 8, "mapping_layers": 2, "channel_base": 128,
        "channel_max": 16}


def tiny_g(variant, seed=0):
    torch.manual_seed(seed)
    G = build_generator("stylegan", {**TINY, "variant": variant}).eval()
    with torch.no_grad():  # noise scales start at 0; make noise visible for the tests
        for layer in G.layers:
            layer.noise_strength.fill_(0.5)
        G.w_avg.normal_()
    return G


@pytest.mark.parametrize("variant", ["adain", "modulated"])
def test_shapes_and_layer_bookkeeping(variant):
    G = tiny_g(variant)
    D = build_discriminator("stylegan", {**TINY, "variant": variant})
    z = torch.randn(3, 8)
    ws = G.mapping(z)
    assert ws.shape == (3, G.num_ws, 8) and G.num_ws == 2 * 3  # two styles per resolution 4, 8, 16
    img = G.synthesis(ws)
    assert img.shape == (3, 3, 16, 16) and D(img).shape == (3,)
    assert sorted(set(G.ws_resolutions())) == [4, 8, 16] and G.ws_resolutions() == sorted(G.ws_resolutions())
    assert len(G.noise_resolutions()) == G.num_layers


def test_adain_normalises_each_channel():
    x = torch.randn(2, 5, 6, 6) * 7 + 3
    y = adain(x, torch.ones(2, 5), torch.zeros(2, 5))
    assert torch.allclose(y.mean((2, 3)), torch.zeros(2, 5), atol=1e-5)
    assert torch.allclose(y.square().mean((2, 3)), torch.ones(2, 5), atol=1e-4)
    ys, yb = torch.rand(2, 5) + 0.5, torch.randn(2, 5)
    z = adain(x, ys, yb)
    assert torch.allclose(z.mean((2, 3)), yb, atol=1e-5)
    assert torch.allclose(z.var((2, 3), unbiased=False).sqrt(), ys, atol=1e-4)


@pytest.mark.parametrize("demodulate", [True, False])
def test_modulated_conv_matches_per_sample_weights(demodulate):
    """The activation-scaling fast path against the paper's per-sample weights (Eqs. 1-3)."""
    torch.manual_seed(0)
    x, w, s = torch.randn(3, 4, 5, 5), torch.randn(6, 4, 3, 3), torch.rand(3, 4) + 0.5
    fast = modulated_conv2d(x, w, s, demodulate=demodulate)
    ref = []
    for i in range(3):
        wi = w * s[i][None, :, None, None]                                   # w'_ijk = s_i w_ijk
        if demodulate:
            wi = wi * (wi.square().sum((1, 2, 3), keepdim=True) + 1e-8).rsqrt()  # / sigma_j
        ref.append(F.conv2d(x[i:i + 1], wi, padding=1))
    assert torch.allclose(fast, torch.cat(ref), atol=1e-5)


@pytest.mark.parametrize("variant", ["adain", "modulated"])
def test_truncation_psi_zero_gives_the_w_avg_image(variant):
    G = tiny_g(variant)
    z = torch.randn(2, 8)
    ws = G.mapping(z, truncation_psi=0.0)
    assert torch.allclose(ws, G.w_avg.expand_as(ws))
    avg_img = G.synthesis(G.w_avg.expand(1, G.num_ws, -1))
    assert torch.allclose(G.synthesis(ws), avg_img.expand(2, -1, -1, -1), atol=1e-5)
    cut = G.mapping(z, truncation_psi=0.0, truncation_cutoff=2)
    assert torch.allclose(cut[:, :2], G.w_avg.expand(2, 2, -1)) and torch.equal(cut[:, 2:], G.mapping(z)[:, 2:])


@pytest.mark.parametrize("variant", ["adain", "modulated"])
def test_noise_modes(variant):
    G = tiny_g(variant)
    ws = G.mapping(torch.randn(2, 8))
    none = G.synthesis(ws, noise_mode="none")
    assert torch.equal(none, G.synthesis(ws, noise_mode="none", noise_strength=[1.7] * G.num_layers))
    assert torch.equal(none, G.synthesis(ws, noise_mode="const", noise_strength=[0.0] * G.num_layers))
    const = G.synthesis(ws, noise_mode="const")
    assert not torch.allclose(const, none) and torch.equal(const, G.synthesis(ws))
    g = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    r1, r2 = (G.synthesis(ws, noise_mode="random", noise_generator=g()) for _ in range(2))
    assert torch.equal(r1, r2) and not torch.allclose(r1, const)
    # Silencing one layer leaves every other layer's random noise as it was.
    off = [1.0] * G.num_layers
    off[0] = 0.0
    a = G.make_noise(2, "random", g())
    b = G.make_noise(2, "random", g(), off)
    assert b[0] is None and all(torch.equal(x, y) for x, y in zip(a[1:], b[1:]))
    with pytest.raises(ValueError, match="needs a torch.Generator"):
        G.synthesis(ws, noise_mode="random")
    # A strength acts on its own layer only: noise at the last layer alone differs from both.
    last = G.synthesis(ws, noise_mode="const", noise_strength=[0.0] * (G.num_layers - 1) + [1.0])
    assert not torch.allclose(last, none) and not torch.allclose(last, const)


@pytest.mark.parametrize("variant", ["adain", "modulated"])
def test_mixing_ends_are_exactly_a_and_b(variant):
    G = tiny_g(variant)
    wa, wb = G.mapping(torch.randn(1, 8)), G.mapping(torch.randn(1, 8))
    assert torch.equal(G.synthesis(mix_ws(wa, wb, [0.0] * G.num_ws)), G.synthesis(wa))
    assert torch.equal(G.synthesis(mix_ws(wa, wb, [1.0] * G.num_ws)), G.synthesis(wb))
    coarse = preset_weights("Coarse", G.ws_resolutions())
    assert coarse == [1.0 if r <= 8 else 0.0 for r in G.ws_resolutions()]
    mixed = mix_ws(wa, wb, coarse)
    assert torch.equal(mixed[:, :2], wb[:, :2]) and torch.equal(mixed[:, -1], wa[:, -1])
    with pytest.raises(ValueError, match="one mix weight per layer"):
        mix_ws(wa, wb, [0.5])


@pytest.mark.parametrize("variant", ["adain", "modulated"])
def test_layer_by_layer_equals_full_synthesis(variant):
    G = tiny_g(variant)
    ws = G.mapping(torch.randn(2, 8))
    noise = G.make_noise(2, "const", None)
    state = G.initial_state(2)
    for i in range(G.num_layers):
        state = G.run_layer(i, state, ws, noise[i])
    assert torch.equal(G.finish(state, ws), G.synthesis(ws))


def test_r1_on_a_linear_critic_is_the_squared_weight_norm():
    w = torch.randn(1, 2, 3, 3)
    real = torch.randn(4, 2, 3, 3, requires_grad=True)
    scores = (real * w).flatten(1).sum(1)
    assert losses.r1_penalty(scores, real).item() == pytest.approx(w.square().sum().item(), rel=1e-5)


def _cfg(recipe, **kw):
    model = {k: v for k, v in TINY.items() if k not in ("res", "channels")}
    return make_train_config(recipe, res=16, channels=3, model=model, data="faces", data_size=64, batch=8,
                             r1_interval=2, pl_interval=2, ema_kimg=0.1, **kw)


@pytest.fixture(scope="module")
def faces16():
    return load_dataset("faces", 16, size=64)


@pytest.mark.parametrize("recipe", ["stylegan", "stylegan2"])
def test_training_step_and_exact_resume(faces16, tmp_path, recipe):
    cfg = _cfg(recipe)
    unbroken = Trainer(cfg, faces16)
    w_avg0 = unbroken.G.w_avg.clone()
    first_out = unbroken.train_step()
    assert "r1" in first_out and all(torch.isfinite(torch.tensor(v)) for v in first_out.values())
    assert not torch.equal(unbroken.G.w_avg, w_avg0)
    if recipe == "stylegan2":
        assert "pl" in first_out and unbroken.pl_mean > 0
    for _ in range(2):
        unbroken.train_step()
    expected = unbroken.train_step()  # step 4: R1 and path length both due

    resumed = resumed_after(cfg, faces16, 3, tmp_path / "run")
    assert resumed.train_step() == expected
    for a, b in zip(unbroken.G_ema.state_dict().values(), resumed.G_ema.state_dict().values()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("recipe", ["stylegan", "stylegan2"])
def test_lazy_regularised_recipes_train_at_the_learning_rates_and_betas_their_table_states(faces16, tmp_path, recipe):
    """R1 and path length are folded into the main step (no separate regulariser step), so nothing scales
    Adam's lr or betas by k / (k + 1); a resume state saved with scaled ones trains on at the recipe's."""
    cfg = _cfg(recipe, r1_gamma=1.0, pl_weight=2.0 if recipe == "stylegan2" else 0.0)
    tr = Trainer(cfg, faces16)
    for opt, lr in ((tr.opt_G, cfg.lr_g), (tr.opt_D, cfg.lr_d)):
        assert [(g["lr"], g["betas"]) for g in opt.param_groups] == [(lr, (cfg.beta1, cfg.beta2))]
    tr.train_step()
    tr.run = RunDir(tmp_path / "run").create(cfg)
    tr.save_resume()
    state = tr.run.load_resume()
    for key, k in (("opt_G", cfg.pl_interval), ("opt_D", cfg.r1_interval)):  # as an older version saved it
        for g in state[key]["param_groups"]:
            g["lr"], g["betas"] = g["lr"] * k / (k + 1), tuple(b ** (k / (k + 1)) for b in g["betas"])
    resumed = Trainer(cfg, faces16)
    resumed.load_state_dict(state)
    for opt, lr in ((resumed.opt_G, cfg.lr_g), (resumed.opt_D, cfg.lr_d)):
        assert [(g["lr"], g["betas"]) for g in opt.param_groups] == [(lr, (cfg.beta1, cfg.beta2))]
