"""python -m explorer.playground --preset NAME --steps N --out view.png [--recipe out.json] [--from recipe.json|png]

Trains a preset (or continues a saved recipe) for N iterations, writes the view as a PNG that
carries its recipe, optionally the recipe as JSON, and prints a JSON summary."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from . import recipe as recipes
from .presets import PRESETS
from .train import Playground


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m explorer.playground", description=__doc__.splitlines()[0])
    ap.add_argument("--preset", choices=sorted(PRESETS), help="start from this preset (its config and seed)")
    ap.add_argument("--from", dest="source", help="continue the run a recipe .json or view .png records")
    ap.add_argument("--steps", type=int, default=None, help="iterations to train (default: the preset's own budget; 0 with --from)")
    ap.add_argument("--seed", type=int, default=None, help="seed instead of the preset's")
    ap.add_argument("--out", default=None, help="write the view (with its recipe) to this PNG")
    ap.add_argument("--recipe", default=None, help="write the recipe JSON here")
    ap.add_argument("--size", type=int, default=480, help="view size in pixels")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest for these sizes)")
    args = ap.parse_args(argv)
    if (args.preset is None) == (args.source is None):
        ap.error("give exactly one of --preset NAME or --from recipe.json|view.png")
    torch.set_num_threads(max(1, args.threads))
    try:
        t0 = time.perf_counter()
        if args.source:
            pg = recipes.load(args.source)
            steps = args.steps or 0
        else:
            preset = PRESETS[args.preset]
            pg = Playground(preset.config, seed=preset.seed if args.seed is None else args.seed)
            steps = preset.steps if args.steps is None else args.steps
        t1 = time.perf_counter()
        pg.step(steps)
        t2 = time.perf_counter()
        summary = pg.summary()
        summary.update({"preset": args.preset, "from": args.source, "steps_trained": steps,
                        "replay_s": round(t1 - t0, 3), "train_s": round(t2 - t1, 3),
                        "steps_per_s": round(steps / (t2 - t1), 1) if steps and t2 > t1 else None})
        if args.preset:
            summary["watch"] = PRESETS[args.preset].watch
        if args.out:
            summary["out"] = str(recipes.save_png(args.out, pg, args.size))
        if args.recipe:
            Path(args.recipe).write_text(recipes.to_json(pg))
            summary["recipe"] = args.recipe
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
