"""The README's projection strip (assets/project-strip.png): pictures projected into stylegan2-faces by the
code the Project tab runs (explorer/project/run.project_file), on a copy of the model so weights/ gains no
latents. Rows: a procedural face of a seed the model never trained on, an emoji (not a face the model
knows), and a real photo when one is given. Columns: the upload's centre square, w+ (the app's default,
250 steps), w+ with PTI (300 steps), and that PTI projection with the shipped "glasses" direction at +3 std.

    python scripts/make_project_strip.py [--photo PATH] [--out assets/project-strip.png]

The README's photo is Grace Hopper's portrait (U.S. Navy, public domain), which matplotlib ships as sample
data: `pip download matplotlib --no-deps`, then unzip matplotlib/mpl-data/sample_data/grace_hopper.jpg."""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

MODEL = "stylegan2-faces"
TILE = 128
FACE_SEED = 9_000_000


def png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--photo", help="a real photo (JPEG/PNG) for the third row")
    p.add_argument("--out", default=str(ROOT / "assets" / "project-strip.png"))
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    from explorer.edit import directions as dirs
    from explorer.images import to_uint8
    from explorer.project.projector import ProjectConfig, synthesis_kwargs_for, ws_of
    from explorer.project.run import project_file
    from explorer.train.datasets.emoji import make_emoji
    from explorer.train.datasets.faces import make_faces
    from explorer.weights import load_generator

    work = Path(tempfile.mkdtemp(prefix="gan-explorer-strip-"))
    for suffix in (".json", ".safetensors"):
        shutil.copy(ROOT / "weights" / f"{MODEL}{suffix}", work / f"{MODEL}{suffix}")
    checkpoint = work / f"{MODEL}.json"
    G, meta = load_generator(checkpoint)
    kw = synthesis_kwargs_for(G, meta)
    glasses = next(d for d in dirs.load_directions(ROOT / "weights" / f"{MODEL}.json") if d.name == "glasses")
    emoji, _, codepoints = make_emoji(160)
    faces, labels = make_faces(16, 256, seed=FACE_SEED)
    from explorer.train.datasets.faces import FACTOR_NAMES
    plain = next(i for i in range(16) if labels[i, FACTOR_NAMES.index("glasses")] == 0)  # glasses to add
    rows = [("procedural face (unseen seed)", png(faces[plain])),
            ("emoji (not a face it knows)", png(emoji[codepoints.index(0x1F431)] if 0x1F431 in codepoints else emoji[0]))]
    if a.photo:
        rows.append(("photo (Grace Hopper, public domain)", Path(a.photo).read_bytes()))
    tiles, figures = [], []
    for label, data in rows:
        row = []
        base = ProjectConfig(space="w+")
        target, r_w, _ = project_file(checkpoint, G, meta, data, base, "strip-w")
        _, r_pti, _ = project_file(checkpoint, G, meta, data, ProjectConfig(space="w+", pti_steps=300), "strip-pti")
        with torch.no_grad():
            ws = ws_of(r_pti.G, "w+", r_pti.latent)
            edited = to_uint8(r_pti.G.synthesis(dirs.apply(ws, torch.from_numpy(glasses.vector), 3 * glasses.std,
                                                           glasses.layers), **kw))[0]
        for pic in (target.picture, r_w.picture, r_pti.picture, edited):
            row.append(np.asarray(Image.fromarray(pic).resize((TILE, TILE), Image.NEAREST)))
        tiles.append((label, row))
        figures.append({"row": label, "w+_psnr": round(r_w.final["psnr"], 2), "pti_psnr": round(r_pti.final["psnr"], 2),
                        "w+_s": round(r_w.seconds, 1), "pti_s": round(r_pti.seconds, 1)})
    heads = ["upload (centre square)", "w+, 250 steps", "w+ and PTI", "PTI + glasses"]
    pad, top, left = 4, 22, 150
    W = left + len(heads) * (TILE + pad) + pad
    H = top + len(tiles) * (TILE + pad) + pad
    sheet = Image.new("RGB", (W, H), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for j, h in enumerate(heads):
        draw.text((left + pad + j * (TILE + pad), 5), h, fill=(0, 0, 0), font=font)
    for i, (label, row) in enumerate(tiles):
        y = top + pad + i * (TILE + pad)
        words, line, lines = label.split(), "", []
        for w in words:
            if len(line) + len(w) > 20:
                lines.append(line)
                line = w
            else:
                line = f"{line} {w}".strip()
        lines.append(line)
        for k, t in enumerate(lines):
            draw.text((6, y + 40 + 14 * k), t, fill=(0, 0, 0), font=font)
        for j, tile in enumerate(row):
            sheet.paste(Image.fromarray(tile), (left + pad + j * (TILE + pad), y))
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(a.out, optimize=True)
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({"out": a.out, "rows": figures}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
