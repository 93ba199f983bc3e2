"""Builders the tests share: tiny checkpoints of each family written in milliseconds, a really trained
64 px StyleGAN2 run, the app launched in this process over given folders, and the resumed-trainer check.

- `make_tiny_checkpoint(stem, seed)`: a 16 px RGB DCGAN checkpoint at `stem`.
- `make_tiny_progan_checkpoint(stem, seed, stage, alpha)`: a 32 px RGB ProGAN (4 stages).
- `make_tiny_stylegan_checkpoint(stem, variant, seed)`: a 16 px RGB StyleGAN ("adain") or StyleGAN2
  ("modulated"), untrained, with visible noise and a non-zero w_avg.
- `make_tiny_stylegan3_checkpoint(stem, variant, seed)`: a 16 px StyleGAN3-T ("t") or -R ("r"), untrained.
- `train_tiny_stylegan(run_dir)`: a 64 px StyleGAN2 really trained on the procedural faces for 1 kimg.
- `launch_app(dirs)` / `launch_training_app(dirs)`: generators serving app.create_app over `dirs`.
- `require_chromium()`: skip a browser module without Debian's Chromium, but fail it where CI is set.
- `resumed_after(cfg, dataset, steps, folder)`: a Trainer resumed from another's saved state."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]  # the checkout: app.py, explorer/, weights/

TINY_CONFIG = {"res": 16, "channels": 3, "ngf": 8}               # DCGANConfig fields


TINY_TRAIN = {"kimg": 1, "data": "faces", "recipe": "dcgan"}     # the checkpoint's "train" block


TINY_NAME = "tiny"                                               # its name in the model list


def make_tiny_checkpoint(stem: str | os.PathLike, seed: int = 0, train: dict | None = None) -> Path:
    """Write `stem`.safetensors + `stem`.json: an untrained 16 px RGB DCGAN, weights from `seed`.

    DCGAN's own init, N(0, 0.02), gives an untrained G whose every image is flat grey
    (pixels 127..129), too faint for tests that compare pictures (psi 0.5 and 0.45 even
    render the same bytes). He-scaled weights give full-contrast images instead."""
    from torch import nn

    from explorer.models import build_generator
    from explorer.weights import save_generator

    torch.manual_seed(seed)
    G = build_generator("dcgan", TINY_CONFIG)
    with torch.no_grad():
        for m in G.modules():
            if isinstance(m, nn.ConvTranspose2d):
                # Inputs per output pixel: C_in from the 1x1 start, C_in x 2 x 2 for a stride-2, k=4 layer.
                fan_in = m.in_channels * (1 if m.stride[0] == 1 else 4)
                m.weight.normal_(0.0, (2.0 / fan_in) ** 0.5)
    return save_generator(stem, G, "dcgan", TINY_CONFIG, TINY_TRAIN if train is None else train)


TINY_PROGAN_CONFIG = {"res": 32, "channels": 3, "z_dim": 16, "fmap_base": 64, "fmap_max": 16, "fmap_min": 8}


TINY_PROGAN_TRAIN = {"kimg": 1, "data": "faces", "recipe": "progan", "stage": 3, "alpha": 1.0, "stage_res": 32,
                     "dataset_licence": "procedural"}


TINY_PROGAN_NAME = "tiny-progan"


def make_tiny_progan_checkpoint(stem: str | os.PathLike, seed: int = 0, stage: int | None = None,
                                alpha: float = 1.0) -> Path:
    """Write `stem`.safetensors + `stem`.json: an untrained 32 px RGB ProGAN (stages 0..3, 4x4..32x32),
    weights from `seed`, recorded as trained to `stage` (None = 3, the last) at `alpha`.

    Equalized-lr init already gives full-contrast images at every stage (uint8 std ~80); should a
    change to the init ever make them flat, the toRGB weights are scaled up (a larger spread) until they are not."""
    import numpy as np

    from explorer.images import to_uint8
    from explorer.models import build_generator
    from explorer.weights import save_generator

    torch.manual_seed(seed)
    G = build_generator("progan", TINY_PROGAN_CONFIG).eval()
    z = torch.randn(4, TINY_PROGAN_CONFIG["z_dim"])
    with torch.no_grad():
        for s in range(G.num_stages):
            for _ in range(3):
                if np.std(to_uint8(G(z, stage=s))) >= 30:
                    break
                G.to_rgb[s].weight.mul_(4.0)
    stage = G.num_stages - 1 if stage is None else stage
    train = dict(TINY_PROGAN_TRAIN, stage=stage, alpha=alpha, stage_res=4 * 2**stage)
    return save_generator(stem, G, "progan", TINY_PROGAN_CONFIG, train)


TINY_STYLEGAN_MODEL = {"res": 16, "channels": 3, "z_dim": 8, "w_dim": 8, "mapping_layers": 2, "channel_base": 128,
                       "channel_max": 16}


TINY_STYLEGAN_TRAIN = {"kimg": 1, "data": "faces", "recipe": "stylegan2", "dataset_licence": "procedural"}


TINY_STYLEGAN_NAME = "tiny-stylegan2"   # variant "modulated" in app_stylegan_dirs


TINY_STYLEGAN1_NAME = "tiny-stylegan"   # variant "adain"


# A StyleGAN2 of 3 named classes (make_tiny_stylegan_checkpoint); "_" lists it after tiny-stylegan2, which
# the StyleGAN tab then still opens on.
TINY_CONDITIONAL_NAME = "tiny-stylegan2_classes"
TINY_CLASSES = ["circle", "square", "star"]


def make_tiny_stylegan_checkpoint(stem: str | os.PathLike, variant: str = "modulated", seed: int = 0,
                                  classes: list[str] | None = None) -> Path:
    """Write `stem`.safetensors + `stem`.json: an untrained 16 px RGB StyleGAN (variant "adain") or
    StyleGAN2 ("modulated"), weights from `seed`; 6 style inputs (4, 4, 8, 8, 16, 16).

    An untrained G has noise scales of 0 and w_avg = 0, which would hide noise and truncation:
    both get non-zero values here. Should the images come out flat (uint8 std < 30), the toRGB
    weights are scaled up until they are not. With `classes`, a conditional model of those named classes."""
    import numpy as np

    from explorer.images import to_uint8
    from explorer.models import build_generator
    from explorer.weights import save_generator

    config = dict(TINY_STYLEGAN_MODEL, variant=variant)
    if classes:
        config.update(c_dim=len(classes), class_names=list(classes))
    torch.manual_seed(seed)
    G = build_generator("stylegan", config).eval()
    z = torch.randn(4, config["z_dim"])
    with torch.no_grad():
        for layer in G.layers:
            layer.noise_strength.uniform_(0.1, 0.3)
        G.w_avg.copy_(G.mapping(torch.randn(64, config["z_dim"]))[:, 0].mean(0) + 0.5 * torch.randn(config["w_dim"]))
        for _ in range(4):
            if np.std(to_uint8(G(z))) >= 30:
                break
            for rgb in G.to_rgb:
                rgb.conv.weight.mul_(2.0)
    train = dict(TINY_STYLEGAN_TRAIN, recipe="stylegan2" if variant == "modulated" else "stylegan")
    return save_generator(stem, G, "stylegan", config, train)


TINY_STYLEGAN3_NAME = "tiny-stylegan3"  # a 16 px StyleGAN3-T


def make_tiny_stylegan3_checkpoint(stem: str | os.PathLike, variant: str = "t", seed: int = 0) -> Path:
    """Write `stem`.safetensors + `stem`.json: an untrained 16 px StyleGAN3 (-T, or -R with variant "r"), weights
    from `seed`, with non-zero biases, magnitude EMAs, input affine and w_avg, so that translation, rotation
    and truncation all show."""
    from explorer.weights import save_generator

    config = {"res": 16, "channels": 3, "z_dim": 8, "w_dim": 8, "channel_base": 128, "channel_max": 16,
              "num_layers": 4, "num_critical": 1, "margin_size": 2}
    if variant == "r":
        config.update(conv_kernel=1, use_radial_filters=True, channel_base=256, channel_max=32)
    G = nontrivial_stylegan3(config, seed)
    return save_generator(stem, G, "stylegan3", config, dict(TINY_STYLEGAN_TRAIN, recipe="imported"))


def nontrivial_stylegan3(config: dict, seed: int = 0):
    """A seeded StyleGAN3 (eval mode) whose biases, magnitude EMAs, input affine and w_avg are not their
    untrained values, which would hide them from a comparison."""
    from explorer.models import build_generator

    torch.manual_seed(seed)
    G = build_generator("stylegan3", config).eval()
    with torch.no_grad():
        for layer in list(G.layers[1:]) + list(G.to_rgb):
            layer.bias.normal_(0, 0.3)
            layer.magnitude_ema.fill_(float(torch.rand(()) + 0.3))
        G.input.affine.weight.normal_(0, 0.3)
        G.w_avg.normal_(0, 0.5)
    return G


CHROMIUM = Path("/usr/bin/chromium")   # Debian's; Playwright drives it and never downloads a browser


CHROMIUM_INSTALL = "apt-get install -y --no-install-recommends chromium fonts-liberation"


def require_chromium(chromium: Path = CHROMIUM) -> None:
    """Call at the top of a browser test module: without `chromium` the module is skipped on a
    developer's machine, but fails where the CI variable is set (CI must run these tests)."""
    if chromium.exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{chromium} is absent and CI is set: the browser tests must run in CI. "
                    f"Install it with `{CHROMIUM_INSTALL}`.", pytrace=False)
    pytest.skip(f"{chromium} is absent; install it with `{CHROMIUM_INSTALL}`", allow_module_level=True)


@dataclass(frozen=True)
class AppDirs:
    weights: Path   # the app's --weights folder
    runs: Path      # the app's --runs folder


@dataclass(frozen=True)
class LaunchedApp:
    url: str        # "http://127.0.0.1:<port>/"
    demo: object    # the gr.Blocks being served
    dirs: AppDirs


def make_dirs(root: Path) -> AppDirs:
    dirs = AppDirs(root / "weights", root / "runs")
    dirs.weights.mkdir(parents=True)
    dirs.runs.mkdir(parents=True)
    return dirs


FACES_RUN = "stylegan2-faces"   # listed as "run: stylegan2-faces"


def train_tiny_stylegan(run_dir: str | os.PathLike, recipe: str = "stylegan2", res: int = 64, kimg: float = 1.0,
                        tick_kimg: float = 0.5, data_size: int = 256):
    """Train a narrow StyleGAN on the procedural faces into the run directory `run_dir` with
    Trainer.fit (as `python -m explorer.train` does), a snapshot at every tick. Returns the RunDir."""
    from explorer.train.datasets import load_dataset
    from explorer.train.loop import Trainer
    from explorer.train.recipes import make_train_config
    from explorer.train.run import RunDir

    model = {"z_dim": 16, "w_dim": 16, "mapping_layers": 2, "channel_base": 256, "channel_max": 16}
    cfg = make_train_config(recipe, res=res, channels=3, model=model, data="faces", data_size=data_size, batch=16,
                            kimg=kimg, tick_kimg=tick_kimg, snapshot_ticks=1, sample_ticks=100, num_samples=4,
                            ema_kimg=0.1)
    run = RunDir(Path(run_dir)).create(cfg)
    threads = torch.get_num_threads()
    try:
        assert Trainer(cfg, load_dataset("faces", res, size=data_size), run=run).fit() == "done"
    finally:
        torch.set_num_threads(threads)
    return run


def spawn_ranks(target, world: int, *args, timeout: float = 120) -> None:
    """Run target(rank, world, *args) in `world` spawned processes (as torchrun would) and wait for all of them
    to exit cleanly."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=target, args=(r, world, *args)) for r in range(world)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=timeout)
    assert [p.exitcode for p in procs] == [0] * world


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_app(dirs: AppDirs):
    """Build the app as `python app.py` does and serve it in this process; yields a LaunchedApp."""
    import app
    from explorer.ui.app import LAUNCH_OPTIONS

    port = free_port()
    args = app.parse_args(["--weights", str(dirs.weights), "--runs", str(dirs.runs), "--port", str(port),
                           "--device", "cpu"])
    threads = torch.get_num_threads()
    demo = app.create_app(args)
    torch.set_num_threads(threads)  # create_app sets a process-wide thread count; keep other tests' own
    # The same launch options as app.main(), plus the in-process ones.
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=args.port, quiet=True,
                **LAUNCH_OPTIONS)
    try:
        yield LaunchedApp(f"http://127.0.0.1:{port}/", demo, dirs)
    finally:
        demo.close()


def launch_training_app(dirs: AppDirs, sample_sec: str = "0.5"):
    """launch_app for tests that train from the Train tab: jobs it starts refresh their live grid every
    `sample_sec` seconds, and a job a failed test left running is killed when the app goes."""
    import json
    import signal

    old = os.environ.get("GAN_EXPLORER_SAMPLE_SEC")
    os.environ["GAN_EXPLORER_SAMPLE_SEC"] = sample_sec
    try:
        gen = launch_app(dirs)
        app = next(gen)
    finally:
        os.environ.pop("GAN_EXPLORER_SAMPLE_SEC") if old is None else os.environ.update(GAN_EXPLORER_SAMPLE_SEC=old)
    try:
        yield app
    finally:
        for run in dirs.runs.iterdir():
            try:
                st = json.loads((run / "status.json").read_text())
            except (OSError, ValueError):
                continue
            if st.get("state") == "running" and st.get("pid"):
                try:
                    os.kill(st["pid"], signal.SIGKILL)
                except ProcessLookupError:
                    pass
        gen.close()


def resumed_after(cfg, dataset, steps: int, folder) -> "object":
    """A Trainer that took `steps` steps, saved its resume state under `folder`, and a new Trainer that
    loaded it: the new one (whose next step must be the one an unbroken run takes)."""
    from explorer.train.loop import Trainer
    from explorer.train.run import RunDir

    first = Trainer(cfg, dataset)
    for _ in range(steps):
        first.train_step()
    first.run = RunDir(folder).create(cfg)
    first.save_resume()
    resumed = Trainer(cfg, dataset)
    resumed.load_state_dict(first.run.load_resume())
    return resumed
