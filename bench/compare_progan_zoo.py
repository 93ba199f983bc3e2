"""Our ProGAN generator against the PyTorch GAN Zoo's PGAN generator (GNet) at the same config,
timed side by side: batch-1 latency and batch-16 throughput, medians of calls interleaved one by one,
each model in both memory formats (contiguous is the like-for-like row; the app renders channels-last).

The reference is imported at run time from a checkout you make yourself, outside this repository
(nothing of it is copied here):

    git clone --depth 1 https://github.com/facebookresearch/pytorch_GAN_zoo /tmp/ganzoo
    python bench/compare_progan_zoo.py --zoo /tmp/ganzoo                 # 1 thread, ~40 s
    python bench/compare_progan_zoo.py --zoo /tmp/ganzoo --threads 1,2   # each thread count in turn
    python bench/compare_progan_zoo.py --zoo /tmp/ganzoo --depths 128,128,128,128,64 --z-dim 128

Only the zoo's models/networks/progressive_conv_net.py and what it imports (torch, numpy) are
loaded; torchvision is not needed. The zoo has no named "small" config: its PGAN default is
depthScales 512,512,512,512,256,... with a 512-d latent (the paper's; ~27 GFLOP/img at 64x64).
The default here, depths 128,128,128,64,32 and z 128 (0.65 GFLOP/img), is the config at which
the zoo's GNet takes about 12 ms per image on a 2-core CPU, the "small config" figure the project
compares against; `--depths 64,64,64,32,16` is our ProGANConfig default.

Both models do the same work: the zoo's GNet is grown with addScale() to 4 * 2^(len(depths) - 1)
pixels and given alpha 0 (in the zoo alpha weighs the *old*, upsampled path, so 0 means fully
grown and skips it); ours runs its last stage with alpha 1. Before timing, the zoo's weights are
copied into ours and the outputs compared: the families differ only in constant gains, which pixel
norm absorbs except on toRGB, so zoo(z) == sqrt(2) * ours(z). Prints one JSON object; writes nothing.
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
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ itself, for the shared helpers
from generate import FORMATS, call_times, count_flops, cpu_model  # noqa: E402
from generate import speed_ratio as ratio  # noqa: E402

from explorer.models import build_generator  # noqa: E402  (generate.py put the repo root on sys.path)

ZOO_MODULE = "models.networks.progressive_conv_net"
CLONE_HINT = "git clone --depth 1 https://github.com/facebookresearch/pytorch_GAN_zoo /tmp/ganzoo"


def import_zoo_gnet(zoo: Path):
    """The zoo's GNet class, from the checkout at `zoo`; SystemExit with a sentence if it isn't one."""
    src = zoo / "models" / "networks" / "progressive_conv_net.py"
    if not src.is_file():
        sys.exit(f"error: no PyTorch GAN Zoo checkout at {zoo} (looked for {src}).\n"
                 f"Get one with:  {CLONE_HINT}\nthen pass its folder as --zoo.")
    sys.path.insert(0, str(zoo))
    try:
        module = importlib.import_module(ZOO_MODULE)
    except ImportError as e:
        sys.exit(f"error: could not import {ZOO_MODULE} from {zoo}: {e}")
    if Path(module.__file__).resolve() != src.resolve():  # another top-level 'models' package won
        sys.exit(f"error: {ZOO_MODULE} resolved to {module.__file__}, not {src}; run from a folder "
                 "without a 'models' package of its own.")
    return module.GNet


def build_zoo(GNet, depths: list[int], z_dim: int, channels: int) -> torch.nn.Module:
    G = GNet(dimLatent=z_dim, depthScale0=depths[0], dimOutput=channels)  # pixel norm, equalized lr, lrelu 0.2
    for d in depths[1:]:
        G.addScale(d)
    G.setNewAlpha(0.0)  # zoo convention: alpha weighs the old path; 0 = fully grown
    return G


def fit_fmap(depths: list[int]) -> tuple[dict, bool]:
    """Our fmap_base/fmap_max/fmap_min whose width rule, min(max(base / 2^(s+1), min), max), gives
    `depths`; if none does exactly, the candidate closest in total squared width error."""
    lo, hi, best = min(depths), max(depths), None
    for base in sorted({d * 2 ** (s + 1) for s, d in enumerate(depths)}):
        widths = [int(min(max(base / 2 ** (s + 1), lo), hi)) for s in range(len(depths))]
        err = sum((w - d) ** 2 for w, d in zip(widths, depths))
        if best is None or err < best[0]:
            best = (err, base)
    return dict(fmap_base=best[1], fmap_max=hi, fmap_min=lo), best[0] == 0


@torch.no_grad()
def copy_zoo_weights(zoo: torch.nn.Module, ours: torch.nn.Module) -> None:
    """Zoo layers compute c_zoo * (W x + b); ours compute (c_ours * W) x + b'. With the same W and
    b' = c_ours * b, each of our layers outputs c_ours / c_zoo times the zoo's: 1 for the 3x3 convs,
    1/4 for the dense layer (absorbed by the pixel norm after it), 1/sqrt(2) for toRGB."""
    pairs = [(zoo.formatLayer, ours.dense), (zoo.groupScale0[0], ours.conv0[0])]
    for zb, ob in zip(zoo.scaleLayers, ours.blocks):
        pairs += [(zb[0], ob[0]), (zb[1], ob[3])]
    pairs += list(zip(zoo.toRGBLayers, ours.to_rgb))
    for z, o in pairs:
        assert z.module.weight.shape == o.weight.shape, (z.module.weight.shape, o.weight.shape)
        o.weight.copy_(z.module.weight)
        o.bias.copy_(z.module.bias * o.scale)


def times_ms(t: list[float]) -> float:
    return statistics.median(t) * 1e3


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--zoo", type=Path, required=True, help="folder of a pytorch_GAN_zoo checkout")
    p.add_argument("--depths", default="128,128,128,64,32",
                   help="channels per scale from 4x4 up; their count sets the resolution (default 5 -> 64x64)")
    p.add_argument("--z-dim", type=int, default=128, help="latent size (default 128)")
    p.add_argument("--channels", type=int, default=3, choices=(1, 3), help="image channels (default 3)")
    p.add_argument("--threads", default="1", help="torch intra-op threads; a comma list runs each (default 1)")
    p.add_argument("--quick", action="store_true", help="fewer repeats, for a smoke run")
    args = p.parse_args(argv)
    GNet = import_zoo_gnet(args.zoo.expanduser())
    depths = [int(d) for d in args.depths.split(",") if d.strip()]
    threads = [int(t) for t in args.threads.split(",") if t.strip()]
    n1, n16 = (30, 10) if args.quick else (100, 30)
    device = torch.device("cpu")

    torch.manual_seed(0)
    zoo = build_zoo(GNet, depths, args.z_dim, args.channels).eval()
    for m in zoo.modules():  # non-zero biases, so the equivalence check covers them too
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.normal_(m.bias, std=0.1)
    fmap, exact = fit_fmap(depths)
    cfg = dict(res=4 * 2 ** (len(depths) - 1), channels=args.channels, z_dim=args.z_dim, **fmap)
    ours = build_generator("progan", cfg).eval()
    widths = [ours.cfg.width(s) for s in range(ours.num_stages)]

    out = {
        "bench": "compare_progan_zoo",
        "machine": {"torch": torch.__version__, "python": platform.python_version(), "cpu_count": os.cpu_count(),
                    "cpu": cpu_model(), "threads": threads,
                    "load_avg_1min_at_start": round(os.getloadavg()[0], 2), "quick": args.quick},
        "repeats": {"batch1": n1, "batch16": n16},
        "config": {"zoo": {"dimLatent": args.z_dim, "depths_per_scale": depths, "dimOutput": args.channels,
                           "alpha": 0.0, "equalizedlR": True, "normalization": True, "leakyReluLeak": 0.2},
                   "ours": {**cfg, "widths_per_stage": widths, "stage": ours.num_stages - 1, "alpha": 1.0},
                   "widths_match_exactly": exact},
    }
    with torch.inference_mode():
        z1, z16 = torch.randn(1, args.z_dim), torch.randn(16, args.z_dim)  # [N, z_dim]
        checks = {"params_ours": sum(q.numel() for q in ours.parameters()),
                  "params_zoo": sum(q.numel() for q in zoo.parameters()),
                  "out_shape_ours": list(ours(z16).shape), "out_shape_zoo": list(zoo(z16).shape),
                  "flops_per_img_ours": count_flops(lambda: ours(z1)),
                  "flops_per_img_zoo": count_flops(lambda: zoo(z1))}
        checks["params_equal"] = checks["params_ours"] == checks["params_zoo"]
        if exact:
            copy_zoo_weights(zoo, ours)
            diff = (zoo(z16) - 2**0.5 * ours(z16)).abs().max().item()
            checks["max_abs_diff_zoo_vs_sqrt2_ours_same_weights"] = float(f"{diff:.3g}")
            checks["outputs_match"] = diff < 1e-3
        out["checks"] = checks
        assert checks["out_shape_ours"] == checks["out_shape_zoo"], "the two generators disagree on output shape"

        # Each model in both memory formats (the app renders channels-last on CPU); weights shared.
        Gs = {f"{name}_{fmt}": copy.deepcopy(G).to(memory_format=FORMATS[fmt])
              for name, G in (("ours", ours), ("zoo", zoo)) for fmt in FORMATS}
        out["results"] = []
        for n in threads:
            torch.set_num_threads(n)
            t1 = call_times({k: (lambda G=G: G(z1)) for k, G in Gs.items()}, n1, 5, device)
            t16 = call_times({k: (lambda G=G: G(z16)) for k, G in Gs.items()}, n16, 3, device)
            row = {"threads": n}
            for k in Gs:
                row[k] = {"batch1_ms": round(times_ms(t1[k]), 3), "batch16_ms": round(times_ms(t16[k]), 2),
                          "batch16_img_per_s": round(16e3 / times_ms(t16[k]), 1)}
            best = {m: (min((f"{m}_{f}" for f in FORMATS), key=lambda k: row[k]["batch1_ms"]),
                        max((f"{m}_{f}" for f in FORMATS), key=lambda k: row[k]["batch16_img_per_s"]))
                    for m in ("ours", "zoo")}
            row["fastest"] = {m: {"batch1": b1, "batch16": b16} for m, (b1, b16) in best.items()}
            # > 1: ours is faster. 'paired' is the median of call-by-call ratios (each pair ran back to
            # back), steadier than a ratio of medians when a neighbour's load drifts.
            row["speed_ratio_ours_over_zoo"] = {
                **{f"{fmt}_{b}": ratio(t[f"ours_{fmt}"], t[f"zoo_{fmt}"])
                   for fmt in FORMATS for b, t in (("batch1", t1), ("batch16", t16))},
                "best_format_batch1": ratio(t1[best["ours"][0]], t1[best["zoo"][0]]),
                "best_format_batch16": ratio(t16[best["ours"][1]], t16[best["zoo"][1]]),
            }
            out["results"].append(row)
    out["machine"]["load_avg_1min_at_end"] = round(os.getloadavg()[0], 2)
    return out


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
