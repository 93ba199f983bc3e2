"""Which directions move which ground-truth factor, on a model trained on the procedural faces.

    python bench/direction_factors.py                                   # weights/stylegan2-faces
    python bench/direction_factors.py --saved --first-seed 1000         # the directions saved beside it
    python bench/direction_factors.py --classifiers /tmp/clf --seeds 48

Finds SeFa (all layers), PCA (GANSpace: of w, or of the first layer's activations regressed to z)
and supervised directions (one per binary factor) in memory, or with --saved takes the directions
saved beside the model (the shipped ones: scripts/make_directions.py), walks `--seeds` seeds along each from -2 to +2 standard deviations, and reads every factor off the
rendered images with the attribute classifier (explorer.attributes). For each direction and factor
it reports the Pearson correlation between the strength and the classifier's output (pooled over
seeds and steps) and the change of the mean output from -2 to +2 ("delta"), and names the factors
with the largest |r|. Prints JSON; writes nothing."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from explorer.edit import directions as dirs  # noqa: E402
from explorer.render.edit import SAMPLES, EditRenderer  # noqa: E402
from explorer.render import Renderer  # noqa: E402
from explorer.render.style import StyleRenderer  # noqa: E402

HERE = Path(__file__).resolve().parents[1]
STRENGTHS = (-2.0, -1.0, 0.0, 1.0, 2.0)


def pearson(x: torch.Tensor, y: torch.Tensor) -> float:
    x, y = x.double() - x.double().mean(), y.double() - y.double().mean()
    den = (x.norm() * y.norm()).item()
    return 0.0 if den == 0 else float((x @ y) / den)


def find(er: EditRenderer, args, clf) -> list[dirs.Direction]:
    """SeFa and PCA directions and one supervised direction per binary factor, found in memory."""
    found = er.find_sefa(args.model, args.k, None) + dirs.find_pca(er.model(args.model)[0], args.k, SAMPLES, er.device)
    binary = [a.name for a in clf.attributes if a.kind == "binary"]
    lat, labels = er.labelled_samples(args.model, clf, args.samples)
    for a in binary:
        try:
            vec, stats = dirs.fit_probe(lat, labels[a].float())
        except ValueError:
            continue
        found.append(dirs.Direction(f"supervised {a}", "supervised", vec.numpy(),
                                    float(dirs.std_along(lat, vec[None])[0]), None, er.space(args.model),
                                    dict(stats, attribute=a)))
    return found


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(HERE / "weights" / "stylegan2-faces.json"))
    p.add_argument("--classifiers", default=None, help="folder holding faces.json (default weights/classifiers)")
    p.add_argument("--seeds", type=int, default=32, help="seeds walked per direction")
    p.add_argument("--first-seed", type=int, default=0, help="the first of them (1000: other seeds than the "
                   "ones scripts/make_directions.py measured)")
    p.add_argument("--k", type=int, default=6, help="SeFa and PCA directions each")
    p.add_argument("--samples", type=int, default=500, help="labelled samples for each supervised probe")
    p.add_argument("--saved", action="store_true", help="walk the directions saved beside the model instead")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    r = Renderer("cpu")
    er = EditRenderer(r, StyleRenderer(r))
    clf = er.classifier(args.model, args.classifiers)
    if clf is None:
        raise SystemExit("No faces attribute classifier; train one: python -m explorer.attributes --data faces "
                         "--out weights/classifiers/faces")
    found = dirs.load_directions(args.model, r.model(args.model)[0].w_dim) if args.saved else find(er, args, clf)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    rows = []
    for d in found:
        x, outs = er.attribute_walk(args.model, clf, d, seeds, STRENGTHS)
        r_by = {k: round(pearson(x, y), 3) for k, y in outs.items()}
        delta = {k: round(float(y[x == STRENGTHS[-1]].mean() - y[x == STRENGTHS[0]].mean()), 3) for k, y in outs.items()}
        top = sorted(r_by, key=lambda k: -abs(r_by[k]))[:3]
        rows.append({"direction": d.name, "method": d.method, "attribute": d.stats.get("attribute"),
                     "stat": {k: round(v, 4) for k, v in d.stats.items() if isinstance(v, float)},
                     "top": [[k, r_by[k], delta[k]] for k in top], "r": r_by, "delta": delta})
    result = {"model": args.model, "seeds": [seeds[0], seeds[-1]], "strengths": STRENGTHS,
              "classifier_held_out": getattr(clf, "card", {}).get("train", {}).get("held_out"),
              "seconds": round(time.perf_counter() - t0, 1), "directions": rows}
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
