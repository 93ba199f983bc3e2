"""ProGAN closed forms: fade-in ends, equalized lr, pixel norm, minibatch stddev, the growth
schedule, and a resume in the middle of a fade-in."""

import math

import pytest
import torch
from helpers import resumed_after

from explorer.models import build_discriminator, build_generator
from explorer.models.layers import EqualConv2d, EqualLinear, MinibatchStd, PixelNorm, downsample2x, upsample2x
from explorer.models.progan import reals_at_stage
from explorer.train.datasets import load_dataset
from explorer.train.loop import Trainer
from explorer.train.recipes import make_train_config
from explorer.train.run import RunDir
from explorer.train.schedules import kimg_to_reach, progressive_growth

TINY = {"res": 32, "channels": 3, "z_dim": 16, "fmap_base": 64, "fmap_max": 16, "fmap_min": 8}


@pytest.fixture
def nets():
    torch.manual_seed(0)
    return build_generator("progan", TINY).eval(), build_discriminator("progan", TINY).eval()


def test_every_stage_has_its_resolution(nets):
    G, D = nets
    z = torch.randn(3, 16)
    assert G.num_stages == 4
    for stage in range(4):
        for alpha in (0.0, 0.3, 1.0):
            img = G(z, stage=stage, alpha=alpha)
            assert img.shape == (3, 3, 4 * 2**stage, 4 * 2**stage)
            assert D(img, alpha=alpha).shape == (3,)
    assert G(z).shape[-1] == 32  # stage None = the last


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_generator_fade_in_ends(nets, stage):
    G, _ = nets
    z = torch.randn(4, 16)
    with torch.no_grad():
        old = upsample2x(G(z, stage=stage - 1, alpha=1.0))
        a0, a1, half = (G(z, stage=stage, alpha=a) for a in (0.0, 1.0, 0.5))
        assert (a0 - old).abs().max() < 1e-6          # alpha 0: the upsampled previous stage
        assert (a1 - old).abs().max() > 1e-3          # alpha 1: something new
        assert torch.allclose(half, 0.5 * (a0 + a1), atol=1e-6)
        G.to_rgb[stage - 1].weight.zero_()            # the old toRGB plays no part at alpha 1...
        assert torch.equal(G(z, stage=stage, alpha=1.0), a1)
        G.to_rgb[stage].weight.zero_()
        G.to_rgb[stage].bias.zero_()                  # ...and the new one none at alpha 0
        assert (G(z, stage=stage, alpha=0.0) - upsample2x(G(z, stage=stage - 1))).abs().max() < 1e-6


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_discriminator_fade_in_ends(nets, stage):
    _, D = nets
    img = torch.randn(4, 3, 4 * 2**stage, 4 * 2**stage)
    with torch.no_grad():
        assert torch.allclose(D(img, alpha=0.0), D(downsample2x(img), alpha=1.0), atol=1e-6)
        assert not torch.allclose(D(img, alpha=1.0), D(img, alpha=0.0), atol=1e-4)


def test_growth_arguments_are_checked(nets):
    G, D = nets
    with pytest.raises(ValueError, match="stage must be in"):
        G(torch.randn(1, 16), stage=4)
    with pytest.raises(ValueError, match="alpha must be in"):
        G(torch.randn(1, 16), stage=1, alpha=1.5)


def test_equalized_learning_rate_scale():
    torch.manual_seed(0)
    conv = EqualConv2d(64, 32, 3)
    assert conv.scale == pytest.approx(math.sqrt(2) / math.sqrt(64 * 9))  # He constant sqrt(2 / fan_in)
    assert conv.weight.std().item() == pytest.approx(1.0, abs=0.03)        # stored weights are N(0, 1)
    x = torch.randn(2, 64, 8, 8)
    ref = torch.nn.functional.conv2d(x, conv.weight * conv.scale, conv.bias, padding=1)
    assert torch.allclose(conv(x), ref)
    # The point of the scale: outputs keep unit-ish variance whatever the fan-in.
    for fan_in in (16, 256):
        lin = EqualLinear(fan_in, 512, gain=1.0)
        assert lin(torch.randn(256, fan_in)).std().item() == pytest.approx(1.0, abs=0.1)
    slow = EqualLinear(8, 8, lr_mul=0.01)
    assert slow.weight.std().item() > 10 and slow.scale == pytest.approx(math.sqrt(2 / 8) * 0.01)


def test_pixel_norm_gives_unit_rms_per_pixel():
    x = torch.randn(3, 7, 5, 5) * torch.rand(3, 1, 5, 5) * 10
    rms = PixelNorm()(x).square().mean(dim=1).sqrt()
    assert torch.allclose(rms, torch.ones_like(rms), atol=1e-5)


def test_minibatch_stddev_by_hand():
    # Batch of 4, group of 2: group m holds samples m and m + 2.
    x = torch.tensor([0.0, 1.0, 2.0, 5.0]).view(4, 1, 1, 1).expand(4, 2, 1, 1).clone()
    x[:, 1] *= 3  # a second feature with 3x the spread
    y = MinibatchStd(group_size=2, eps=0.0)(x)
    assert y.shape == (4, 3, 1, 1) and torch.equal(y[:, :2], x)
    # Group {0, 2}: std 1 for feature 0 and 3 for feature 1 -> mean 2. Group {1, 5}: std 2 and 6 -> 4.
    assert y[:, 2].flatten().tolist() == pytest.approx([2.0, 4.0, 2.0, 4.0])


def test_growth_schedule_boundaries():
    fade, stable = 10.0, 20.0
    at = lambda k: progressive_growth(k, 4, fade, stable)  # noqa: E731
    assert at(0) == (0, 1.0) and at(19.99)[0] == 0
    assert at(20) == (1, 0.0) and at(25) == (1, 0.5) and at(30) == (1, 1.0) and at(49.99)[0] == 1
    assert at(50) == (2, 0.0) and at(80) == (3, 0.0) and at(85) == (3, 0.5)
    assert at(90) == (3, 1.0) and at(10_000) == (3, 1.0)
    assert kimg_to_reach(3, fade, stable) == 90 and kimg_to_reach(0, fade, stable) == 0
    assert progressive_growth(5, 4, 0, 0) == (3, 1.0)  # no schedule: the full model from the start


def test_reals_follow_the_same_fade():
    img = torch.randn(2, 3, 32, 32)
    at16 = torch.nn.functional.avg_pool2d(img, 2)
    assert torch.allclose(reals_at_stage(img, 2, 1.0), at16)
    assert torch.allclose(reals_at_stage(img, 2, 0.0), upsample2x(downsample2x(at16)))
    assert reals_at_stage(img, 0, 0.3).shape == (2, 3, 4, 4)


def _progan_cfg(**kw):
    return make_train_config("progan", res=32, channels=3, model={k: v for k, v in TINY.items()
                                                                  if k not in ("res", "channels")},
                             data="faces", data_size=64, batch=8, fade_kimg=0.032, stable_kimg=0.016, **kw)


def test_resume_in_the_middle_of_a_fade_in(tmp_path):
    ds = load_dataset("faces", 32, size=64)
    cfg = _progan_cfg(stage_batch={"16": 4})
    unbroken = Trainer(cfg, ds)
    k = 0
    while not (unbroken.growth()[0] == 2 and 0 < unbroken.growth()[1] < 1):  # into stage 2's fade
        unbroken.train_step()
        k += 1
    growth_at_k = unbroken.growth()
    expected = unbroken.train_step()

    resumed = resumed_after(cfg, ds, k, tmp_path / "run")
    assert resumed.growth() == growth_at_k and 0 < growth_at_k[1] < 1
    assert resumed.global_batch(2) == 4
    assert resumed.train_step() == expected
    for a, b in zip(unbroken.G_ema.parameters(), resumed.G_ema.parameters()):
        assert torch.equal(a, b)


def test_a_short_run_grows_to_32_and_logs_stage_and_alpha(tmp_path):
    from explorer.weights import load_generator

    ds = load_dataset("faces", 32, size=64)
    cfg = _progan_cfg(kimg=0.2, tick_kimg=0.008, snapshot_ticks=100, num_samples=4)
    run = RunDir(tmp_path / "run").create(cfg)
    assert Trainer(cfg, ds, run=run).fit() == "done"
    log = run.read_log()
    stages = [r["stage"] for r in log]
    assert stages == sorted(stages) and stages[0] == 0 and stages[-1] == 3
    assert any(0 < r["alpha"] < 1 for r in log) and log[-1]["stage_res"] == 32
    snap = sorted(run.snapshots.glob("*.json"))[-1]
    G, meta = load_generator(snap)
    assert meta["train"]["stage"] == 3 and meta["train"]["stage_res"] == 32
    assert G(torch.randn(2, 16), stage=3).shape == (2, 3, 32, 32)

    # The run's snapshot opens in the ProGAN tab, at the stage it reached.
    from explorer.ui import progan_tab
    from explorer.ui.services import Services

    services = Services(tmp_path / "no-weights", tmp_path, torch.device("cpu"))
    assert [m.name for m in progan_tab.progan_models(services)] == ["run: run"]
    stage_update, _ = progan_tab.select_model(services, "run: run")
    assert stage_update["value"] == 3 and stage_update["maximum"] == 3
    picture, info = progan_tab.render(services, "run: run", "0-3", 3, 1.0)
    assert "32×32" in info and picture.ndim == 3


@pytest.mark.parametrize("stage,alpha", [(0, 1.0), (1, 0.5), (2, 1.0), (3, 0.3)])
def test_channels_last_fast_path_matches_the_reference(stage, alpha):
    torch.manual_seed(0)
    G = build_generator("progan", dict(res=32, fmap_base=256, fmap_max=32, fmap_min=8))
    z = torch.randn(5, G.z_dim, requires_grad=True)
    outs = {}
    for fast in (True, False):
        G.channels_last_on_cpu = fast
        G.zero_grad(set_to_none=True)
        z.grad = None
        img = G(z, stage=stage, alpha=alpha)  # [N, C, r, r]
        img.square().mean().backward()
        outs[fast] = (img.detach(), z.grad.clone(), G.dense.weight.grad.clone())
    assert outs[True][0].std() > 0.05
    for a, b in zip(outs[True], outs[False]):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("reset", [True, False])
def test_adam_moments_are_cleared_where_a_fade_in_starts_and_ends_when_the_recipe_asks(tmp_path, reset):
    """reset_adam_at_growth: as the reference's reset_opt_for_new_lod, each optimiser starts afresh at every
    change of (stage, fading); without it the moments run on. A resume lands on the same next step."""
    ds = load_dataset("faces", 32, size=64)
    cfg = _progan_cfg(reset_adam_at_growth=reset)
    tr = Trainer(cfg, ds)
    phases, adam_steps = [], []
    for _ in range(14):
        phase = (tr.growth()[0], tr.growth()[1] < 1)
        tr.train_step()
        phases.append(phase)
        adam_steps.append(int(tr.opt_G.state[next(iter(tr.G.parameters()))]["step"]))
    assert len(set(phases)) >= 3  # stable 4x4, fading 8x8, stable 8x8, ...
    expected, since = [], 0
    for i, phase in enumerate(phases):
        since = 1 if (reset and i and phase != phases[i - 1]) else since + 1
        expected.append(since)
    assert adam_steps == expected
    resumed = resumed_after(cfg, ds, 5, tmp_path / "run")
    again = Trainer(cfg, ds)
    for _ in range(5):
        again.train_step()
    for _ in range(6):
        assert resumed.train_step() == again.train_step()
