"""`python -m explorer.project IMAGE --model NAME`: project a picture into a model's latent space.

    python -m explorer.project photo.jpg --model stylegan2-faces --space w+ --steps 200 --pti

Writes weights/NAME.latents/KEY.* (KEY from --name, else the file's name), which every tab lists
where it takes a seed ("@KEY"), and prints the loss as it goes and the final figures as JSON."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from .. import paths
from ..device import set_threads
from . import store
from .projector import ProjectConfig, check_config
from .target import TargetError

PTI_STEPS = 300  # --pti without --pti-steps


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m explorer.project", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("image", help="PNG, JPEG or WebP file (any size; the centre square is used)")
    p.add_argument("--model", required=True, help="model name, checkpoint .json or run directory")
    p.add_argument("--name", help="the projection's name (default: the image file's name)")
    p.add_argument("--space", choices=("w", "w+", "z"), help="default: w+ with a mapping network, else z")
    p.add_argument("--pti", action="store_true", help=f"fine-tune a copy of G around the latent ({PTI_STEPS} steps)")
    p.add_argument("--weights", default=str(paths.WEIGHTS))
    p.add_argument("--runs", default=str(paths.RUNS))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--quiet", action="store_true", help="only the final JSON")
    defaults = ProjectConfig()
    for f in dataclasses.fields(ProjectConfig):
        if f.name == "space":
            continue
        flag = "--" + f.name.replace("_", "-")
        kind = type(getattr(defaults, f.name))
        if kind is bool:
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=getattr(defaults, f.name))
        else:
            p.add_argument(flag, type=kind, default=getattr(defaults, f.name), help=f"default {getattr(defaults, f.name)}")
    return p


def main(argv: list[str] | None = None) -> int:
    a = _parser().parse_args(argv)
    set_threads(a.threads)
    from ..edit.directions import latent_space
    from ..metrics.__main__ import resolve_model
    from ..weights import CheckpointError, load_generator
    from .run import project_file

    from ..metrics.evaluate import MetricError

    try:
        found = resolve_model(a.model, a.weights, a.runs)
    except MetricError as e:
        print(e, file=sys.stderr)
        return 2
    if not found:
        print(f"No model {a.model!r}: give a name from {a.weights}, a checkpoint .json or a run directory.",
              file=sys.stderr)
        return 2
    checkpoint = found[-1]
    try:
        G, meta = load_generator(checkpoint)
    except CheckpointError as e:
        print(e, file=sys.stderr)
        return 2
    space = a.space or ("w+" if latent_space(G) == "w" else "z")
    values = {f.name: getattr(a, f.name) for f in dataclasses.fields(ProjectConfig) if f.name != "space"}
    if a.pti and not values["pti_steps"]:
        values["pti_steps"] = PTI_STEPS
    cfg = ProjectConfig(space=space, **values)
    key = store.key_for(a.name or Path(a.image).stem)
    try:
        check_config(cfg, G)
    except ValueError as e:
        print(e, file=sys.stderr)
        return 2
    every = max(1, (cfg.steps + cfg.pti_steps) // 20)

    def on_step(s):
        if not a.quiet and (s.step % every == 0 or s.step == s.steps):
            print(f"{s.phase:6s} {s.step:5d}/{s.steps}  loss {s.loss:.5f}  psnr {s.psnr:6.2f} dB  {s.seconds:7.1f} s",
                  flush=True)

    t0 = time.perf_counter()
    try:
        target, result, path = project_file(checkpoint, G, meta, a.image, cfg, key, source_name=a.image,
                                            on_step=on_step)
    except (TargetError, ValueError) as e:
        print(e, file=sys.stderr)
        return 2
    for note in target.notes:
        print(note, file=sys.stderr)
    steps = [h for h in result.history if h.phase == "latent"]
    print(json.dumps({"model": str(checkpoint), "latent": f"{store.PREFIX}{key}", "file": str(path),
                      "space": space, "steps": cfg.steps, "pti_steps": cfg.pti_steps, "final": result.final,
                      "best_step": result.best_step, "seconds": round(time.perf_counter() - t0, 2),
                      "ms_per_step": round(1000 * (steps[-1].seconds - steps[0].seconds) / max(1, len(steps) - 1), 1)
                      if len(steps) > 1 else None, "tuned": result.G is not None}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
