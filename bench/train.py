"""Training speed: images/s of the real Trainer.train_step (D phase + G phase) at batch 16,
per recipe, resolution and thread count, on a small in-memory procedural-faces set.

    python bench/train.py                       # 1 thread, CPU (~1 min; 1.5 on a busy box)
    python bench/train.py --threads 1,2         # both thread counts, one after the other
    python bench/train.py --quick               # fewer steps (~15 s; 30 on a busy box)

Prints one JSON object; writes nothing (the Trainer gets no run directory). Each row reports:
  sec_per_step        median wall time of one train_step (n_critic D steps + one G step + EMA)
  real_img_per_s      real images shown to D per second (what log.jsonl's sec_per_kimg measures)
  g_steps_per_s       G updates per second; g_img_per_s = batch * g_steps_per_s
A "training iteration" in the reference (PyTorch example DCGAN) is one D step + one G step, so
the rows with n_critic = 1 are the ones to compare with it; there both images/s are the same.
wgan-gp runs twice: as the recipe ships (n_critic 5) and with n_critic 1 for that comparison."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, no install needed
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ itself, for the shared helpers
from explorer.device import pick_device  # noqa: E402
from explorer.train.datasets import load_dataset  # noqa: E402
from explorer.train.loop import Trainer  # noqa: E402
from explorer.train.recipes import make_train_config  # noqa: E402
from generate import cpu_model  # noqa: E402

BATCH = 16
# name -> (recipe, res, channels, overrides of the recipe)
RUNS = {
    "dcgan-64-rgb": ("dcgan", 64, 3, {}),
    "wgan-gp-64-rgb": ("wgan-gp", 64, 3, {}),                        # as the recipe ships: n_critic 5
    "wgan-gp-64-rgb-ncritic1": ("wgan-gp", 64, 3, {"n_critic": 1}),  # one D + one G step, as the reference
    "dcgan-32-gray": ("dcgan", 32, 1, {}),
}
# PyTorch example DCGAN 64x64 ngf 64, batch 16, one D + one G step, this kind of machine, quiet.
REFERENCE = {"run": "dcgan-64-rgb", "img_per_s": 43.0}




class FlopCount(TorchDispatchMode):
    """FLOPs of the ops FlopCounterMode knows (convs, matmuls; 2 per multiply-add). Not
    FlopCounterMode itself: its module tracker breaks autograd.grad on a leaf, which the
    gradient penalty calls (torch 2.13: "A leaf node was passed to _will_engine_execute_node")."""
    flops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        count = flop_registry.get(func._overloadpacket)
        if count is not None:
            self.flops += count(*args, **kwargs, out_val=out)
        return out


def step_times(trainer: Trainer, steps: int, warmup: int, device: torch.device) -> list[float]:
    """Wall seconds of each train_step after a warm-up (allocator, oneDNN primitive caches)."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for _ in range(warmup):
        trainer.train_step()
    sync()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        trainer.train_step()  # its .item() calls synchronise too; sync() makes it explicit
        sync()
        times.append(time.perf_counter() - t0)
    return times


def bench_run(recipe: str, res: int, channels: int, overrides: dict, data, device, steps: int, warmup: int) -> dict:
    cfg = make_train_config(recipe, res=res, channels=channels, batch=BATCH, data="faces",
                            data_size=len(data), **overrides)
    trainer = Trainer(cfg, data, device=device)  # no RunDir: nothing is written
    with FlopCount() as fc:  # the first warm-up step, counted (fwd, bwd and the GP's double backward)
        trainer.train_step()
    # Fewer steps when a step is n_critic D steps, so every row takes about as long.
    times = step_times(trainer, max(1, steps // cfg.n_critic), (warmup - 1) // cfg.n_critic, device)
    sec = statistics.median(times)
    gflop = fc.flops / 1e9
    return {"recipe": recipe, "res": res, "channels": channels, "batch": BATCH, "n_critic": cfg.n_critic,
            "gp_lambda": cfg.gp_lambda, "d_norm": cfg.model["d_norm"], "steps_timed": len(times),
            "sec_per_step": round(sec, 4), "sec_per_step_min": round(min(times), 4),
            "real_img_per_s": round(BATCH * cfg.n_critic / sec, 1),
            "g_steps_per_s": round(1 / sec, 2), "g_img_per_s": round(BATCH / sec, 1),
            "gflop_per_step": round(gflop, 2), "gflop_per_s": round(gflop / sec, 1),
            "comparable_to_reference": cfg.n_critic == 1}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", default="1", help="torch intra-op threads; a comma list runs each (default 1)")
    p.add_argument("--device", default="cpu", help="cpu | cuda | mps | auto (default cpu)")
    p.add_argument("--quick", action="store_true", help="fewer steps, for a smoke run")
    args = p.parse_args(argv)
    device = pick_device(args.device)
    threads = [int(t) for t in args.threads.split(",") if t.strip()]
    steps, warmup = (3, 1) if args.quick else (25, 5)  # in D+G steps; n_critic 5 rows take 1/5 as many

    out = {
        "bench": "train",
        "machine": {"torch": torch.__version__, "python": platform.python_version(), "cpu_count": os.cpu_count(),
                    "cpu": cpu_model(), "device": str(device), "threads": threads,
                    "load_avg_1min_at_start": round(os.getloadavg()[0], 2), "quick": args.quick},
        "data": f"procedural faces, 256 images, uint8 in memory, batch {BATCH}",
        "reference": REFERENCE,
        "results": [],
    }
    datasets = {}  # (res, channels) -> ImageDataset; rendered once (about a second at 64x64)
    for res, channels in sorted({(r, c) for _, r, c, _ in RUNS.values()}):
        datasets[res, channels] = load_dataset("faces", res, channels=channels, size=256)
    for n in threads:
        torch.set_num_threads(n)
        for name, (recipe, res, channels, overrides) in RUNS.items():
            row = bench_run(recipe, res, channels, overrides, datasets[res, channels], device, steps, warmup)
            out["results"].append({"run": name, "threads": n, **row})
    out["machine"]["load_avg_1min_at_end"] = round(os.getloadavg()[0], 2)
    return out


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
