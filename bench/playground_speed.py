"""2-D playground speed: training iterations per second for each loss at the default sizes, and
the time of a snapshot and of drawing it at 480 px.

    python bench/playground_speed.py              # 1 thread (what the tab uses), ~30 s
    python bench/playground_speed.py --threads 2
    python bench/playground_speed.py --quick      # fewer repeats

Prints one JSON object; writes nothing. Every figure is a median over repeats after a warm-up.
An iteration is TrainConfig.d_steps D steps and one G step; rows with d_steps > 1 (WGAN-GP's
n_critic = 5) say so, and "d_step_ms" / "g_step_ms" time the two halves alone.
"""

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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, no install needed
from explorer.playground import Playground, PlaygroundConfig, TrainConfig, draw  # noqa: E402

# name -> TrainConfig overrides, at the default ModelConfig (width 64, depth 3) and batch 256.
ROWS = {
    "bce": {},
    "bce-minimax": {"g_loss": "minimax"},
    "bce-r1": {"r1_gamma": 1.0},
    "bce-label-tricks": {"label_smoothing": 0.1, "label_noise": 0.05, "label_flip": 0.05},
    "hinge": {"loss": "hinge"},
    "wgan-gp-n1": {"loss": "wgan-gp", "d_steps": 1},
    "wgan-gp-n5": {"loss": "wgan-gp", "d_steps": 5},
}


def median_ms(fn, repeats: int, inner: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t) / inner * 1e3)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    repeats, inner = (3, 20) if args.quick else (7, 50)
    out = {"threads": args.threads, "torch": torch.__version__, "machine": platform.machine(),
           "cpus": os.cpu_count(), "load_avg_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
           "config": {"width": 64, "depth": 3, "batch": 256, "latent_dim": 2}, "losses": {}}
    for name, kw in ROWS.items():
        pg = Playground(PlaygroundConfig(train=TrainConfig(**kw)), seed=0)
        pg.step(20)  # warm-up
        it_ms = median_ms(lambda: pg.step(1), repeats, inner)
        out["losses"][name] = {"d_steps": pg.config.train.d_steps, "iteration_ms": round(it_ms, 3),
                               "iterations_per_s": round(1e3 / it_ms, 1),
                               "d_step_ms": round(median_ms(pg.step_d, repeats, inner), 3),
                               "g_step_ms": round(median_ms(pg.step_g, repeats, inner), 3)}
    pg = Playground(seed=0)
    pg.step(200)
    snap = pg.snapshot()
    out["snapshot_ms"] = round(median_ms(pg.snapshot, repeats, max(1, inner // 5)), 3)
    out["draw_480_ms"] = round(median_ms(lambda: draw(snap, 480), repeats, max(1, inner // 5)), 3)
    out["draw_240_ms"] = round(median_ms(lambda: draw(snap, 240), repeats, max(1, inner // 5)), 3)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
