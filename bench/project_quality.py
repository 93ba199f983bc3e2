"""Projection quality where the truth is known: procedural faces of seeds no shipped model trained on,
projected into each faces model, in each setting; then edits of the projections. Prints JSON.

Per model and setting: pixel PSNR (dB, 64 px), a perceptual distance judged by Lite0 at 224 px (not the
loss's own network), how well the attribute classifier's factors of the reconstruction match its factors
of the target (binary: agreement; continuous: mean absolute error), seconds and ms per step, and the
seconds the anchors' 1,000 steps take to reach the app default's final PSNR. Edits: a supervised
direction (glasses, eyes open) applied to each projection, 3 standard deviations towards the other value:
how often the classifier sees that factor change, and how often every other binary factor stays.
Speed: ms per projection step for each shipped family, and for an untrained 256 px StyleGAN2.

    python bench/project_quality.py [--n 100] [--models stylegan2-faces,stylegan-faces,progan-faces]
                                    [--threads 1] [--settings default,w,pti,pti_w,anchor,anchor_wplus]"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

FACE_SEED = 9_000_000     # make_faces(seed=...): 9e6 * 1,000,003 + i, far from the training sets (seed 0)
EDITS = ("glasses", "eyes-open")
EDIT_STD = 3.0


def settings_for(space: str) -> dict:
    from explorer.project.projector import ProjectConfig

    if space == "z":
        return {"default": ProjectConfig(space="z"), "pti": ProjectConfig(space="z", pti_steps=300),
                "anchor": ProjectConfig(space="z", steps=1000)}
    return {"default": ProjectConfig(space="w+"), "w": ProjectConfig(space="w"),
            "pti": ProjectConfig(space="w+", pti_steps=300),
            "pti_w": ProjectConfig(space="w", pti_steps=300),  # the PTI paper's pivot: one w
            "anchor": ProjectConfig(space="w", steps=1000),  # NVIDIA's projector.py: w, 1,000 steps
            "anchor_wplus": ProjectConfig(space="w+", steps=1000)}  # rosinality's projector.py --w_plus, 1,000 steps


def mean(xs):
    xs = [x for x in xs if x is not None]
    return round(float(statistics.mean(xs)), 4) if xs else None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--models", default="stylegan2-faces,stylegan-faces,progan-faces")
    p.add_argument("--settings", default="default,w,pti,pti_w,anchor,anchor_wplus")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)

    from explorer.attributes import binarize, load_classifier
    from explorer.edit import directions as dirs
    from explorer.metrics.features import lite0
    from explorer.project.losses import psnr, pyramid_distance
    from explorer.project.projector import Projection, ProjectConfig, synthesis_kwargs_for, ws_of
    from explorer.train.datasets.faces import FACTORS, make_faces
    from explorer.weights import load_generator

    judge = lite0()
    clf = load_classifier("faces")
    binary = [k for k, f in FACTORS.items() if f.kind == "binary"]
    report = {"n": a.n, "threads": a.threads, "face_seed": FACE_SEED, "models": {}}

    def factors(img):
        with torch.no_grad():
            return {k: v.float() for k, v in clf.predict(img.clamp(-1, 1)).items()}

    for name in a.models.split(","):
        G, meta = load_generator(ROOT / "weights" / f"{name}.json")
        kw = synthesis_kwargs_for(G, meta)
        space = dirs.latent_space(G)
        faces, _ = make_faces(a.n, G.img_resolution, seed=FACE_SEED)
        saved = {dirs.key_for(d.name): d for d in dirs.load_directions(ROOT / "weights" / f"{name}.json", G.w_dim)}
        chosen = {k: v for k, v in settings_for(space).items() if k in a.settings.split(",")}
        rows = {k: [] for k in chosen}
        for i, face in enumerate(faces):
            target = torch.from_numpy(face.astype(np.float32)).permute(2, 0, 1)[None] / 127.5 - 1
            want = factors(target)
            with torch.no_grad():
                want_feats = judge.pyramid(target)
            for sname, cfg in chosen.items():
                proj = Projection(G, meta, target, cfg, dataset="faces")
                r = proj.run()
                Gr = r.G if r.G is not None else G
                with torch.no_grad():
                    ws = ws_of(Gr, r.space, r.latent)
                    img = Gr.synthesis(ws, **kw)
                    got = factors(img)
                    row = {"psnr": float(psnr(img.clamp(-1, 1), target)[0]),
                           "lite0": float(pyramid_distance(judge.pyramid(img), want_feats)[0]),
                           "binary": float(np.mean([float((got[k] > 0.5) == (want[k] > 0.5)) for k in binary])),
                           "continuous_mae": float(np.mean([abs(float(got[k] - want[k])) for k in got
                                                            if k not in binary])),
                           "seconds": r.seconds,
                           "ms_per_step": 1000 * (r.history[-1].seconds - r.history[0].seconds) / max(1, len(r.history) - 1),
                           "history": [(h.seconds, h.psnr) for h in r.history if h.phase == "latent"]}
                    for e in EDITS:
                        d = saved.get(e)
                        if d is None or sname.startswith("anchor"):
                            continue
                        factor = e.replace("-", "_")
                        has = bool(got[factor][0] > 0.5)
                        v = torch.from_numpy(d.vector)
                        edited = Gr.synthesis(dirs.apply(ws, v, (-EDIT_STD if has else EDIT_STD) * d.std, d.layers), **kw)
                        after = binarize(clf.predict(edited.clamp(-1, 1)))
                        row[f"edit_{e}_changed"] = float(bool(after[factor][0][0]) != has)
                        row[f"edit_{e}_others_kept"] = float(all(
                            bool(after[k][0][0]) == bool(got[k][0] > 0.5) for k in binary if k != factor))
                rows[sname].append(row)
            print(f"{name} face {i + 1}/{a.n}: " + ", ".join(f"{k} {v[-1]['psnr']:.1f} dB" for k, v in rows.items()),
                  file=sys.stderr, flush=True)
        out = {}
        for sname, rs in rows.items():
            keys = [k for k in rs[0] if k != "history"]
            out[sname] = {k: mean([r.get(k) for r in rs]) for k in keys}
            out[sname]["psnr_median"] = round(float(np.median([r["psnr"] for r in rs])), 3)
            out[sname]["config"] = {k: v for k, v in chosen[sname].to_dict().items()
                                    if v != getattr(ProjectConfig(), k) or k in ("space", "steps")}
        for anchor in ("anchor", "anchor_wplus"):  # an anchor's run: seconds to reach the default's final PSNR
            if anchor not in rows or "default" not in rows:
                continue
            reach = []
            for d_row, a_row in zip(rows["default"], rows[anchor]):
                reach.append(next((t for t, q in a_row["history"] if q >= d_row["psnr"]), None))
            out[anchor]["seconds_to_default_psnr"] = mean(reach)
            out[anchor]["reached_default_psnr"] = mean([float(x is not None) for x in reach])
        report["models"][name] = out

    # Speed: ms per step (default setting) per family, and an untrained 256 px StyleGAN2 (NVIDIA's small config).
    from explorer.models import build_generator

    speed = {}
    cases = [(n, load_generator(ROOT / "weights" / f"{n}.json")) for n in
             ("stylegan2-faces", "stylegan-faces", "progan-faces", "dcgan-mnist", "projected-emoji")]
    G256 = build_generator("stylegan", {"res": 256, "channels": 3, "z_dim": 512, "w_dim": 512, "mapping_layers": 2,
                                        "channel_base": 16384, "channel_max": 512, "variant": "modulated"}).eval()
    cases.append(("stylegan2-256px-untrained", (G256.requires_grad_(False), {"arch": "stylegan", "config": {}})))
    for name, (G, meta) in cases:
        space = dirs.latent_space(G)
        target = torch.rand(1, G.img_channels, G.img_resolution, G.img_resolution) * 2 - 1
        cfg = ProjectConfig(space="w+" if space == "w" else "z", steps=12 if G.img_resolution > 64 else 30,
                            net="lite0" if G.img_resolution > 64 else "auto")
        data = meta.get("train", {}).get("data")
        proj = Projection(G, meta, target, cfg, dataset=data)
        t0 = time.perf_counter()
        r = proj.run()
        steps = [h.seconds for h in r.history]
        speed[name] = {"res": G.img_resolution, "ms_per_step": round(1000 * float(np.median(np.diff(steps))), 1),
                       "net": cfg.net if cfg.net != "auto" else ("domain" if data in ("faces", "mnist") else "lite0"),
                       "setup_s": round(steps[0] - (steps[1] - steps[0]), 2), "wall_s": round(time.perf_counter() - t0, 1)}
    report["speed"] = speed
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
