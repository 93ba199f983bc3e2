"""`python -m explorer.inspect`: a model's layers, and GAN Dissection of one of them.

    python -m explorer.inspect layers --model stylegan2-faces
    python -m explorer.inspect dissect --model stylegan2-faces --layer b16.conv1 --samples 200

dissect writes weights/NAME.dissect/LAYER.json (the Inspect tab lists it) and prints the best units per part."""

from __future__ import annotations

import argparse
import json
import sys

import torch

from .. import paths
from ..device import set_threads


def _model(name: str, weights: str, runs: str):
    from ..metrics.__main__ import resolve_model
    from ..weights import load_generator

    found = resolve_model(name, weights, runs)
    if not found:
        raise SystemExit(f"No model {name!r}: give a name from {weights}, a checkpoint .json or a run directory.")
    G, meta = load_generator(found[-1])
    return found[-1], G.requires_grad_(False), meta


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m explorer.inspect", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    for name in ("layers", "dissect"):
        s = sub.add_parser(name)
        s.add_argument("--model", required=True, help="model name, checkpoint .json or run directory")
        s.add_argument("--weights", default=str(paths.WEIGHTS))
        s.add_argument("--runs", default=str(paths.RUNS))
        s.add_argument("--threads", type=int, default=1)
        if name == "dissect":
            s.add_argument("--layer", required=True, help="a key from `layers`, e.g. b16.conv1")
            s.add_argument("--samples", type=int, default=200, help="seeds 0..N-1")
            s.add_argument("--top", type=int, default=5, help="units listed per part")
    a = p.parse_args(argv)
    set_threads(a.threads)
    from .layers import list_layers
    from .model import dissect_checkpoint, synthesizer

    path, G, meta = _model(a.model, a.weights, a.runs)
    with torch.inference_mode():
        layers = list_layers(G, synthesizer(G, meta))
    if a.command == "layers":
        for layer in layers:
            print(layer.label)
        return 0
    from ..attributes import ClassifierError
    from ..attributes.parts import load_segmenter

    try:
        seg = load_segmenter()
        d = dissect_checkpoint(G, meta, path, a.layer, seg, samples=a.samples,
                               progress=lambda i, n: print(f"\r{i}/{n}", end="", file=sys.stderr))
    except (ValueError, ClassifierError) as e:
        raise SystemExit(str(e)) from None
    print(file=sys.stderr)
    print(json.dumps({"layer": d.layer, "samples": d.samples, "seconds": d.seconds,
                      "best": {part: d.best(part, a.top) for part in d.parts}}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
