"""Dissect every layer of every shipped faces model, so the Inspect tab's part edits work as it opens:
writes weights/NAME.dissect/LAYER.json with the faces part segmenter (weights/classifiers/faces-parts).

    python scripts/make_dissections.py                 # every faces model in weights/, every layer, 200 samples
    python scripts/make_dissections.py --model stylegan2-faces --samples 400

Deterministic: seeds 0..samples-1, the same picture for a seed whatever the batch."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from explorer import paths  # noqa: E402
from explorer.attributes.parts import load_segmenter  # noqa: E402
from explorer.inspect import list_layers  # noqa: E402
from explorer.inspect.model import can_dissect, dissect_checkpoint, synthesizer  # noqa: E402
from explorer.weights import load_generator, read_meta  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", action="append", help="a model name in weights/ (default: every faces model)")
    p.add_argument("--samples", type=int, default=200)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    names = a.model or sorted(j.stem for j in paths.WEIGHTS.glob("*.json") if can_dissect(read_meta(j)) is None)
    seg = load_segmenter()
    for name in names:
        path = paths.WEIGHTS / f"{name}.json"
        G, meta = load_generator(path)
        G.requires_grad_(False)
        with torch.inference_mode():
            layers = list_layers(G, synthesizer(G, meta))
        for layer in layers:
            t0 = time.perf_counter()
            d = dissect_checkpoint(G, meta, path, layer.key, seg, samples=a.samples)
            best = {part: d.best(part, 1)[0] for part in d.parts}
            print(json.dumps({"model": name, "layer": layer.key, "seconds": round(time.perf_counter() - t0, 1),
                              "best_iou": {k: round(v[1], 3) for k, v in best.items()}}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
