"""One full StyleGAN2 training iteration, ours (the stylegan2 recipe's Trainer.train_step) against NVIDIA
StyleGAN2-ADA's training phases, side by side on the CPU: images/s at the same small config and batch.

The reference is imported at run time from a checkout you make yourself, outside this repository
(nothing of it is copied here; its licence is NVIDIA's non-commercial one):

    git clone --depth 1 https://github.com/NVlabs/stylegan2-ada-pytorch /tmp/sg2ada
    OMP_NUM_THREADS=2 python bench/train_speed_nvidia.py --ref /tmp/sg2ada             # 32, 64 px; 1, 2 threads
    OMP_NUM_THREADS=2 python bench/train_speed_nvidia.py --ref /tmp/sg2ada --quick     # 1 repeat, a smoke run
    (or set SG2ADA_REF=/tmp/sg2ada instead of --ref)

What one iteration is, on each side (batch 16, 3 channels, augmentation off on both, the recipe has none):
- ours: Trainer.train_step() of the stylegan2 recipe (D step with the logistic loss, lazy R1 added to
  every 16th D step's loss; G step with the non-saturating loss, style mixing 0.9, lazy path length on
  half the batch added to every 4th G step's loss; the G_ema update), fed from an in-memory set of
  random uint8 images.
- NVIDIA's: training_loop.py's inner loop as it runs with G_reg_interval 4 and D_reg_interval 16: the
  phases Gmain, Greg (every 4th), Dmain, Dreg (every 16th), each zero_grad, requires_grad_,
  StyleGAN2Loss.accumulate_gradients(phase, ..., gain=interval), nan_to_num of the grads and its Adam
  step (lr and betas scaled by k / (k + 1), which costs nothing), then the G_ema update; its z drawn
  per phase as there; its custom ops take their pure-PyTorch reference paths on a CPU (no plugin is built).
The lazy regularisers come in proportion: 16 consecutive iterations hold one with R1 and path length, three
with path length only and twelve plain ones. The default "cycle" mode times one of each kind, sets the
counters that decide it, and weights them 1 : 3 : 12 (a 64 px row then takes 3 iterations, not 16, per
repeat); --mode consecutive times --iters (16) in a row instead (measured to agree, see the README). The
sides alternate ours, theirs, ours ... after one warm-up iteration each with both regularisers;
images/s is 16 images * 16 iterations over the median estimate, the ratio is theirs over ours (> 1: faster),
both of the medians and paired (the median of call-by-call ratios). r1_gamma is ours (0.05) on both
sides: its value changes no cost.

The config ("small", as bench/compare_stylegan2_nvidia.py): z = w = 256, 4 mapping layers, 128 channels at
every resolution (channel_base 8192, channel_max 128) in G and D; NVIDIA's D is its default resnet D.
Known differences of the networks (not of the loop): our D downsamples by a 2x2 average after a full-
resolution 3x3 conv (NVIDIA: a [1,3,3,1] blur then a stride-2 3x3 conv, 1/4 of that conv's FLOPs), and
our noise strength is per channel. Prints one JSON object; writes nothing.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import json
import os
import platform
import statistics
import sys
import time
import types
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ itself, for the shared helpers
from generate import call_times, cpu_model  # noqa: E402
from generate import speed_ratio as ratio  # noqa: E402

from explorer.train.datasets import ImageDataset  # noqa: E402  (generate.py put the repo root on sys.path)
from explorer.train.loop import Trainer  # noqa: E402
from explorer.train.recipes import make_train_config  # noqa: E402

CLONE_HINT = "git clone --depth 1 https://github.com/NVlabs/stylegan2-ada-pytorch /tmp/sg2ada"
SMALL = dict(z_dim=256, w_dim=256, mapping_layers=4, channel_base=8192, channel_max=128)  # ~2 M params in G
BATCH = 16
TARGET_RATIO = 1.5  # the goal: ours >= 1.5x NVIDIA's images/s at every resolution


def import_nvidia(ref: Path):
    """(training.networks, training.loss, torch_utils.misc) from the checkout at `ref`, or None with the
    reason when there is none there."""
    src = ref / "training" / "loss.py"
    if not src.is_file():
        return None, f"no StyleGAN2-ADA checkout at {ref} (looked for {src}); get one with: {CLONE_HINT}"
    try:
        import requests  # noqa: F401  (only dnnlib's URL helpers use it)
    except ImportError:
        sys.modules["requests"] = types.ModuleType("requests")
    sys.path.insert(0, str(ref))
    try:
        mods = [importlib.import_module(m) for m in ("training.networks", "training.loss", "torch_utils.misc")]
    except ImportError as e:
        return None, f"could not import NVIDIA's training code from {ref}: {e}"
    if Path(mods[1].__file__).resolve() != src.resolve():  # another top-level 'training' package won
        return None, f"training.loss resolved to {mods[1].__file__}, not {src}; run from a folder without one"
    return mods, None


class Ours:
    """The stylegan2 recipe's Trainer at the small config, on random in-memory images."""

    def __init__(self, res: int, n_images: int = 256):
        cfg = make_train_config("stylegan2", res=res, channels=3, batch=BATCH, model=dict(SMALL), kimg=1e6)
        images = torch.randint(0, 256, (n_images, 3, res, res), generator=torch.Generator().manual_seed(0),
                               dtype=torch.uint8)
        self.trainer = Trainer(cfg, ImageDataset(images=images, name="random"))
        self.cfg = cfg

    def iterations(self, k: int) -> None:
        for _ in range(k):
            self.trainer.train_step()

    def at(self, pos: int) -> None:
        """One iteration at position pos of the lazy schedule (R1 when pos % 16 == 0, path length when
        pos % 4 == 0): the counters that decide it are set, nothing else."""
        self.trainer._d_steps = self.trainer.step = pos
        self.trainer.train_step()


class Theirs:
    """NVIDIA's training_loop.py inner loop (phases, optimiser steps, G_ema) at the same config."""

    def __init__(self, mods, res: int, r1_gamma: float, pl_weight: float, lr: float, betas, ema_kimg: float,
                 ema_rampup: float | None, style_mixing: float):
        networks, loss_mod, self.misc = mods
        torch.manual_seed(0)
        common = dict(c_dim=0, img_resolution=res, img_channels=3)
        syn = dict(channel_base=SMALL["channel_base"], channel_max=SMALL["channel_max"])
        self.G = networks.Generator(z_dim=SMALL["z_dim"], w_dim=SMALL["w_dim"], **common, synthesis_kwargs=syn,
                                    mapping_kwargs=dict(num_layers=SMALL["mapping_layers"]))
        self.D = networks.Discriminator(**common, **syn)
        self.G.train().requires_grad_(False)
        self.D.train().requires_grad_(False)
        self.G_ema = copy.deepcopy(self.G).eval()
        self.loss = loss_mod.StyleGAN2Loss(torch.device("cpu"), self.G.mapping, self.G.synthesis, self.D,
                                           augment_pipe=None, style_mixing_prob=style_mixing, r1_gamma=r1_gamma,
                                           pl_weight=pl_weight)
        self.phases = []
        for name, module, interval in (("G", self.G, 4), ("D", self.D, 16)):
            mb = interval / (interval + 1)
            opt = torch.optim.Adam(module.parameters(), lr=lr * mb, betas=[b ** mb for b in betas], eps=1e-8)
            self.phases += [dict(name=name + "main", module=module, opt=opt, interval=1),
                            dict(name=name + "reg", module=module, opt=opt, interval=interval)]
        self.reals = torch.randint(0, 256, (256, 3, res, res), generator=torch.Generator().manual_seed(0),
                                   dtype=torch.uint8)
        self.ema_kimg, self.ema_rampup = ema_kimg, ema_rampup
        self.batch_idx, self.cur_nimg = 0, 0

    def iterations(self, k: int) -> None:
        for _ in range(k):
            self._iteration()

    def at(self, pos: int) -> None:
        """One iteration at batch_idx pos (Greg when pos % 4 == 0, Dreg when pos % 16 == 0)."""
        self.batch_idx = pos
        self._iteration()

    def _iteration(self) -> None:
        # Fetch data (the loop's uint8 -> [-1, 1] and per-phase z / c).
        i = (self.batch_idx * BATCH) % len(self.reals)
        real_img = self.reals[i:i + BATCH].to(torch.float32) / 127.5 - 1
        real_c = torch.zeros(BATCH, 0)
        all_gen_z = torch.randn(len(self.phases) * BATCH, self.G.z_dim).split(BATCH)
        for phase, gen_z in zip(self.phases, all_gen_z):
            if self.batch_idx % phase["interval"] != 0:
                continue
            phase["opt"].zero_grad(set_to_none=True)
            phase["module"].requires_grad_(True)
            self.loss.accumulate_gradients(phase=phase["name"], real_img=real_img, real_c=real_c, gen_z=gen_z,
                                           gen_c=real_c, sync=True, gain=phase["interval"])
            phase["module"].requires_grad_(False)
            for param in phase["module"].parameters():
                if param.grad is not None:
                    self.misc.nan_to_num(param.grad, nan=0, posinf=1e5, neginf=-1e5, out=param.grad)
            phase["opt"].step()
        # Update G_ema.
        ema_nimg = self.ema_kimg * 1000
        if self.ema_rampup is not None:
            ema_nimg = min(ema_nimg, self.cur_nimg * self.ema_rampup)
        ema_beta = 0.5 ** (BATCH / max(ema_nimg, 1e-8))
        for p_ema, p in zip(self.G_ema.parameters(), self.G.parameters()):
            p_ema.copy_(p.lerp(p_ema, ema_beta))
        for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers()):
            b_ema.copy_(b)
        self.cur_nimg += BATCH
        self.batch_idx += 1


# The lazy schedule over 16 iterations: position 0 has R1 and path length, 4, 8 and 12 path length only,
# the 12 others neither. "cycle" mode times one iteration of each kind and weights them so.
CYCLE = ((0, 1), (4, 3), (1, 12))  # (position, how many of the 16 iterations are of its kind)


def cycle_times(sides: dict, repeats: int) -> dict:
    """{name: [estimated seconds per 16 consecutive iterations]}: per repeat and side, one iteration of each
    kind in CYCLE, timed and weighted; the sides interleaved (ours, theirs, ours ...), after one warm-up cycle."""
    for side in sides.values():
        for pos, _ in CYCLE:
            side.at(pos)
    times = {k: [] for k in sides}
    for _ in range(repeats):
        for k, side in sides.items():
            total = 0.0
            for pos, weight in CYCLE:
                t0 = time.perf_counter()
                side.at(pos)
                total += weight * (time.perf_counter() - t0)
            times[k].append(total)
    return times


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ref", type=Path, default=os.environ.get("SG2ADA_REF"),
                   help="folder of a stylegan2-ada-pytorch checkout (default: $SG2ADA_REF)")
    p.add_argument("--res", default="32,64", help="comma list of resolutions (default 32,64)")
    p.add_argument("--threads", default="1,2", help="comma list of torch intra-op thread counts (default 1,2)")
    p.add_argument("--mode", default="cycle", choices=("cycle", "consecutive"),
                   help="cycle (default): one iteration of each lazy-schedule kind, weighted 1:3:12 as in 16 "
                        "consecutive ones; consecutive: time --iters iterations in a row (5x the run time)")
    p.add_argument("--iters", type=int, default=16, help="consecutive mode: iterations per call, a multiple of 16")
    p.add_argument("--repeats", type=int, default=3, help="timed calls per side and row (default 3)")
    p.add_argument("--quick", action="store_true", help="1 repeat, for a smoke run")
    args = p.parse_args(argv)
    if args.iters % 16:
        p.error("--iters must be a multiple of 16, so every call holds the lazy regularisers in proportion")
    out = {"bench": "train_speed_nvidia"}
    if args.ref is None:
        out["skipped"] = f"no NVIDIA checkout given: pass --ref or set SG2ADA_REF (get one with: {CLONE_HINT})"
        return out
    mods, why = import_nvidia(args.ref.expanduser())
    if mods is None:
        out["skipped"] = why
        return out
    repeats = 1 if args.quick else args.repeats
    threads = [int(t) for t in args.threads.split(",") if t.strip()]
    resolutions = [int(r) for r in args.res.split(",") if r.strip()]
    out.update({
        "machine": {"torch": torch.__version__, "python": platform.python_version(), "cpu_count": os.cpu_count(),
                    "cpu": cpu_model(), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
                    "load_avg_1min_at_start": round(os.getloadavg()[0], 2)},
        "config": {**SMALL, "batch": BATCH, "channels": 3, "mode": args.mode, "repeats": repeats,
                   **({"iters_per_call": args.iters} if args.mode == "consecutive" else {"cycle": CYCLE}),
                   "warmup": "1 iteration (cycle) or 1 call (consecutive)", "augment": "off on both sides"},
        "target_ratio": TARGET_RATIO, "results": [],
    })
    device = torch.device("cpu")
    for res in resolutions:
        ours = Ours(res)
        cfg = ours.cfg
        theirs = Theirs(mods, res, cfg.r1_gamma, cfg.pl_weight, cfg.lr_g, (cfg.beta1, cfg.beta2), cfg.ema_kimg,
                        cfg.ema_rampup, cfg.style_mixing)
        out["config"][f"params_{res}"] = {
            "ours_G": sum(q.numel() for q in ours.trainer.G.parameters()),
            "ours_D": sum(q.numel() for q in ours.trainer.D.parameters()),
            "nvidia_G": sum(q.numel() for q in theirs.G.parameters()),
            "nvidia_D": sum(q.numel() for q in theirs.D.parameters())}
        for n in threads:
            torch.set_num_threads(n)
            sides = {"ours": ours, "nvidia": theirs}
            t = cycle_times(sides, repeats) if args.mode == "cycle" else \
                call_times({k: (lambda s=s: s.iterations(args.iters)) for k, s in sides.items()}, repeats, 1, device)
            k = 16 if args.mode == "cycle" else args.iters  # iterations each time stands for
            row = {"res": res, "threads": n}
            for name, ts in t.items():
                row[name] = {"img_per_s": round(BATCH * k / statistics.median(ts), 2),
                             "sec_per_iter": round(statistics.median(ts) / k, 4),
                             f"sec_per_{k}_iters": [round(x, 2) for x in ts]}
            row["speed_ratio_ours_over_nvidia"] = ratio(t["ours"], t["nvidia"])
            row["meets_target"] = row["speed_ratio_ours_over_nvidia"]["paired"] >= TARGET_RATIO
            out["results"].append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)  # progress, the JSON on stdout is the result
    out["machine"]["load_avg_1min_at_end"] = round(os.getloadavg()[0], 2)
    return out


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
