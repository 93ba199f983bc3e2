"""Which found directions move which ground-truth factor, on a model trained on the procedural faces.

    python bench/direction_factors.py                                   # weights/stylegan2-faces
    python bench/direction_factors.py --classifiers /tmp/clf --seeds 48

Finds SeFa (all layers), PCA and supervised directions (one per binary factor) in memory, walks
`--seeds` seeds along each from -2 to +2 standard deviations, and reads every factor off the
rendered images with the attribute classifier (explorer.attributes). For each direction and factor
it reports the Pearson correlation between the strength and the classifier's output (pooled over
seeds and steps), and names the factor with the largest |r|. Prints JSON; writes nothing."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from explorer.edit import directions as dirs  # noqa: E402
from explorer.edit.latents import latents_for_seeds  # noqa: E402
from explorer.edit_render import EditRenderer  # noqa: E402
from explorer.render import GridRequest, Renderer, synthesis_kwargs  # noqa: E402
from explorer.style_render import StyleRenderer  # noqa: E402

HERE = Path(__file__).resolve().parents[1]
STRENGTHS = (-2.0, -1.0, 0.0, 1.0, 2.0)


def pearson(x: torch.Tensor, y: torch.Tensor) -> float:
    x, y = x.double() - x.double().mean(), y.double() - y.double().mean()
    den = (x.norm() * y.norm()).item()
    return 0.0 if den == 0 else float((x @ y) / den)


@torch.inference_mode()
def walk_outputs(G, meta, path, clf, d: dirs.Direction, seeds: list[int]) -> tuple[torch.Tensor, dict]:
    """(strength per sample [S * N], {factor: classifier output [S * N]})."""
    kw = synthesis_kwargs(G, meta, GridRequest(path, (0,)))
    ws = G.mapping(latents_for_seeds(seeds, G.z_dim))                            # [N, num_ws, D]
    v = torch.from_numpy(d.vector)
    xs, outs = [], {}
    for s in STRENGTHS:
        pred = clf.predict(G.synthesis(dirs.apply(ws, v, s * d.std, d.layers), **kw))
        for k, p in pred.items():
            outs.setdefault(k, []).append(p if p.ndim == 1 else p.argmax(1).float())
        xs.append(torch.full((len(seeds),), s))
    return torch.cat(xs), {k: torch.cat(v) for k, v in outs.items()}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(HERE / "weights" / "stylegan2-faces.json"))
    p.add_argument("--classifiers", default=None, help="folder holding faces.json (default weights/classifiers)")
    p.add_argument("--seeds", type=int, default=32, help="seeds walked per direction")
    p.add_argument("--k", type=int, default=6, help="SeFa and PCA directions each")
    p.add_argument("--samples", type=int, default=500, help="labelled samples for each supervised probe")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    r = Renderer("cpu")
    er = EditRenderer(r, StyleRenderer(r))
    G, meta = r.model(args.model)
    clf = er.classifier(args.model, args.classifiers)
    if clf is None:
        raise SystemExit("No faces attribute classifier; train one: python -m explorer.attributes --data faces "
                         "--out weights/classifiers/faces")
    found = er.find_sefa(args.model, args.k, None) + er.find_pca(args.model, args.k)
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
    seeds = list(range(args.seeds))
    rows = []
    for d in found:
        x, outs = walk_outputs(G, meta, args.model, clf, d, seeds)
        r_by = {k: round(pearson(x, y), 3) for k, y in outs.items()}
        top = sorted(r_by, key=lambda k: -abs(r_by[k]))[:3]
        rows.append({"direction": d.name, "method": d.method,
                     "stat": {k: round(v, 4) for k, v in d.stats.items() if isinstance(v, float)},
                     "top": [[k, r_by[k]] for k in top], "r": r_by})
    result = {"model": args.model, "seeds": args.seeds, "strengths": STRENGTHS,
              "classifier_held_out": getattr(clf, "card", {}).get("train", {}).get("held_out"),
              "seconds": round(time.perf_counter() - t0, 1), "directions": rows}
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
