"""Explorer render latency while a training job runs, against the same renders on a quiet machine.

    python bench/train_responsiveness.py              # the shipped StyleGAN2 faces model, ~1 min
    python bench/train_responsiveness.py --model weights/dcgan-mnist.json --recipe dcgan

Renders batch-1 grids (what a dragged slider asks for) through the app's Renderer on one torch
thread, first with nothing else running, then while the Train tab's job manager trains a recipe in
its own process (one thread, niced, as the tab launches it). Prints one JSON object with the
medians and the slow-down factor; the run folder lives in a temp dir and is removed."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout, no install needed
from explorer.render import GridRequest, Renderer  # noqa: E402
from explorer.train.jobs import JobManager, JobSpec  # noqa: E402


def latencies(renderer: Renderer, model: str, n: int) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        renderer.render_grid(GridRequest(model, (i,)))
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(ROOT / "weights" / "stylegan2-faces.json"))
    p.add_argument("--recipe", default="stylegan2", help="what the job trains (on the faces, at 32 px)")
    p.add_argument("--renders", type=int, default=60)
    args = p.parse_args()
    torch.set_num_threads(1)
    renderer = Renderer("cpu")
    latencies(renderer, args.model, 5)  # warm-up: load, allocate
    idle = latencies(renderer, args.model, args.renders)
    with tempfile.TemporaryDirectory() as tmp:
        jobs = JobManager(Path(tmp) / "runs", sample_sec=2.0)
        name = jobs.start(JobSpec(args.recipe, "faces", 32, 1000, device="cpu", name="bench",
                                  options={"data_size": 1000, "num_samples": 16}))
        while jobs.status(name).state != "running" or not jobs.status(name).records:
            time.sleep(0.5)
        busy = latencies(renderer, args.model, args.renders)
        st = jobs.status(name)
        jobs.stop(name)
        while jobs.status(name).state in ("starting", "running"):
            time.sleep(0.5)
    med_idle, med_busy = statistics.median(idle), statistics.median(busy)
    print(json.dumps({"model": os.path.basename(args.model), "job": f"{args.recipe} faces 32px, 1 thread, nice 10",
                      "job_sec_per_kimg": st.sec_per_kimg, "cpus": os.cpu_count(),
                      "render_ms_idle_median": round(med_idle * 1000, 1),
                      "render_ms_training_median": round(med_busy * 1000, 1),
                      "render_ms_training_p90": round(sorted(busy)[int(0.9 * len(busy))] * 1000, 1),
                      "slowdown": round(med_busy / med_idle, 2)}, indent=2))


if __name__ == "__main__":
    main()
