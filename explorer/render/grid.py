"""Renderer: a request in, a picture out. Caches loaded generators; errors are RenderError
with a sentence the UI shows as it is."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch

from .. import images
from ..edit.interp import interpolate
from ..edit.latents import latents_for_seeds, z_from_seed
from ..models.classes import map_z
from ..models.contract import trained_growth
from ..models.progan import stage_resolution
from ..weights import CheckpointError, load_generator


class RenderError(ValueError):
    """What went wrong, in words a user can act on."""


@dataclass(frozen=True)
class GridRequest:
    checkpoint: str                  # path of the checkpoint's .json
    seeds: tuple[int, ...]           # one image per seed
    truncation_psi: float = 1.0      # 1 = no truncation; 0 = the average latent
    noise_mode: str = "const"        # "const" | "random" | "none", for families with noise inputs
    cols: int | None = None          # grid columns; None = near-square
    stage: int | None = None         # progressive models: None = the stage the checkpoint reached
    alpha: float | None = None       # progressive models: None = the checkpoint's alpha (1 if stage is given)
    label: int | None = None         # conditional models: the class every image is drawn as (None: in turn)


def synthesis_kwargs(G: torch.nn.Module, meta: dict, req: GridRequest) -> dict:
    """The extra synthesis() arguments the request implies for this generator."""
    kw = {"noise_mode": req.noise_mode}
    if G.capabilities.progressive:
        stage, alpha = trained_growth(G, meta)
        if req.stage is not None:
            stage, alpha = req.stage, 1.0
        if req.alpha is not None:
            alpha = req.alpha
        kw.update(stage=stage, alpha=alpha)
    return kw


@dataclass(frozen=True)
class Growth:
    """How far a progressive checkpoint grew."""

    stage: int          # the stage it was trained to: 0 = 4x4, s = 4*2^s pixels
    alpha: float        # its fade-in alpha at that stage (1 = the stage's layers fully faded in)
    num_stages: int     # stages the architecture has (the last one is its full resolution)

    resolution = staticmethod(stage_resolution)


class Renderer:
    # Generators kept loaded (least recently used dropped first): every shipped model (6, 20 MB in all)
    # and a couple of runs, so that visitors switching between models do not reload them each time.
    MAX_MODELS = 8

    def __init__(self, device: torch.device | str = "cpu", max_models: int = MAX_MODELS, batch: int = 16):
        self.device = torch.device(device)
        self.max_models, self.batch = max_models, batch
        self._models: OrderedDict[str, tuple[torch.nn.Module, dict]] = OrderedDict()
        self._lock = threading.Lock()

    def model(self, checkpoint: str) -> tuple[torch.nn.Module, dict]:
        """The cached generator for a checkpoint path (least recently used ones are dropped)."""
        with self._lock:
            if checkpoint in self._models:
                self._models.move_to_end(checkpoint)
                return self._models[checkpoint]
        try:
            G, meta = load_generator(checkpoint, self.device)
        except CheckpointError as e:
            raise RenderError(str(e)) from None
        if self.device.type == "cpu":  # 4-10 % more img/s at batch 16 on CPU (bench/generate.py)
            G = G.to(memory_format=torch.channels_last)
        with self._lock:
            self._models[checkpoint] = (G, meta)
            while len(self._models) > self.max_models:
                self._models.popitem(last=False)
        return G, meta

    def forget(self, checkpoint: str | None = None) -> None:
        with self._lock:
            if checkpoint is None:
                self._models.clear()
            else:
                self._models.pop(checkpoint, None)

    @torch.inference_mode()
    def render_images(self, req: GridRequest) -> np.ndarray:
        """uint8 [N, H, W, C], one image per seed."""
        if not req.seeds:
            raise RenderError("No seeds to render; type some, e.g. 1-8.")
        G, meta = self.model(req.checkpoint)
        try:
            kw = synthesis_kwargs(G, meta, req)
            z = latents_for_seeds(list(req.seeds), G.z_dim).to(self.device)  # [N, z_dim]
            out = []
            for zb in z.split(self.batch):
                ws = map_z(G, zb, req.label, truncation_psi=req.truncation_psi)  # [n, num_ws, w_dim]
                out.append(images.to_uint8(G.synthesis(ws, **kw)))
        except ValueError as e:  # e.g. a stage the model does not have
            raise RenderError(str(e)) from None
        return np.concatenate(out)

    def render_grid(self, req: GridRequest) -> np.ndarray:
        """uint8 [H', W', C] grid of render_images."""
        return images.make_grid(self.render_images(req), cols=req.cols)

    # --------------------------------------------------------------------- progressive models
    def growth(self, checkpoint: str) -> Growth:
        """The stage a progressive checkpoint was trained to; a RenderError for other families."""
        G, meta = self.model(checkpoint)
        if not G.capabilities.progressive:
            raise RenderError(f"This is a {meta['arch'].upper()} model, which does not grow; pick a ProGAN model "
                              "(trained with --recipe progan).")
        stage, alpha = trained_growth(G, meta)
        return Growth(stage, alpha, G.num_stages)

    def render_stage(self, checkpoint: str, seeds: tuple[int, ...], stage: int, alpha: float) -> np.ndarray:
        """uint8 [N, r, r, C] at a trained stage's resolution r = 4*2^stage, faded in by alpha."""
        g = self.growth(checkpoint)
        if not 0 <= stage <= g.stage:
            raise RenderError(f"This model was trained up to stage {g.stage} ({g.resolution(g.stage)}×"
                              f"{g.resolution(g.stage)}); pick a stage from 0 to {g.stage}.")
        if not 0.0 <= alpha <= 1.0:
            raise RenderError(f"alpha goes from 0 (the previous stage, upsampled) to 1 (the new layers); got {alpha}.")
        return self.render_images(GridRequest(checkpoint, tuple(seeds), stage=int(stage), alpha=float(alpha)))

    @torch.inference_mode()
    def render_growth(self, checkpoint: str, seed: int) -> list[np.ndarray]:
        """One seed's image at every stage from 0 to the trained one: uint8 [4*2^s, 4*2^s, C] each.
        Earlier stages at alpha 1; the trained stage at the alpha it reached."""
        g = self.growth(checkpoint)
        G, _ = self.model(checkpoint)
        try:
            ws = G.mapping(z_from_seed(seed, G.z_dim)[None].to(self.device))  # [1, num_ws, w_dim]
        except ValueError as e:
            raise RenderError(str(e)) from None
        return [images.to_uint8(G.synthesis(ws, stage=s, alpha=g.alpha if s == g.stage else 1.0))[0]
                for s in range(g.stage + 1)]

    @torch.inference_mode()
    def render_interpolation(self, checkpoint: str, seed_a: int, seed_b: int, ts: list[float],
                             mode: str = "linear") -> np.ndarray:
        """uint8 [len(ts), H, W, C]: the latents a fraction t of the way from seed_a's z to seed_b's
        (explorer.edit.interp), rendered as render_images would (progressive: the trained stage)."""
        if not len(ts):
            raise RenderError("No interpolation steps to render; give at least one t between 0 and 1.")
        G, meta = self.model(checkpoint)
        try:
            kw = synthesis_kwargs(G, meta, GridRequest(checkpoint, (seed_a, seed_b)))
            za, zb = (z_from_seed(s, G.z_dim)[None].expand(len(ts), -1) for s in (seed_a, seed_b))
            z = interpolate(za, zb, torch.tensor(ts, dtype=torch.float32), mode).to(self.device)  # [T, z_dim]
            out = [images.to_uint8(G.synthesis(G.mapping(zt), **kw)) for zt in z.split(self.batch)]
        except ValueError as e:
            raise RenderError(str(e)) from None
        return np.concatenate(out)
