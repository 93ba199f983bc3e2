"""Edit tab speed: ms per render while a direction's strength slider is dragged, on a shipped model.

    python bench/edit_render.py                               # weights/stylegan2-faces, 1 thread
    python bench/edit_render.py --model weights/dcgan-mnist.json --threads 2

Each "drag" step changes one strength and renders the edited image through the Edit tab's path
(EditRenderer.render: mapping, the directions, then the StyleGAN layer cache from the first edited
layer), with the handler's display enlargement and PNG encode not included. Rows: a direction on all
ws entries (every layer re-runs), on the fine ws entries only (the last layers re-run), and the
full handler (edit_tab.render: original from the cache + edited + enlargement). Prints JSON; writes
nothing (the directions are found in memory, not saved)."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from explorer.render.edit import Edit  # noqa: E402
from explorer.render import Renderer  # noqa: E402
from explorer.render.style import StyleRenderer  # noqa: E402

HERE = Path(__file__).resolve().parents[1]


def drag(er, path: str, edit: Edit, steps: int) -> list[float]:
    out = []
    for i in range(steps):
        s = -3.0 + 6.0 * i / max(steps - 1, 1)
        t0 = time.perf_counter()
        er.render(path, 7, 1.0, (Edit(edit.vector, s, edit.std, edit.layers),))
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(HERE / "weights" / "stylegan2-faces.json"))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=60)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    from explorer.render.edit import EditRenderer

    r = Renderer("cpu")
    er = EditRenderer(r, StyleRenderer(r))
    G, _ = r.model(args.model)
    d = er.find_sefa(args.model, 1, None)[0]
    rows = {}
    for label, layers in (("all_layers", None), ("fine_only", (max(G.num_ws - 3, 0), G.num_ws))):
        if layers is not None and G.num_ws == 1:
            continue
        edit = Edit(tuple(float(x) for x in d.vector), 1.0, d.std, layers)
        drag(er, args.model, edit, 5)  # warm-up
        ms = drag(er, args.model, edit, args.steps)
        rows[label] = {"median_ms": round(statistics.median(ms), 2), "p90_ms": round(sorted(ms)[int(0.9 * len(ms))], 2),
                       "layers": layers}
    # The whole handler, as the slider calls it (both pictures, enlargement), with the direction saved
    # in a scratch copy of the model's folder so nothing is written beside the real model.
    from explorer.ui import edit_tab
    from explorer.ui.services import Services

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(args.model)
        for suffix in (".json", ".safetensors"):
            (Path(tmp) / (src.stem + suffix)).write_bytes(src.with_suffix(suffix).read_bytes())
        s = Services(Path(tmp), Path(tmp) / "runs", torch.device("cpu"))
        edit_tab.find(s, src.stem, "SeFa (closed form)", 1, next(iter(edit_tab.layer_ranges(G))), None, [], "", "", "")
        span = next(iter(edit_tab.layer_ranges(G)))
        rest = [edit_tab.NONE, 0.0, span] * (edit_tab.SLOTS - 1)
        ms = []
        for i in range(args.steps):
            t0 = time.perf_counter()
            edit_tab.render(s, src.stem, 7, 1.0, "sefa #0", -3.0 + 6.0 * i / (args.steps - 1), span, *rest)
            ms.append((time.perf_counter() - t0) * 1000)
        rows["handler"] = {"median_ms": round(statistics.median(ms), 2), "p90_ms": round(sorted(ms)[int(0.9 * len(ms))], 2)}
    result = {"model": str(args.model), "threads": args.threads, "res": G.img_resolution, "num_ws": G.num_ws,
              "rows": rows}
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
