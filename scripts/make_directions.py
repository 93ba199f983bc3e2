"""The directions shipped with the models in weights/, so the Edit tab moves a picture on first use.

    python scripts/make_directions.py                       # every model in weights/
    python scripts/make_directions.py --models dcgan-mnist  # some of them
    python scripts/make_directions.py --weights DIR --clean # another folder; drop its other directions

Each model's directions are found by the Edit tab's own functions (explorer.render.edit.EditRenderer,
as its *Find and save* calls them, and explorer.edit.directions.find_pca) and saved beside it in
weights/NAME.directions/ (KEY.npy + KEY.json):

- SeFa: the top 5 over every layer; for style-based models also the top 3 of the coarse layers
  (layout: head size, position), named "sefa #0" and "sefa w0-2 #0" (its layers) as the tab names them.
- PCA (GANSpace): the top 5, "pca #0" ... With a mapping network, the principal axes of sampled w.
  Without one (DCGAN, WGAN-GP, ProGAN, FastGAN) z is an isotropic Gaussian, whose principal axes
  describe the sampler, not the model: the principal axes of the first 4x4 layer's activations
  instead, each regressed back to z (explorer.edit.directions.find_pca, EARLY_LAYER).
- Supervised (InterFaceGAN), where an attribute classifier fits the training data
  (weights/classifiers/): faces: every factor whose direction moves it, by the classifier over
  seeds 0-63 from -2 to +2 standard deviations, by at least 0.25 and more than any other factor; when
  the plain direction moves another factor more, the same direction keeping those factors unchanged
  (the tab's *Keep unchanged*) is tried instead. Named in words ("smile", "long hair"); each JSON
  records the attribute, what it goes from and to, and the measured change ("effect").
  MNIST: "digit 0" to "digit 9" (each digit against the rest), and "3 → 8", "1 → 7", "4 → 9" by
  difference of means between 64 sample seeds the classifier reads as each digit.

Deterministic (fixed seeds, one torch thread on the CPU): a re-run rewrites the same files. About
two minutes for the six shipped models on one thread."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from explorer.edit import directions as dirs  # noqa: E402
from explorer.edit.mixing import preset_span  # noqa: E402
from explorer.render.edit import SAMPLES, EditRenderer  # noqa: E402
from explorer.render import Renderer, RenderError  # noqa: E402
from explorer.render.style import StyleRenderer  # noqa: E402
from explorer.weights import list_checkpoints  # noqa: E402

HERE = Path(__file__).resolve().parents[1]
SEFA_K = 5             # SeFa directions over every layer
COARSE_K = 3           # SeFa directions of the coarse layers (style-based models)
PCA_K = 5              # GANSpace directions (of w, or of the first layer's activations regressed to z)
LABELLED = 2000        # sample images labelled by the classifier for the supervised probes (the tab uses 500)
WALK_SEEDS = list(range(64))  # seeds walked to measure what a supervised direction moves
WALK = (-2.0, 2.0)     # ... from and to, in standard deviations
MIN_EFFECT = 0.25      # the least change of its own attribute's output (probability or value in [0, 1])
MEANS_SEEDS = 64       # seeds in each group of a digit-to-digit direction (the tab's most)
DIGIT_PAIRS = ((3, 8), (1, 7), (4, 9))
# Faces factors in words; positive strength goes from the first to the second state (explorer/train/datasets/faces.py).
WORDS = {"head_size": "head size", "head_shape": "longer face", "pos_x": "head to the right",
         "pos_y": "head lower", "tilt": "head tilt", "long_hair": "long hair", "eyes_open": "eyes open",
         "eye_spacing": "eye spacing", "smile": "smile", "glasses": "glasses", "skin_tone": "skin tone",
         "hair_colour": "hair colour", "background_hue": "background hue", "lighting": "lighting",
         "freckles": "freckles"}


def effects(er: EditRenderer, path: str, clf, d: dirs.Direction) -> dict[str, float]:
    """{attribute: mean classifier output at WALK[1] minus at WALK[0]} over WALK_SEEDS."""
    x, outs = er.attribute_walk(path, clf, d, WALK_SEEDS, WALK)
    return {k: float(v[x == WALK[1]].mean() - v[x == WALK[0]].mean()) for k, v in outs.items()}


def named(d: dirs.Direction, name: str, **stats) -> dirs.Direction:
    return dataclasses.replace(d, name=name, stats=dict(d.stats, **stats))


def faces_directions(er: EditRenderer, path: str, clf, log) -> list[dirs.Direction]:
    from explorer.train.datasets.faces import FACTORS

    out = []
    for a in (a.name for a in clf.attributes):
        keep: list[str] = []
        while True:
            d = er.find_supervised(path, a, keep, LABELLED)
            eff = effects(er, path, clf, d)
            more = [k for k in eff if k != a and abs(eff[k]) >= eff[a]]
            if eff[a] >= MIN_EFFECT and not more:
                doc = FACTORS[a].doc
                out.append(named(d, WORDS.get(a, a.replace("_", " ")), effect=round(eff[a], 4),
                                 factor=doc, moved_most=sorted(eff, key=lambda k: -abs(eff[k]))[:3]))
                log(f"  {out[-1].name}: {a} {eff[a]:+.3f}" + (f", keeping {', '.join(keep)}" if keep else ""))
                break
            log(f"  (not {a}" + (f" keeping {', '.join(keep)}" if keep else "") + f": it moves {a} {eff[a]:+.3f}"
                + "".join(f", {k} {eff[k]:+.3f}" for k in more[:3]) + ")")
            if keep or eff[a] < MIN_EFFECT or len(more) > 3:  # one conditioned try, for an entangled attribute
                break
            keep = sorted(more)
    return out


def mnist_directions(er: EditRenderer, path: str, clf, log) -> list[dirs.Direction]:
    out = []
    for k in range(10):
        d = er.find_supervised(path, f"digit={k}", [], LABELLED)
        eff = effects(er, path, clf, d)[f"digit={k}"]
        out.append(named(d, f"digit {k}", effect=round(eff, 4)))
        log(f"  {out[-1].name}: P(digit {k}) {eff:+.3f}")
    _, labels = er.labelled_samples(path, clf, LABELLED)
    for a, b in DIGIT_PAIRS:
        groups = [[dirs.SAMPLE_SEED0 + i for i in torch.nonzero(labels[f"digit={c}"]).flatten().tolist()][:MEANS_SEEDS]
                  for c in (a, b)]
        d = er.find_means(path, f"{a} → {b}", *groups)
        log(f"  {d.name}: from {len(groups[0])} seeds read as {a} to {len(groups[1])} read as {b}")
        out.append(d)
    return out


def model_directions(er: EditRenderer, path: str, log=print) -> list[dirs.Direction]:
    """Every direction shipped with the checkpoint at `path` (see the module docstring)."""
    G, _ = er.model(path)
    found = er.find_sefa(path, SEFA_K, None)
    if dirs.latent_space(G) == "w":
        coarse = preset_span("Coarse", G.ws_resolutions()) if hasattr(G, "ws_resolutions") else None
        if coarse is not None and coarse != (0, G.num_ws):  # the tab's "Coarse" layer range
            found += er.find_sefa(path, COARSE_K, coarse)
    found += dirs.find_pca(G, PCA_K, SAMPLES, er.device)
    clf = er.classifier(path)
    if clf is not None and clf.cfg.dataset == "faces":
        found += faces_directions(er, path, clf, log)
    elif clf is not None and clf.cfg.dataset == "mnist":
        found += mnist_directions(er, path, clf, log)
    return found


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", default=str(HERE / "weights"), help="folder of the models (default weights/)")
    p.add_argument("--models", nargs="*", help="model names (default: every model in the folder)")
    p.add_argument("--clean", action="store_true", help="first delete every direction saved beside each model")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    entries = [e for e in list_checkpoints(args.weights) if not args.models or e.name in args.models]
    missing = set(args.models or ()) - {e.name for e in entries}
    if missing:
        raise SystemExit(f"No model {', '.join(sorted(missing))} in {args.weights}.")
    r = Renderer("cpu")
    er = EditRenderer(r, StyleRenderer(r))
    t_all = time.perf_counter()
    for e in entries:
        t0 = time.perf_counter()
        print(f"{e.name}:", flush=True)
        try:
            found = model_directions(er, e.path)
        except RenderError as err:
            print(f"  skipped: {err}")
            continue
        folder = dirs.store_dir(e.path)
        if args.clean:
            for d in dirs.load_directions(e.path):
                dirs.delete_direction(e.path, d.name)
        written = {dirs.save_direction(e.path, d).name for d in found}
        others = sorted(p.name for p in folder.glob("*.json") if p.name not in written)
        print(f"  wrote {len(found)} directions to {folder} in {time.perf_counter() - t0:.0f} s: "
              + ", ".join(d.name for d in found) + (f" (and kept {len(others)} others)" if others else ""),
              flush=True)
    print(f"{len(entries)} models in {time.perf_counter() - t_all:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
