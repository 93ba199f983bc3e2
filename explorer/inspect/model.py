"""A checkpoint made ready for inspection: how it draws (its ProGAN stage, its noise), its seeds' latents,
and where its dissections are kept (weights/NAME.dissect/LAYER.json, beside the model like its directions)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import torch

from ..edit.latents import latents_for_seeds
from ..models.contract import trained_growth
from .dissect import Dissection, dissect

FACES_DATA = ("faces",)  # data sets the part segmenter knows


def synthesizer(G, meta: dict, stage: int | None = None, alpha: float | None = None,
                noise_mode: str = "const") -> Callable[[torch.Tensor], torch.Tensor]:
    """ws -> image as the explorer draws this checkpoint: a progressive one at the stage it was trained to
    (or `stage`, faded in by `alpha`, 1 when a stage is given), fixed noise for families with noise."""
    kw: dict = {"noise_mode": noise_mode}
    if G.capabilities.progressive:
        s, a = trained_growth(G, meta)
        if stage is not None:
            s, a = int(stage), 1.0
        kw.update(stage=s, alpha=float(a if alpha is None else alpha))
    return lambda ws: G.synthesis(ws, **kw)


def seed_latents(G, truncation_psi: float = 1.0) -> Callable[[list[int]], torch.Tensor]:
    device = next(G.parameters()).device
    psi = truncation_psi if G.capabilities.truncation else 1.0
    return lambda seeds: G.mapping(latents_for_seeds(list(seeds), G.z_dim).to(device), truncation_psi=psi)


def dissection_folder(checkpoint: str | os.PathLike) -> Path:
    """weights/NAME.json -> weights/NAME.dissect/ (a run's snapshot gets its own beside it)."""
    return Path(checkpoint).with_suffix(".dissect")


def saved_dissections(checkpoint: str | os.PathLike) -> dict[str, Path]:
    folder = dissection_folder(checkpoint)
    return {p.stem: p for p in sorted(folder.glob("*.json"))} if folder.is_dir() else {}


def can_dissect(meta: dict) -> str | None:
    """None when the part segmenter applies to this model's data, else a sentence saying why not."""
    data = meta.get("train", {}).get("data")
    if data in FACES_DATA:
        return None
    return (f"Dissection scores units against the faces part segmenter; this model was trained on "
            f"{data or 'data it does not name'}, which has no part masks. Open a faces model.")


def dissect_checkpoint(G, meta: dict, checkpoint: str | os.PathLike, layer: str, segmenter, *, samples: int = 200,
                       progress: Callable | None = None, save: bool = True) -> Dissection:
    problem = can_dissect(meta)
    if problem:
        raise ValueError(problem)
    d = dissect(G, synthesizer(G, meta), seed_latents(G), layer, segmenter, samples=samples, progress=progress)
    if save:
        d.save(dissection_folder(checkpoint))
    return d
