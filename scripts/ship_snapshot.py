"""Ship a run's snapshot as a demo model in weights/, with a card that says how to make it again.

    python -m explorer.train --recipe dcgan --data mnist --res 32 --kimg 300 --out runs/demo-dcgan-mnist
    python scripts/ship_snapshot.py runs/demo-dcgan-mnist dcgan-mnist --hardware "1 CPU thread"
    python -m explorer.metrics --model dcgan-mnist --metric fid,kid,pr --n 2500 --net lite0,domain --reference
    python scripts/ship_snapshot.py --table          # the README's model table, from the cards

Checks that the snapshot opens as the app opens it and stays under 10 MB (the limit for shipped
weights), then writes weights/NAME.safetensors and NAME.json. The card keeps the snapshot's
training record and adds "card": the command that trains it (`python -m explorer.train` with every
setting that differs from the recipe's defaults, and --kimg at the point the snapshot was taken),
the wall time and the hardware. Metrics are added to the card by `python -m explorer.metrics`."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from explorer.fsutil import atomic_write_bytes  # noqa: E402
from explorer.models import ARCHITECTURES  # noqa: E402
from explorer.train.recipes import TrainConfig, make_train_config  # noqa: E402
from explorer.weights import list_checkpoints, load_generator  # noqa: E402

MAX_BYTES = 10 * 1024 * 1024
# TrainConfig fields with a flag of their own in `python -m explorer.train`; others go in --train-opt.
FLAGS = ("data_size", "batch", "seed", "lr_g", "lr_d", "n_critic", "gp_lambda", "label_smoothing", "label_noise",
         "label_flip", "ema_kimg", "drift", "fade_kimg", "stable_kimg", "r1_gamma", "r1_interval", "style_mixing",
         "pl_weight", "pl_interval", "ema_rampup", "num_samples", "tick_kimg", "sample_ticks", "snapshot_ticks")
MODEL_FLAGS = ("ngf", "ndf", "z_dim", "d_dropout", "fmap_base", "fmap_max")
SKIP = {"recipe", "arch", "model", "res", "channels", "data", "kimg", "stage_batch"}


def _value(v) -> str:
    return json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else str(v)


def train_command(run_cfg: dict, kimg: float, out: str) -> str:
    """The `python -m explorer.train` line that makes this run: the recipe, data and size, then
    every field that differs from what that recipe gives by default."""
    recipe, res = run_cfg["recipe"], run_cfg["res"]
    base = make_train_config(recipe, res=res, channels=run_cfg.get("channels"), data=run_cfg["data"])
    args = ["python", "-m", "explorer.train", "--recipe", recipe, "--data", str(run_cfg["data"]), "--res", str(res)]
    default_channels = 1 if run_cfg["data"] == "mnist" else 3
    if run_cfg.get("channels") not in (None, default_channels):
        args += ["--channels", str(run_cfg["channels"])]
    args += ["--kimg", f"{kimg:g}"]
    for name in TrainConfig.__dataclass_fields__:
        if name in SKIP or name not in run_cfg or run_cfg[name] == getattr(base, name):
            continue
        if name in FLAGS:
            args += ["--" + name.replace("_", "-"), _value(run_cfg[name])]
        else:
            args += ["--train-opt", f"{name}={_value(run_cfg[name])}"]
    if run_cfg.get("stage_batch") != base.stage_batch and run_cfg.get("stage_batch"):
        args += ["--stage-batch", ",".join(f"{k}:{v}" for k, v in run_cfg["stage_batch"].items())]
    # A run made before a recipe changed a model default keeps the architecture's own default.
    cls = ARCHITECTURES[base.arch].config
    model = {**{k: getattr(cls, k) for k in base.model if k not in run_cfg.get("model", {}) and hasattr(cls, k)},
             **run_cfg.get("model", {})}
    for key, v in sorted(model.items()):
        if key in ("res", "channels") or base.model.get(key) == v:
            continue
        if key in MODEL_FLAGS:
            args += ["--" + key.replace("_", "-"), _value(v)]
        else:
            args += ["--model-opt", f"{key}={_value(v)}"]
    args += ["--out", out]
    return " ".join(shlex.quote(a) for a in args)


def this_machine() -> str:
    """CPU model and core count, e.g. 'Intel(R) Xeon(R) ... (2 cores)'."""
    import os

    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name} ({os.cpu_count()} cores)"


def ship(run: Path, name: str, weights: Path, hardware: str, snapshot: Path | None = None) -> Path:
    snap = snapshot or sorted((run / "snapshots").glob("*.json"))[-1]
    load_generator(snap)  # refuse anything that would not open in the app
    tensors = snap.with_suffix(".safetensors").read_bytes()
    if len(tensors) > MAX_BYTES:
        raise SystemExit(f"error: {snap.with_suffix('.safetensors')} is {len(tensors) / 2**20:.1f} MB; shipped "
                         "weights must stay under 10 MB.")
    meta = json.loads(snap.read_text())
    run_cfg = json.loads((run / "config.json").read_text())
    train = meta["train"]
    train["run_config"] = run_cfg
    meta["card"] = {
        "command": train_command(run_cfg, round(train["kimg"], 1), f"runs/{run.name}"),
        "kimg": round(train["kimg"], 3),
        "wall_time_sec": round(train.get("total_sec", 0.0), 1),
        "hardware": hardware,
        "shipped": dt.date.today().isoformat(),
    }
    out = weights / name
    atomic_write_bytes(out.with_suffix(".safetensors"), tensors)
    atomic_write_bytes(out.with_suffix(".json"), json.dumps(meta, indent=2, sort_keys=True).encode())
    print(f"shipped {snap} as {out}.safetensors ({len(tensors) / 2**20:.1f} MB) + .json")
    return out


def _metric(rows: list[dict], metric: str, net_prefix: str) -> float | None:
    found = [r["value"] for r in rows if r["metric"] == metric and str(r["net"]).startswith(net_prefix)]
    return found[-1] if found else None


def _fmt(v: float | None, digits: int = 3) -> str:
    return "" if v is None else f"{v:.{digits}g}"


def model_table(weights: Path) -> str:
    """The README's table of shipped models, one row per feature network measured, each model's
    numbers beside the real-data floor (two halves of the real data against each other)."""
    lines = ["| model | family, size | data (licence) | kimg | wall time, hardware | net | n | FID (real) "
             "| KID (real) | precision / recall (real) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for entry in list_checkpoints(weights):
        meta = json.loads(Path(entry.path).read_text())
        card, train = meta.get("card", {}), meta.get("train", {})
        rows, ref = meta.get("metrics", []), meta.get("reference", [])
        nets = list(dict.fromkeys(r["net"] for r in rows if r["metric"] in ("fid", "kid"))) or ["—"]
        for i, net in enumerate(nets):
            n = next((r["n_fake"] for r in rows if r["net"] == net and r["metric"] == "kid"), "")

            def pair(metric, digits=3):
                m, r = _metric(rows, metric, net), _metric(ref, metric, net)
                return f"{_fmt(m, digits)} ({_fmt(r, digits)})" if m is not None else ""

            pr = (f"{_fmt(_metric(rows, 'precision', net), 2)} / {_fmt(_metric(rows, 'recall', net), 2)} "
                  f"({_fmt(_metric(ref, 'precision', net), 2)} / {_fmt(_metric(ref, 'recall', net), 2)})"
                  if _metric(rows, "precision", net) is not None else "")
            head = (f"`{entry.name}` | {meta['arch']}{'/' + meta['config']['variant'] if 'variant' in meta['config'] else ''}, "
                    f"{entry.res}×{entry.res} | {train.get('data', '?')} ({train.get('dataset_licence', '?')}) | "
                    f"{train.get('kimg', 0):.0f} | {card.get('wall_time_sec', train.get('total_sec', 0)) / 60:.0f} min, "
                    f"{card.get('hardware', '?')}") if i == 0 else " | | | | "
            lines.append(f"| {head} | {net} | {n} | {pair('fid')} | {pair('kid')} | {pr} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", nargs="?", help="run directory")
    p.add_argument("name", nargs="?", help="name in weights/ (letters, digits, - and _)")
    p.add_argument("--snapshot", help="a specific snapshot .json (default: the newest)")
    p.add_argument("--hardware", default=None, help="what it trained on (default: this machine's CPU)")
    p.add_argument("--weights", default=str(ROOT / "weights"))
    p.add_argument("--table", action="store_true", help="print the README's model table from the cards")
    args = p.parse_args(argv)
    if args.table:
        print(model_table(Path(args.weights)))
        return 0
    if not (args.run and args.name):
        p.error("give RUN and NAME (or --table)")
    ship(Path(args.run), args.name, Path(args.weights), args.hardware or this_machine(),
         Path(args.snapshot) if args.snapshot else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
