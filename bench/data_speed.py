"""Does the data pipeline keep up with training? The loader's images/s (ImageDataset.batch over the
EpochSampler's indices, exactly as Trainer.train_step draws its real batch) against a StyleGAN2
train_step's images/s at 64 px, and the cold (render and write the cache) vs warm (read the cache)
start of load_dataset("faces", 64). MNIST and emoji load from arrays shipped in the checkout, so
they are timed once each, for comparison.

    python bench/data_speed.py              # ~1 min on a 2-core box, most of it the cold render
    python bench/data_speed.py --quick      # 1000 faces, fewer steps (~15 s)

Prints one JSON object. The cold start renders into a fresh temporary cache folder (never the
user's), then the warm start reads it; both are load_dataset("faces", 64) end to end."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, no install needed
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ itself, for the shared helpers
from explorer.train.datasets import EpochSampler, load_dataset, render_cache  # noqa: E402
from generate import cpu_model  # noqa: E402

BATCH = 32  # the shipped stylegan2-faces model's batch (weights/stylegan2-faces.json, run_config)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def loader_img_per_s(ds, batches: int) -> float:
    """Images/s of the training loop's own data path: sampler indices -> ImageDataset.batch (CPU)."""
    sampler = EpochSampler(len(ds), BATCH, seed=0)
    for _ in range(5):
        ds.batch(sampler.next())
    t0 = time.perf_counter()
    for _ in range(batches):
        ds.batch(sampler.next())
    return BATCH * batches / (time.perf_counter() - t0)


def step_img_per_s(ds, steps: int) -> dict:
    """A StyleGAN2 train_step (D phase + G phase, lazy R1 and path length at their intervals) at 64 px."""
    from explorer.train.loop import Trainer
    from explorer.train.recipes import make_train_config

    cfg = make_train_config("stylegan2", res=64, channels=3, batch=BATCH, data="faces", data_size=len(ds))
    trainer = Trainer(cfg, ds, device=torch.device("cpu"))
    trainer.train_step()  # warm-up: allocator, oneDNN primitive caches
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        trainer.train_step()
        times.append(time.perf_counter() - t0)
    sec = statistics.median(times)
    return {"sec_per_step": round(sec, 3), "img_per_s": round(BATCH / sec, 1), "steps_timed": steps}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="1000 faces and fewer steps, for a smoke run")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    n, steps, batches = (1000, 3, 50) if args.quick else (5000, 8, 300)

    out = {"bench": "data_speed",
           "machine": {"torch": torch.__version__, "python": platform.python_version(), "cpu_count": os.cpu_count(),
                       "cpu": cpu_model(), "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(), "threads": args.threads, "quick": args.quick,
                       "load_avg_1min_at_start": round(os.getloadavg()[0], 2)},
           "batch": BATCH}
    old = os.environ.get(render_cache.CACHE_ENV)
    with tempfile.TemporaryDirectory(prefix="gan-explorer-bench-") as tmp:
        os.environ[render_cache.CACHE_ENV] = tmp
        try:
            ds, cold = timed(lambda: load_dataset("faces", 64, size=n))
            warm_ds, warm = timed(lambda: load_dataset("faces", 64, size=n))
            entry = sum(f.stat().st_size for f in Path(tmp).rglob("*.npz"))
        finally:
            if old is None:
                os.environ.pop(render_cache.CACHE_ENV, None)
            else:
                os.environ[render_cache.CACHE_ENV] = old
    assert torch.equal(ds.images, warm_ds.images), "the cache gave other pixels than the render"
    out["faces_start"] = {"n": n, "res": 64, "cold_s": round(cold, 2), "warm_s": round(warm, 3),
                          "speedup": round(cold / warm, 1), "cache_file_mb": round(entry / 2**20, 1)}
    out["other_builtin_start_s"] = {name: round(timed(lambda: load_dataset(name, 64))[1], 2) for name in ("mnist", "emoji")}

    loader = loader_img_per_s(ds, batches)
    step = step_img_per_s(ds, steps)
    out["loader_img_per_s"] = round(loader, 1)
    out["stylegan2_64_step"] = step
    out["data_share_of_step_time"] = round(step["img_per_s"] / loader, 4)  # loader time / step time
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
