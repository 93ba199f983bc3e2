"""Our StyleGAN3 (-T and -R) against NVIDIA's own code on its CPU path, and our StyleGAN3-T against our
StyleGAN2 at equal size and width: seconds per call at batch 1 and 16, FLOPs per image, and how closely
our output matches NVIDIA's.

NVIDIA's code is imported at run time from a checkout you make yourself, outside this repository (its
licence is NVIDIA's non-commercial one); it needs scipy, and on a CPU its filtered_lrelu, upfirdn2d and
bias_act take their reference paths by themselves (nothing is compiled):

    git clone https://github.com/NVlabs/stylegan3 /tmp/sg3
    PYTHONPATH=DIR_WITH_SCIPY python bench/stylegan3_speed.py --nvidia /tmp/sg3       # ~15 min, 1 thread
    python bench/stylegan3_speed.py                           # ours only (StyleGAN3 and StyleGAN2)
    python bench/stylegan3_speed.py --configs small --quick   # a minute

(`pkg_resources`, which torch_utils/ops/conv2d_gradfix.py imports for parse_version, is stood in for by
packaging's parse when setuptools lacks it; `requests`, which dnnlib/util.py imports for downloads, by an
empty module.) With a checkout, NVIDIA's Generator is built with the config below (seeded; w_avg, biases,
magnitude EMAs and the input affine made non-trivial), pickled as training_loop.py pickles snapshots, and
imported with our importer (nothing of NVIDIA's runs in it); both then render the same ws with the same
non-identity input transform (translate 0.1, 0.05, rotate 10 degrees).

Configs: "256" is NVIDIA's default width at 256 px (channel_base 32768, channel_max 512, z = w = 512,
2 mapping layers; -R doubles both widths, as train.py --cfg stylegan3-r does); "small" is 64 px at
channel_base 8192, channel_max 128, z = w = 128. Our StyleGAN2 uses the same res, channel_base,
channel_max, z, w and mapping depth (variant "modulated", upsample "fir"). At 256 px NVIDIA's code is
called once per batch size (it takes a minute per image here) and at batch 16 only with --full; ours
is the median of --repeats calls after one warm-up (batch 16 at 256 px: one call).
FLOPs are 2 x the multiply-adds of the convolutions and matmuls, counted by torch's FlopCounterMode on
the path that ran (the fast path for ours; NVIDIA's reference path multiplies the zero-stuffed signal).
Speed ratios are NVIDIA's time over ours (> 1: ours is faster). Prints one JSON object; writes nothing
outside a temporary folder."""

from __future__ import annotations

import argparse
import copy
import json
import os
import pickle
import statistics
import sys
import tempfile
import time
import types
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import count_flops, cpu_model  # noqa: E402

from explorer.importers import import_checkpoint  # noqa: E402
from explorer.models import build_generator  # noqa: E402
from explorer.weights import load_generator  # noqa: E402

CONFIGS = {
    "small": {"res": 64, "z_dim": 128, "w_dim": 128, "channel_base": 8192, "channel_max": 128},
    "256": {"res": 256, "z_dim": 512, "w_dim": 512, "channel_base": 32768, "channel_max": 512},
}


def nvidia_modules(path: str):
    """training.networks_stylegan3 and networks_stylegan2 from the checkout, with the two shims."""
    sys.path.insert(0, path)
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        from packaging.version import parse
        sys.modules["pkg_resources"] = types.SimpleNamespace(parse_version=parse)
    try:
        import requests  # noqa: F401
    except ImportError:
        sys.modules["requests"] = types.ModuleType("requests")
    from training import networks_stylegan2, networks_stylegan3
    return networks_stylegan3, networks_stylegan2


def nontrivial_(G, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        G.mapping.w_avg.copy_(torch.randn(G.w_dim, generator=g) * 0.5)
        for name in G.synthesis.layer_names:
            layer = getattr(G.synthesis, name)
            layer.bias.copy_(torch.randn(layer.bias.shape, generator=g) * 0.3)
            layer.magnitude_ema.fill_(float(torch.rand((), generator=g) * 2 + 0.2))
        G.synthesis.input.affine.weight.copy_(torch.randn(G.synthesis.input.affine.weight.shape, generator=g) * 0.3)


def sg3_kwargs(cfg: dict, variant: str) -> dict:
    kw = dict(cfg, mapping_layers=2)
    if variant == "r":
        kw.update(conv_kernel=1, use_radial_filters=True, channel_base=2 * cfg["channel_base"],
                  channel_max=2 * cfg["channel_max"])
    return kw


def models(cfg: dict, variant: str, nv, tmp: Path):
    """(ours, NVIDIA's or None) with the same weights."""
    kw = sg3_kwargs(cfg, variant)
    torch.manual_seed(0)
    if nv is None:
        return build_generator("stylegan3", kw).eval(), None
    sg3, sg2 = nv
    extra = {"conv_kernel": 1, "use_radial_filters": True} if variant == "r" else {}
    Gn = sg3.Generator(z_dim=kw["z_dim"], c_dim=0, w_dim=kw["w_dim"], img_resolution=kw["res"], img_channels=3,
                       mapping_kwargs={"num_layers": 2}, channel_base=kw["channel_base"],
                       channel_max=kw["channel_max"], **extra).eval().requires_grad_(False)
    nontrivial_(Gn, 1)
    D = sg2.Discriminator(c_dim=0, img_resolution=kw["res"], img_channels=3, channel_base=256, channel_max=16)
    snapshot = {"G": Gn, "D": D, "G_ema": copy.deepcopy(Gn).eval(), "augment_pipe": None,
                "training_set_kwargs": {"path": "data.zip", "resolution": kw["res"], "use_labels": False}}
    pkl = tmp / f"sg3{variant}-{kw['res']}.pkl"
    with open(pkl, "wb") as f:
        pickle.dump(snapshot, f)
    r = import_checkpoint(pkl, tmp / "w", pkl.stem, overwrite=True)
    G, _ = load_generator(r.json_path)
    return G, Gn


def timed(fn, repeats: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def med(ts: list[float]) -> float:
    return round(statistics.median(ts), 4)


@torch.inference_mode()
def run(args) -> dict:
    nv = nvidia_modules(args.nvidia) if args.nvidia else None
    tmp = Path(tempfile.mkdtemp())
    out = {"threads": torch.get_num_threads(), "cpu": cpu_model(), "torch": torch.__version__,
           "nvidia": args.nvidia or None, "results": {}}
    for name in args.configs.split(","):
        cfg = CONFIGS[name]
        big = cfg["res"] >= 256
        batches = [int(b) for b in args.batches.split(",")]
        res: dict = {}
        for variant in ("t", "r"):
            G, Gn = models(cfg, variant, nv, tmp)
            z = torch.randn(max(batches), G.z_dim, generator=torch.Generator().manual_seed(3))
            ws = G.mapping(z, truncation_psi=0.7)
            T = G.input_transform(0.1, 0.05, 10.0)
            row = {"params": sum(p.numel() for p in G.parameters()),
                   "flops_per_image_ours": count_flops(lambda: G.synthesis(ws[:1], transform=T))}
            for b in batches:
                reps, warm = (1, 0) if big and b > 1 else (args.repeats, 1)
                ours = timed(lambda: G.synthesis(ws[:b], transform=T), reps, warm)
                row[f"b{b}_ours_s"] = med(ours)
                row[f"b{b}_ours_img_per_s"] = round(b / statistics.median(ours), 3)
                if Gn is None or (big and b > 1 and not args.full):
                    continue
                Gn.synthesis.input.transform.copy_(T)
                if b == 1:
                    t0 = time.perf_counter()
                    row["flops_per_image_nvidia"] = count_flops(lambda: Gn.synthesis(ws[:1], noise_mode="const"))
                    theirs = [time.perf_counter() - t0] if big else timed(
                        lambda: Gn.synthesis(ws[:1], noise_mode="const"), args.repeats, 1)
                else:
                    theirs = timed(lambda: Gn.synthesis(ws[:b], noise_mode="const"), 1 if big else args.repeats,
                                   0 if big else 1)
                row[f"b{b}_nvidia_s"] = med(theirs)
                row[f"b{b}_speedup_vs_nvidia"] = round(statistics.median(theirs) / statistics.median(ours), 2)
                if b == min(batches):
                    a, c = Gn.synthesis(ws[:b], noise_mode="const"), G.synthesis(ws[:b], transform=T)
                    row["output_max_abs_diff_vs_nvidia"] = float((a - c).abs().max())
                    row["output_max_abs"] = float(a.abs().max())
            res[f"stylegan3-{variant}"] = row
        # Our StyleGAN2 at the same size and width.
        torch.manual_seed(0)
        G2 = build_generator("stylegan", {**{k: cfg[k] for k in ("res", "z_dim", "w_dim", "channel_base",
                                                                  "channel_max")},
                                          "mapping_layers": 2, "variant": "modulated", "upsample": "fir"}).eval()
        ws2 = G2.mapping(torch.randn(max(batches), G2.z_dim, generator=torch.Generator().manual_seed(3)))
        row = {"params": sum(p.numel() for p in G2.parameters()),
               "flops_per_image_ours": count_flops(lambda: G2.synthesis(ws2[:1]))}
        for b in batches:
            ts = timed(lambda: G2.synthesis(ws2[:b]), args.repeats, 1)
            row[f"b{b}_ours_s"] = med(ts)
            row[f"b{b}_ours_img_per_s"] = round(b / statistics.median(ts), 3)
        res["stylegan2"] = row
        t = res["stylegan3-t"]
        res["stylegan3-t_over_stylegan2"] = {
            "flops": round(t["flops_per_image_ours"] / row["flops_per_image_ours"], 2),
            **{f"b{b}_time": round(t[f"b{b}_ours_s"] / row[f"b{b}_ours_s"], 2) for b in batches}}
        out["results"][name] = res
        print(json.dumps({name: res}), file=sys.stderr, flush=True)  # progress
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nvidia", default=os.environ.get("STYLEGAN3_CHECKOUT"),
                   help="a checkout of NVlabs/stylegan3 to compare with (or $STYLEGAN3_CHECKOUT); none: ours only")
    p.add_argument("--configs", default="small,256", help=f"comma-separated, from {list(CONFIGS)}")
    p.add_argument("--batches", default="1,16")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1: the guide's per-render setting)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="one repeat")
    p.add_argument("--full", action="store_true", help="also NVIDIA at batch 16 at 256 px (about 15 min each)")
    args = p.parse_args(argv)
    if args.quick:
        args.repeats = 1
    torch.set_num_threads(args.threads)
    print(json.dumps(run(args), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
