"""GAN Dissection (Bau et al. 2019, Sec. 3.1) of one layer: which units draw which part of a face.

For every unit u of the layer and every part c, over n samples of the model:
    t_u      = the unit's top-quantile activation (q = 0.99 in the paper), over all samples and positions
    IoU(u,c) = sum |up(a_u) > t_u  AND  S_c| / sum |up(a_u) > t_u  OR  S_c|
where up() upsamples the unit's map bilinearly to the picture and S_c is where the part segmenter
(attributes/parts.py) sees part c in the sample the model drew. Two passes over the same seeds (the
model draws a seed identically twice): the first estimates t_u from a fixed subsample of positions,
the second counts. The result is saved beside the model (weights/NAME.dissect/LAYER.json)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..fsutil import atomic_write_bytes
from .layers import capture

FORMAT = 1
QUANTILE = 0.99     # the paper's threshold: a unit "fires" on its top 1 % of activations
POSITIONS = 64      # positions per sample and unit kept to estimate its quantile (fixed, seeded)


@dataclass
class Dissection:
    layer: str                       # Layer.key
    parts: list[str]                 # the segmenter's parts, in its order
    iou: list[list[float]]           # [units][parts]
    threshold: list[float]           # t_u per unit
    samples: int                     # seeds 0..samples-1
    quantile: float
    seconds: float

    def best(self, part: str, k: int = 10) -> list[tuple[int, float]]:
        """The k units whose firing best matches the part, with their IoU, best first."""
        if part not in self.parts:
            raise ValueError(f"{part!r} is not a part; the parts are {', '.join(self.parts)}")
        col = np.asarray(self.iou)[:, self.parts.index(part)]
        order = np.argsort(-col, kind="stable")[:k]
        return [(int(u), float(col[u])) for u in order]

    def save(self, folder: str | os.PathLike) -> Path:
        path = Path(folder) / f"{self.layer}.json"
        atomic_write_bytes(path, json.dumps({"format": FORMAT, **asdict(self)}).encode())
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Dissection:
        d = json.loads(Path(path).read_text())
        if d.pop("format", None) != FORMAT:
            raise ValueError(f"{path} is not a dissection of format {FORMAT}; run the dissection again.")
        return cls(**d)


def dissect(G, synthesize: Callable, ws_for_seeds: Callable, layer: str, segmenter, *, samples: int = 200,
            batch: int = 16, quantile: float = QUANTILE, progress: Callable | None = None) -> Dissection:
    """Score every unit of `layer` against every part over seeds 0..samples-1.
    ws_for_seeds(list of seeds) -> ws [n, num_ws, w_dim]; synthesize(ws) -> image [n, C, H, W] in [-1, 1]."""
    if samples < 1:
        raise ValueError(f"samples must be at least 1, got {samples}")
    t0 = time.perf_counter()
    seeds = list(range(samples))
    chunks = [seeds[i:i + batch] for i in range(0, samples, batch)]
    gen = torch.Generator().manual_seed(0)

    # Pass 1: each unit's quantile from a fixed subsample of its positions.
    kept = []
    with torch.inference_mode():
        for k, chunk in enumerate(chunks):
            a = capture(G, synthesize, ws_for_seeds(chunk), keys=[layer]).features[layer]   # [n, C, h, w]
            flat = a.flatten(2)                                                             # [n, C, h*w]
            idx = torch.randint(flat.shape[2], (POSITIONS,), generator=gen)
            kept.append(flat[:, :, idx].permute(1, 0, 2).reshape(flat.shape[1], -1))         # [C, n*POSITIONS]
            if progress:
                progress(k + 1, 2 * len(chunks))
    threshold = torch.quantile(torch.cat(kept, 1), quantile, dim=1)                          # [C]

    # Pass 2: intersections and unions, at the picture's resolution.
    inter = union = None
    parts = list(segmenter.cfg.parts)
    with torch.inference_mode():
        for k, chunk in enumerate(chunks):
            got = capture(G, synthesize, ws_for_seeds(chunk), keys=[layer])
            img, a = got.image.float(), got.features[layer]
            size = img.shape[-1]
            fires = F.interpolate(a, size=(size, size), mode="bilinear", align_corners=False) \
                > threshold.view(1, -1, 1, 1)                                               # [n, C, H, W]
            img3 = img if img.shape[1] == 3 else img.expand(-1, 3, -1, -1)
            seen = F.one_hot(segmenter.coverage(img3, size).argmax(1), len(parts)).permute(0, 3, 1, 2).bool()
            f, s = fires.flatten(2).float(), seen.flatten(2).float()                       # [n, C, HW], [n, P, HW]
            i_ = torch.einsum("ncx,npx->cp", f, s)                                          # [C, P]
            u_ = f.sum(2).sum(0)[:, None] + s.sum(2).sum(0)[None, :] - i_
            inter = i_ if inter is None else inter + i_
            union = u_ if union is None else union + u_
            if progress:
                progress(len(chunks) + k + 1, 2 * len(chunks))
    iou = torch.where(union > 0, inter / union.clamp_min(1), torch.zeros_like(inter))
    return Dissection(layer=layer, parts=parts, iou=iou.round(decimals=4).tolist(),
                      threshold=threshold.tolist(), samples=samples, quantile=quantile,
                      seconds=round(time.perf_counter() - t0, 2))


def part_areas(segmenter, img: torch.Tensor) -> dict[str, float]:
    """The share of the picture the segmenter sees as each part, for one image [1, C, H, W] in [-1, 1]:
    what an ablation or insertion changed, in the segmenter's terms."""
    img3 = img.float() if img.shape[1] == 3 else img.float().expand(-1, 3, -1, -1)
    with torch.inference_mode():
        labels = segmenter.coverage(img3).argmax(1)                                        # [1, H, W]
    return {p: float((labels == i).float().mean()) for i, p in enumerate(segmenter.cfg.parts)}
