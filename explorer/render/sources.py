"""Where an image's latent comes from: a seed, or a projected image ("@key", explorer/project).

A projected latent belongs to the checkpoint it was projected into and may carry a tuned copy of
it (PTI, optimised noise maps); a render that uses it is drawn by that copy, seeds included, as
PTI edits are. One picture is drawn by one model, so two latents tuned separately cannot meet in
one render."""

from __future__ import annotations

import torch

from ..edit.latents import MAX_SEED, Source, z_from_seed
from ..models.classes import map_z
from ..project import store
from ..project.projector import ws_of
from .grid import RenderError


def resolve(checkpoint: str, sources) -> tuple[str, dict[str, store.Latent]]:
    """-> (the checkpoint to draw with, {source text: its Latent}) for the sources of one render."""
    latents: dict[str, store.Latent] = {}
    for s in sources:
        if isinstance(s, str) and s not in latents:
            try:
                latents[s] = store.load(checkpoint, s)
            except store.LatentError as e:
                raise RenderError(str(e)) from None
    tuned = sorted({lat.tuned for lat in latents.values() if lat.tuned})
    if len(tuned) > 1:
        names = " and ".join(f"{store.PREFIX}{lat.key}" for lat in latents.values() if lat.tuned)
        raise RenderError(f"{names} were each tuned (PTI) into their own copy of the model, and one picture is "
                          "drawn by one model; use one of them here, or project the other without PTI.")
    return (tuned[0] if tuned else checkpoint), latents


def source_ws(G, source: Source, latents: dict, truncation_psi: float = 1.0, truncation_cutoff: int | None = None,
              device: torch.device | str = "cpu", label: int | None = None) -> torch.Tensor:
    """ws [1, num_ws, D] of a seed (through the mapping, as class `label` for a conditional G) or of a resolved
    projected latent (whose w already holds its class), truncated alike."""
    if isinstance(source, str):
        lat = latents[source]
        try:
            store.fits(lat, G)
        except store.LatentError as e:
            raise RenderError(str(e)) from None
        return ws_of(G, lat.space, lat.array, truncation_psi, truncation_cutoff, device)
    if isinstance(source, bool) or not isinstance(source, int) or not 0 <= source <= MAX_SEED:
        raise RenderError(f"Seeds go from 0 to {MAX_SEED}; got {source!r}.")
    z = z_from_seed(source, G.z_dim)[None].to(device)                              # [1, z_dim]
    try:
        return map_z(G, z, label, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
    except ValueError as e:  # a class the model does not have
        raise RenderError(str(e)) from None


def describe(source: Source) -> str:
    """'seed 5' or '@my-cat', for info lines."""
    return source if isinstance(source, str) else f"seed {source}"
