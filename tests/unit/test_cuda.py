"""The CUDA paths: every recipe trains on a GPU, resume restores the GPU's random state, the CLI
trains and resumes with --device cuda, and every shipped model renders on the GPU what it renders
on the CPU. Skipped where PyTorch sees no CUDA GPU (CI's machines); run on a GPU box with
`pytest tests/unit/test_cuda.py`."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from explorer.render import GridRequest, Renderer
from explorer.train.datasets import load_dataset
from explorer.train.loop import Trainer
from explorer.train.recipes import make_train_config
from explorer.train.run import RunDir
from explorer.weights import list_checkpoints, load_generator

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

ROOT = Path(__file__).resolve().parents[2]
SMALL = {"ngf": 8, "ndf": 8, "z_dim": 16}
PROGAN = {"z_dim": 16, "fmap_base": 64, "fmap_max": 16, "fmap_min": 8}
STYLE = {"z_dim": 16, "w_dim": 16, "mapping_layers": 2, "channel_base": 64, "channel_max": 16}
# recipe -> (resolution, model options, extra training options): tiny nets, every loss and regulariser on
TRAINING_RECIPES = {
    "dcgan": (16, SMALL, {"ema_kimg": 0.05, "label_flip": 0.1, "model": {"d_dropout": 0.2}}),
    "wgan-gp": (16, SMALL, {"n_critic": 2}),
    "progan": (32, PROGAN, {"fade_kimg": 0.016, "stable_kimg": 0.016}),
    "stylegan": (16, STYLE, {"r1_interval": 2, "ema_kimg": 0.1}),
    "stylegan2": (16, STYLE, {"r1_interval": 2, "pl_interval": 2, "ema_kimg": 0.1}),
    "projected": (32, {"ngf": 8, "z_dim": 16}, {}),
    "projected-stylegan2": (32, {}, {}),
}


def _cfg(recipe: str, **over):
    res, model, extra = TRAINING_RECIPES[recipe]
    extra = {**extra, **over}
    model = {**model, **extra.pop("model", {})}
    return make_train_config(recipe, res=res, channels=3, model=model, data="faces", data_size=32, batch=8,
                             seed=3, **extra)


@pytest.fixture(autouse=True)
def _deterministic():
    """cuDNN picks algorithms by timing unless told not to; resume comparisons need the same ones."""
    old = torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    yield
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = old


def _params(m):
    return [p.detach().clone() for p in m.parameters()]


@pytest.mark.parametrize("recipe", list(TRAINING_RECIPES))
def test_every_recipe_trains_on_the_gpu(recipe):
    cfg = _cfg(recipe)
    tr = Trainer(cfg, load_dataset("faces", cfg.res, size=32), device="cuda")
    assert all(p.device.type == "cuda" for m in (tr.G, tr.D) for p in m.parameters())
    g0 = _params(tr.G)
    for _ in range(3):
        out = tr.train_step()
        assert all(np.isfinite(v) for v in out.values()), out
    assert any(not torch.equal(a, b) for a, b in zip(g0, _params(tr.G)))
    assert tr.cur_nimg > 0


# Not "projected": its bilinear resampling sums gradients with atomic adds on CUDA, so two unbroken
# runs already differ after four steps (D_real 0.10205 vs 0.10243 on an H100); the CPU test is bitwise.
@pytest.mark.parametrize("recipe", ["dcgan", "stylegan2"])
def test_resume_on_the_gpu_gives_the_same_next_step(tmp_path, recipe):
    """The GPU's random state (dropout, noise) is saved and restored with the run."""
    cfg = _cfg(recipe)
    ds = load_dataset("faces", cfg.res, size=32)
    unbroken = Trainer(cfg, ds, device="cuda")
    for _ in range(3):
        unbroken.train_step()
    expected = unbroken.train_step()

    first = Trainer(cfg, ds, device="cuda")
    for _ in range(3):
        first.train_step()
    run = RunDir(tmp_path / "run")
    run.create(cfg)
    first.run = run
    first.save_resume()
    torch.cuda.manual_seed_all(12345)  # a different GPU random state; resume must put the saved one back
    resumed = Trainer(cfg, ds, device="cuda")
    resumed.load_state_dict(run.load_resume())
    got = resumed.train_step()
    assert got.keys() == expected.keys()
    for k in expected:
        assert got[k] == pytest.approx(expected[k], rel=1e-4, abs=1e-5), k


def test_the_cli_trains_and_resumes_on_cuda_and_the_snapshot_opens_on_the_cpu(tmp_path):
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    common = ["--device", "cuda", "--no-progress", "--tick-kimg", "0.032"]
    first = subprocess.run([sys.executable, "-m", "explorer.train", "--recipe", "stylegan2", "--data", "faces",
                            "--data-size", "64", "--res", "16", "--batch", "8", "--num-samples", "4",
                            "--model-opt", "channel_base=64", "--model-opt", "channel_max=16", "--kimg", "0.064",
                            "--out", str(run), *common], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=300)
    assert first.returncode == 0, first.stderr
    again = subprocess.run([sys.executable, "-m", "explorer.train", "--resume", str(run), "--kimg", "0.128",
                            *common], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    status = json.loads((run / "status.json").read_text())
    assert status["state"] == "finished" and status["kimg"] >= 0.128
    snaps = sorted(run.glob("snapshots/*.json"))
    assert snaps
    G, meta = load_generator(snaps[-1], "cpu")
    assert meta["train"]["kimg"] >= 0.128 and all(p.device.type == "cpu" for p in G.parameters())


SHIPPED = [e for e in list_checkpoints(ROOT / "weights", None) if e.source == "shipped"]


@pytest.mark.parametrize("entry", SHIPPED, ids=[e.name for e in SHIPPED])
def test_every_shipped_model_renders_the_same_pictures_on_the_gpu(entry):
    """The same seeds on the CPU and the GPU: the pictures agree to within rounding of a few levels
    (the GPU's convolutions sum in another order and may use TF32)."""
    req = GridRequest(str(entry.path), tuple(range(8)), truncation_psi=0.7)
    cpu = Renderer("cpu").render_images(req).astype(int)
    gpu = Renderer("cuda").render_images(req).astype(int)
    assert cpu.shape == gpu.shape
    diff = np.abs(cpu - gpu)
    assert diff.mean() < 1.0 and np.quantile(diff, 0.999) <= 8, (diff.mean(), diff.max())
