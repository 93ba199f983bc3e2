"""Renderer: a request in, a picture out. Caches loaded generators; errors are RenderError
with a sentence the UI shows as it is."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch

from . import images
from .edit.latents import latents_for_seeds
from .weights import CheckpointError, load_generator


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


def trained_growth(G: torch.nn.Module, meta: dict) -> tuple[int, float]:
    """(stage, alpha) a progressive checkpoint was trained to; the last stage if it does not say."""
    train = meta.get("train", {})
    stage = int(train.get("stage", G.num_stages - 1))
    return min(max(stage, 0), G.num_stages - 1), float(train.get("alpha", 1.0))


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


class Renderer:
    def __init__(self, device: torch.device | str = "cpu", max_models: int = 4, batch: int = 16):
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
                ws = G.mapping(zb, truncation_psi=req.truncation_psi)  # [n, num_ws, w_dim]
                out.append(images.to_uint8(G.synthesis(ws, **kw)))
        except ValueError as e:  # e.g. a stage the model does not have
            raise RenderError(str(e)) from None
        return np.concatenate(out)

    def render_grid(self, req: GridRequest) -> np.ndarray:
        """uint8 [H', W', C] grid of render_images."""
        return images.make_grid(self.render_images(req), cols=req.cols)
