"""The Trainer on tiny configs: a step learns, resume is exact, the run directory is complete."""

import json

import pytest
import torch

from explorer.train.datasets import load_dataset
from explorer.train.loop import Hooks, Trainer
from explorer.train.recipes import make_train_config
from explorer.train.run import RunDir
from explorer.weights import load_generator

TINY = {"ngf": 8, "ndf": 8, "z_dim": 16}


@pytest.fixture(scope="module")
def faces16():
    return load_dataset("faces", 16, size=64, seed=0)


def make_cfg(recipe="dcgan", **kw):
    kw.setdefault("batch", 8)
    return make_train_config(recipe, res=16, channels=3, model={**TINY, **kw.pop("model", {})},
                             data="faces", data_size=64, **kw)


def params(m):
    return [p.detach().clone() for p in m.parameters()]


@pytest.mark.parametrize("recipe", ["dcgan", "wgan-gp"])
def test_one_step_moves_weights_with_finite_losses(faces16, recipe):
    tr = Trainer(make_cfg(recipe), faces16)
    g0, d0 = params(tr.G), params(tr.D)
    out = tr.train_step()
    assert all(torch.isfinite(torch.tensor(v)) for v in out.values())
    assert any(not torch.equal(a, b) for a, b in zip(g0, params(tr.G)))
    assert any(not torch.equal(a, b) for a, b in zip(d0, params(tr.D)))
    n_critic = 5 if recipe == "wgan-gp" else 1
    assert tr.cur_nimg == 8 * n_critic and tr.step == 1
    if recipe == "wgan-gp":
        assert out["gp"] >= 0 and "wdist" in out


@pytest.mark.parametrize("recipe,extra", [
    ("dcgan", dict(label_noise=0.05, label_flip=0.1, label_smoothing=0.1, model={"d_dropout": 0.2}, ema_kimg=0.05)),
    ("wgan-gp", dict(n_critic=2)),
])
def test_resume_gives_the_same_next_step(faces16, tmp_path, recipe, extra):
    """Stop after step k, save to disk, resume in a new Trainer: step k+1 matches an unbroken run."""
    k = 3
    cfg = make_cfg(recipe, **extra)
    unbroken = Trainer(cfg, faces16)
    for _ in range(k):
        unbroken.train_step()
    expected = unbroken.train_step()

    first = Trainer(cfg, faces16)
    for _ in range(k):
        first.train_step()
    run = RunDir(tmp_path / "run")
    run.create(cfg)
    first.run = run
    first.save_resume()
    resumed = Trainer(cfg, faces16)
    resumed.load_state_dict(run.load_resume())
    got = resumed.train_step()
    assert got == expected  # bitwise: the same data, latents, labels, dropout masks and optimiser state
    for a, b in zip(params(unbroken.G), params(resumed.G)):
        assert torch.equal(a, b)
    if unbroken.G_ema is not None:
        for a, b in zip(params(unbroken.G_ema), params(resumed.G_ema)):
            assert torch.equal(a, b)


def test_fit_writes_the_run_directory_and_stops_on_request(faces16, tmp_path):
    cfg = make_cfg(kimg=1.0, tick_kimg=0.016, sample_ticks=2, snapshot_ticks=3, num_samples=4)
    run = RunDir(tmp_path / "run").create(cfg)
    ticks, snaps, samples = [], [], []
    hooks = Hooks(should_stop=lambda: len(ticks) >= 4, on_tick=ticks.append,
                  on_snapshot=lambda p, k: snaps.append(p), on_sample=lambda p, k: samples.append(p))
    tr = Trainer(cfg, faces16, run=run, hooks=hooks)
    assert tr.fit() == "stopped"
    log = run.read_log()
    assert [r["tick"] for r in log] == [1, 2, 3, 4, 5]  # the stop itself closes a tick
    assert all({"kimg", "loss_D", "loss_G", "sec_per_kimg"} <= set(r) for r in log)
    assert json.loads(run.config_path.read_text())["recipe"] == "dcgan"
    assert (run.samples / "reals.png").is_file() and len(samples) >= 3
    assert len(snaps) == 2 and run.resume_path.is_file()
    # The newest snapshot opens alone and draws what the trainer's G draws.
    G, meta = load_generator(snaps[-1])
    assert meta["train"]["kimg"] == pytest.approx(tr.kimg, abs=1e-3)
    z = torch.randn(2, 16)
    tr.G.eval()
    with torch.no_grad():
        assert torch.equal(G(z), tr.G(z))


def test_trainer_refuses_mismatched_dataset(faces16):
    cfg = make_train_config("dcgan", res=32, channels=3, model=TINY)
    with pytest.raises(ValueError, match="expects"):
        Trainer(cfg, faces16)


@pytest.mark.parametrize("bad,msg", [(dict(loss="least-squares"), "loss"), (dict(label_flip=0.7), "label_flip"),
                                     (dict(n_critic=0), "n_critic"),
                                     (dict(loss="wgan-gp", label_smoothing=0.1), "not to wgan-gp"),
                                     (dict(loss="hinge", label_noise=0.1), "not to hinge")])
def test_bad_train_configs(bad, msg):
    with pytest.raises(ValueError, match=msg):
        make_cfg(**bad)
