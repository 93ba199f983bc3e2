"""Generator speed: batch-1 latency, batch-16 throughput, FLOPs and the fraction of the machine's
measured conv peak that the generator reaches, per model config, thread count and memory format.

    python bench/generate.py                    # 1 thread, CPU (~30 s)
    python bench/generate.py --threads 1,2      # both thread counts, one after the other
    python bench/generate.py --quick            # fewer repeats (~1 min)
    python bench/generate.py --only stylegan    # the rows whose name contains "stylegan"

Prints one JSON object; writes nothing. The peak is a 3x3 conv [16, 128, 64, 64] -> 128 channels
timed here, with the same threads, so fraction_of_peak = GFLOP/img * img/s / peak means "how close
to the floor", whatever the machine or its load. FLOPs are what FlopCounterMode counts (convs and
matmuls, 2 per multiply-add; batch norm and activations are free), counted on the path a render
takes (inference mode). Times are medians after a warm-up.

StyleGAN rows also time an incremental render (what the StyleGAN tab does when a fine control
moves): the state after layer num_layers - 3 is kept, and only the last two synthesis layers and
finish() run again, with the same ws and const noise; against a full batch-1 G.synthesis of the
same ws. Their FLOPs bound the speed-up: last_two_layers_max_speedup = full / last two."""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, no install needed
from explorer.device import pick_device  # noqa: E402
from explorer.models import build_generator  # noqa: E402

STYLEGAN_SMALL = dict(z_dim=256, w_dim=256, mapping_layers=4, channel_base=8192, channel_max=128)
# name -> (architecture, config). WGAN-GP trains the same G as DCGAN, so its speed is the dcgan row.
MODELS = {
    "dcgan-32-gray-ngf64": ("dcgan", dict(res=32, channels=1, ngf=64)),   # as shipped for MNIST
    "dcgan-64-rgb-ngf64": ("dcgan", dict(res=64, channels=3, ngf=64)),    # the PyTorch example's config
    "progan-64-rgb-default": ("progan", dict(res=64)),  # ProGANConfig defaults (CPU-sized widths)
    # The GAN Zoo names no small config; its PGAN GNet at depths 128,128,128,64,32 (4x4 up) and z 128
    # is the one that takes ~12 ms per image here (bench/compare_progan_zoo.py). Our fmap rule matches it.
    "progan-64-rgb-zoo-small": ("progan", dict(res=64, z_dim=128, fmap_base=1024, fmap_max=128, fmap_min=32)),
    # StyleGAN2 rows upsample as the stylegan2 recipe trains (upsample="fir"); "bilinear" is older checkpoints'.
    "stylegan2-64-rgb-default": ("stylegan", dict(res=64, variant="modulated", upsample="fir")),  # CPU-sized widths
    "stylegan-64-rgb-default": ("stylegan", dict(res=64, variant="adain")),
    # NVIDIA's StyleGAN2-ADA Generator at ~2 M params, 2 GFLOP/img: 128 channels at every resolution,
    # z = w = 256, 4 mapping layers (bench/compare_stylegan2_nvidia.py times the two side by side).
    "stylegan2-64-rgb-nvidia-small": ("stylegan", dict(res=64, variant="modulated", upsample="fir", **STYLEGAN_SMALL)),
    "stylegan-64-rgb-nvidia-small": ("stylegan", dict(res=64, variant="adain", **STYLEGAN_SMALL)),
}
FORMATS = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}
# Reference implementations at equal config on this kind of machine, quiet: DCGAN from the bench
# brief, the GAN Zoo from the guide (sec. 7, 2 threads). Side by side: bench/compare_progan_zoo.py.
REFERENCES = {
    "dcgan-64-rgb-ngf64": {"impl": "PyTorch examples DCGAN", "batch1_ms": 6.0, "batch16_img_per_s": 417.0},
    "progan-64-rgb-zoo-small": {"impl": "PyTorch GAN Zoo PGAN GNet", "batch1_ms": 12.0, "batch16_img_per_s": 65.0},
    "stylegan2-64-rgb-nvidia-small": {"impl": "NVIDIA StyleGAN2-ADA Generator", "batch1_ms": 26.0,
                                      "batch16_img_per_s": 31.0},
}
# The StyleGAN speed targets: 1.5x NVIDIA's generator (side by side: compare_stylegan2_nvidia.py), so
# under 15 ms and over 47 img/s on a quiet 2-thread machine; a fine-layer change 3x a full render.
STYLEGAN_TARGETS = {"batch1_ms_max_quiet_2_threads": 15.0, "batch16_img_per_s_min_quiet_2_threads": 47.0,
                    "last_two_layers_speedup_min": 3.0}
REFERENCE = {"model": "dcgan-64-rgb-ngf64",  # the top-level "reference", as earlier outputs had it
             **{k: v for k, v in REFERENCES["dcgan-64-rgb-ngf64"].items() if k != "impl"}}


def speed_ratio(ours: list[float], theirs: list[float]) -> dict:
    """Their time over ours (> 1: ours is faster): of the medians, and the median of call-by-call pairs."""
    return {"medians": round(statistics.median(theirs) / statistics.median(ours), 3),
            "paired": round(statistics.median(t / o for o, t in zip(ours, theirs)), 3)}


def cpu_model() -> str:
    try:  # Linux; elsewhere the architecture name is all we say
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        return next(ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name"))
    except (OSError, StopIteration):
        return platform.machine()


def call_times(fns: dict, repeats: int, warmup: int, device: torch.device) -> dict:
    """{name: [wall seconds per call]}, the variants interleaved call by call so a neighbour's
    load drifting over the run biases none of them. CUDA is synchronised."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    sync()
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            sync()
            times[k].append(time.perf_counter() - t0)
    return times


def count_flops(fn) -> int:
    with FlopCounterMode(display=False) as fc:
        fn()
    return fc.get_total_flops()


@torch.inference_mode()
def conv_peak(device: torch.device, repeats: int) -> dict:
    """GFLOP/s of one large 3x3 conv, in both memory formats; the better one is the peak."""
    conv = torch.nn.Conv2d(128, 128, 3, padding=1).to(device).eval()
    x = torch.randn(16, 128, 64, 64, device=device)  # [N, C, H, W]
    flops = count_flops(lambda: conv(x))
    fns = {}
    for name, fmt in FORMATS.items():
        c, xf = copy.deepcopy(conv).to(memory_format=fmt), x.contiguous(memory_format=fmt)
        fns[name] = lambda c=c, xf=xf: c(xf)
    times = call_times(fns, repeats, 1, device)
    out = {"input": list(x.shape), "out_channels": 128, "kernel": 3, "gflop": round(flops / 1e9, 3),
           **{f"{k}_gflop_per_s": round(flops / statistics.median(t) / 1e9, 1) for k, t in times.items()}}
    out["peak_gflop_per_s"] = max(out[f"{k}_gflop_per_s"] for k in FORMATS)
    # A ~0.2 s call is preempted more often than a 10 ms one, so under load the median peak reads
    # low and fractions can pass 1; the best call says what the machine can do when left alone.
    out["best_call_gflop_per_s"] = round(flops / min(min(t) for t in times.values()) / 1e9, 1)
    return out


def resume_from(G, ws: torch.Tensor, noise: list, k: int):
    """A render that keeps the state after layer k - 1 and runs layers k.. and finish() again."""
    state = G.initial_state(ws.shape[0])
    for i in range(k):
        state = G.run_layer(i, state, ws, noise[i])

    def run():
        s = state
        for i in range(k, G.num_layers):
            s = G.run_layer(i, s, ws, noise[i])
        return G.finish(s, ws)
    return run


@torch.inference_mode()
def incremental_flops(G) -> dict:
    ws, noise = G.mapping(torch.randn(1, G.z_dim)), G.make_noise(1, "const", None)
    full = count_flops(lambda: G.synthesis(ws, noise_mode="const"))
    last_two = count_flops(resume_from(G, ws, noise, G.num_layers - 2))
    return {"synthesis_flops_per_img": full, "last_two_layers_flops": last_two,
            "last_two_layers_max_speedup": round(full / last_two, 2)}


@torch.inference_mode()
def bench_incremental(Gs: dict, device: torch.device, n: int) -> dict:
    """{format: full batch-1 synthesis vs re-running the last two layers (and the last one)}."""
    fns = {}
    for k, G in Gs.items():
        ws = G.mapping(torch.randn(1, G.z_dim, device=device))                 # [1, num_ws, w_dim]
        noise = G.make_noise(1, "const", None)
        fns[(k, "synthesis")] = lambda G=G, ws=ws: G.synthesis(ws, noise_mode="const")
        fns[(k, "last_two")] = resume_from(G, ws, noise, G.num_layers - 2)
        fns[(k, "last_one")] = resume_from(G, ws, noise, G.num_layers - 1)
    t = {key: statistics.median(v) for key, v in call_times(fns, n, 5, device).items()}
    return {k: {"synthesis_batch1_ms": round(t[(k, "synthesis")] * 1e3, 3),
                "last_two_layers_ms": round(t[(k, "last_two")] * 1e3, 3),
                "last_two_layers_speedup": round(t[(k, "synthesis")] / t[(k, "last_two")], 2),
                "last_layer_ms": round(t[(k, "last_one")] * 1e3, 3),
                "last_layer_speedup": round(t[(k, "synthesis")] / t[(k, "last_one")], 2)} for k in Gs}


@torch.inference_mode()
def bench_model(arch: str, cfg: dict, device: torch.device, n1: int, n16: int) -> dict:
    """{format: timings}; every format's G has the same weights (one seed)."""
    Gs = {}
    for name, fmt in FORMATS.items():
        torch.manual_seed(0)
        Gs[name] = build_generator(arch, cfg).to(device).eval().to(memory_format=fmt)
    z_dim = Gs["contiguous"].z_dim
    z1, z16 = torch.randn(1, z_dim, device=device), torch.randn(16, z_dim, device=device)  # [N, z_dim]
    t1 = call_times({k: (lambda G=G: G(z1)) for k, G in Gs.items()}, n1, 5, device)
    t16 = call_times({k: (lambda G=G: G(z16)) for k, G in Gs.items()}, n16, 3, device)
    t1, t16 = ({k: statistics.median(v) for k, v in t.items()} for t in (t1, t16))
    rows = {k: {"batch1_ms": round(t1[k] * 1e3, 3), "batch16_ms": round(t16[k] * 1e3, 2),
                "batch16_img_per_s": round(16 / t16[k], 1)} for k in Gs}
    if arch == "stylegan":
        for k, r in bench_incremental(Gs, device, n1).items():
            rows[k].update(r)
    return rows


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", default="1", help="torch intra-op threads; a comma list runs each (default 1)")
    p.add_argument("--device", default="cpu", help="cpu | cuda | mps | auto (default cpu)")
    p.add_argument("--quick", action="store_true", help="fewer repeats, for a smoke run")
    p.add_argument("--only", default="", help="run only the models whose name contains this (default all)")
    args = p.parse_args(argv)
    models = {k: v for k, v in MODELS.items() if args.only in k}
    device = pick_device(args.device)
    threads = [int(t) for t in args.threads.split(",") if t.strip()]
    # Enough repeats that a median survives a busy neighbour; batch 1 is cheap, so many.
    n1, n16, n_peak = (30, 10, 5) if args.quick else (100, 30, 11)

    out = {
        "bench": "generate",
        "machine": {"torch": torch.__version__, "python": platform.python_version(), "cpu_count": os.cpu_count(),
                    "cpu": cpu_model(), "device": str(device),
                    "threads": threads, "load_avg_1min_at_start": round(os.getloadavg()[0], 2),
                    "quick": args.quick},
        "repeats": {"batch1": n1, "batch16": n16, "peak_conv": n_peak},
        "reference": REFERENCE,
        "stylegan_targets": STYLEGAN_TARGETS,
        "models": {},
        "peak_conv": {},
        "results": [],
    }
    with torch.inference_mode():
        for name, (arch, cfg) in models.items():
            # Frozen: FlopCounterMode's module hooks trip over a no-grad view of a parameter that
            # requires grad (StyleGAN's const.expand); inference needs no grads anyway.
            G = build_generator(arch, cfg).eval().requires_grad_(False)
            flops = count_flops(lambda: G(torch.randn(1, G.z_dim)))  # FLOPs per image (batch 1)
            out["models"][name] = {"arch": arch, "config": cfg, "params": sum(q.numel() for q in G.parameters()),
                                   "flops_per_img": flops, "gflop_per_img": round(flops / 1e9, 4)}
            if arch == "progan":  # channels per stage, 4x4 first: what the fmap rule resolved to
                out["models"][name]["widths"] = [G.cfg.width(s) for s in range(G.num_stages)]
            if arch == "stylegan":
                out["models"][name]["widths"] = [G.cfg.width(r) for r in G.cfg.resolutions]
                out["models"][name].update(incremental_flops(G))
            if name in REFERENCES:
                out["models"][name]["reference"] = REFERENCES[name]
    for n in threads:
        torch.set_num_threads(n)
        peak = conv_peak(device, n_peak)
        out["peak_conv"][str(n)] = peak
        for name, (arch, cfg) in models.items():
            gflop = out["models"][name]["flops_per_img"] / 1e9
            rows = bench_model(arch, cfg, device, n1, n16)
            for r in rows.values():
                r["gflop_per_s"] = round(gflop * r["batch16_img_per_s"], 1)
                r["fraction_of_peak"] = round(r["gflop_per_s"] / peak["peak_gflop_per_s"], 3)
            best1 = min(rows, key=lambda k: rows[k]["batch1_ms"])
            best16 = max(rows, key=lambda k: rows[k]["batch16_img_per_s"])
            out["results"].append({"model": name, "threads": n, **rows,
                                   "fastest_batch1": best1, "fastest_batch16": best16})
    out["machine"]["load_avg_1min_at_end"] = round(os.getloadavg()[0], 2)
    return out


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
