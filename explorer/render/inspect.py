"""InspectRenderer: the Inspect tab's renders. One layer of one seed's picture seen as channels, PCA or
spectra, with the layer's own controls (a StyleGAN layer's style input and noise strength, a ProGAN
stage and alpha) and GAN Dissection's unit edits, all on the renderer's cached checkpoints.

Forward hooks act on a module for every caller, so the Inspect tab draws with its own copy of each
generator (the other tabs' renders never see its hooks), one render at a time per copy."""

from __future__ import annotations

import copy
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace

import numpy as np
import torch

from .. import images
from ..edit.latents import z_from_seed
from ..inspect import UnitEdit, capture, channel_grid, list_layers, mean_abs, one_channel, pca_rgb
from ..inspect import spectrum_db, spectrum_picture
from ..inspect.dissect import Dissection, part_areas
from ..models.classes import map_z
from ..models.contract import trained_growth
from ..inspect.model import can_dissect, dissect_checkpoint, saved_dissections, synthesizer
from .display import display_factor, enlarge
from .grid import Renderer, RenderError

VIEWS = ("All channels", "One channel", "Mean |activation|", "PCA of channels (RGB)",
         "Spectrum of the layer", "Spectrum of the picture")
VIEW_PX = 320       # views are enlarged (nearest) to about this many pixels
MAX_UNITS = 32      # units one part edit may switch (the best ones for the part)


@dataclass(frozen=True)
class InspectRequest:
    checkpoint: str                     # path of the checkpoint's .json
    seed: int
    layer: str                          # a Layer.key of the model
    view: str = VIEWS[0]
    channel: int = 0                    # the "One channel" view's unit
    truncation_psi: float = 1.0
    stage: int | None = None            # progressive models: None = as trained
    alpha: float | None = None
    style_seed: int | None = None       # StyleGAN: the seed whose w this layer reads, mixed in by style_mix
    style_mix: float = 0.0              # 0 = the picture's own w at this layer, 1 = style_seed's
    noise_strength: float = 1.0         # StyleGAN: this layer's noise, times its learned scale
    part: str | None = None             # a dissected part whose best units the edit switches, or None
    units: int = 8
    mode: str = "zero"                  # UnitEdit.mode
    strength: float = 0.0               # 0 = no edit
    region: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)
    label: int | None = None            # a conditional model's class for the seed and the style seed


@dataclass
class InspectImage:
    picture: np.ndarray       # uint8 [H, W, C] the model's picture (with the edit)
    view: np.ndarray          # uint8, the chosen view of the layer
    scale: str                # what the view's colours mean
    report: str               # the edit, in the segmenter's terms, or why there is none
    ms: float


class InspectRenderer:
    MAX_MODELS = 2

    def __init__(self, renderer: Renderer):
        self.renderer = renderer
        self._copies: OrderedDict[str, tuple[torch.nn.Module, dict, threading.Lock]] = OrderedDict()
        self._lock = threading.Lock()
        self._segmenter = None
        self._dissections: dict[tuple[str, str, float], Dissection] = {}
        self._unedited: OrderedDict[InspectRequest, dict] = OrderedDict()  # part areas of unedited pictures

    # ----------------------------------------------------------------------------- models
    def model(self, checkpoint: str) -> tuple[torch.nn.Module, dict, threading.Lock]:
        with self._lock:
            if checkpoint in self._copies:
                self._copies.move_to_end(checkpoint)
                return self._copies[checkpoint]
        G, meta = self.renderer.model(checkpoint)
        entry = (copy.deepcopy(G).requires_grad_(False), meta, threading.Lock())
        with self._lock:
            self._copies[checkpoint] = entry
            while len(self._copies) > self.MAX_MODELS:
                self._copies.popitem(last=False)
        return entry

    def layers(self, checkpoint: str, stage: int | None = None):
        G, meta, lock = self.model(checkpoint)
        with lock, torch.inference_mode():
            return list_layers(G, synthesizer(G, meta, stage=stage))

    def segmenter(self):
        if self._segmenter is None:
            from ..attributes.parts import load_segmenter

            self._segmenter = load_segmenter(device=self.renderer.device)
        return self._segmenter

    # ----------------------------------------------------------------------------- dissection
    def dissection(self, checkpoint: str, layer: str) -> Dissection | None:
        path = saved_dissections(checkpoint).get(layer)
        if path is None:
            return None
        key = (checkpoint, layer, path.stat().st_mtime)
        if key not in self._dissections:
            self._dissections[key] = Dissection.load(path)
        return self._dissections[key]

    def dissect(self, checkpoint: str, layer: str, samples: int = 200, progress=None) -> Dissection:
        """Dissect on a copy of its own, so that the tab's live renders of the same model go on meanwhile."""
        G, meta, _ = self.model(checkpoint)
        G, lock = copy.deepcopy(G), threading.Lock()
        problem = can_dissect(meta)
        if problem:
            raise RenderError(problem)
        try:
            seg = self.segmenter()
        except ValueError as e:
            raise RenderError(str(e)) from None
        with lock:
            try:
                return dissect_checkpoint(G, meta, checkpoint, layer, seg, samples=samples, progress=progress)
            except ValueError as e:
                raise RenderError(str(e)) from None

    # ----------------------------------------------------------------------------- one render
    @torch.inference_mode()
    def render(self, req: InspectRequest) -> InspectImage:
        t0 = time.perf_counter()
        G, meta, lock = self.model(req.checkpoint)
        if req.view not in VIEWS:
            raise RenderError(f"view must be one of {', '.join(VIEWS)}; got {req.view!r}.")
        device = self.renderer.device
        with lock:
            try:
                ws = map_z(G, z_from_seed(req.seed, G.z_dim)[None].to(device), req.label,
                           truncation_psi=req.truncation_psi if G.capabilities.truncation else 1.0)
                draw, ws = self._controls(G, meta, req, ws)
                edits, report = self._edits(req, meta)
                got = capture(G, draw, ws, keys=[req.layer], edits=edits)
                if edits and req.part is not None:
                    report = self._area_report(req, lambda: capture(G, draw, ws, keys=[]).image, got.image, report)
            except ValueError as e:
                raise RenderError(str(e)) from None
        if req.layer not in got.features:
            runs = ", ".join(layer.key for layer in self.layers(req.checkpoint, req.stage))
            raise RenderError(f"Layer {req.layer} does not run at this stage; the layers that do are {runs}.")
        picture = images.to_uint8(got.image)[0]
        act = got.features[req.layer][0]                                       # [C, h, w]
        view, scale = self._view(req, act, got.image[0])
        return InspectImage(picture, view, scale, report, (time.perf_counter() - t0) * 1000)

    def _controls(self, G, meta, req: InspectRequest, ws: torch.Tensor):
        """The synthesis the request asks for: a ProGAN stage; a StyleGAN layer's style and noise."""
        if G.capabilities.progressive:
            trained, _ = trained_growth(G, meta)
            if req.stage is not None and not 0 <= req.stage <= trained:
                raise ValueError(f"This model was trained up to stage {trained}; pick a stage from 0 to {trained}.")
            return synthesizer(G, meta, req.stage, req.alpha), ws
        if not G.capabilities.mixing:
            return synthesizer(G, meta), ws
        keys = [k for k, _ in G.feature_layers()]
        i = keys.index(req.layer) if req.layer in keys else None
        if i is not None and req.style_seed is not None and req.style_mix:
            w_b = map_z(G, z_from_seed(req.style_seed, G.z_dim)[None].to(ws.device), req.label,
                        truncation_psi=req.truncation_psi)
            k = G.layer_w[i]
            ws = ws.clone()
            ws[:, k] = torch.lerp(ws[:, k], w_b[:, k], float(req.style_mix))
        strength = [1.0] * G.num_layers
        if i is not None:
            strength[i] = float(req.noise_strength)
        return (lambda w: G.synthesis(w, noise_mode="const", noise_strength=strength)), ws

    def _edits(self, req: InspectRequest, meta: dict) -> tuple[tuple[UnitEdit, ...], str]:
        if req.part is None or req.strength == 0:
            return (), ""
        problem = can_dissect(meta)
        if problem:
            return (), problem
        d = self.dissection(req.checkpoint, req.layer)
        if d is None:
            return (), f"Layer {req.layer} is not dissected yet: press **Dissect this layer** first."
        n = max(1, min(int(req.units), MAX_UNITS, len(d.iou)))
        best = d.best(req.part, n)
        units = tuple(u for u, _ in best)
        verb = {"zero": "switched off", "mean": "set to their mean", "insert": "forced on"}[req.mode]
        text = (f"{n} best {req.part} units of {req.layer} {verb} (IoU {best[0][1]:.2f} to {best[-1][1]:.2f}) "
                f"at strength {req.strength:g}")
        return (UnitEdit(req.layer, units, req.mode, float(req.strength), tuple(req.region)),), text

    def _area_report(self, req: InspectRequest, unedited, after: torch.Tensor, text: str) -> str:
        """The edit in the segmenter's terms. The unedited picture's areas are the same for every strength,
        units and region of one drag: they are kept for the last few pictures, not drawn again per event."""
        seg = self.segmenter()
        key = replace(req, part=None, units=0, mode="zero", strength=0.0, region=(0.0, 0.0, 1.0, 1.0),
                      view=VIEWS[0], channel=0)
        with self._lock:
            a = self._unedited.get(key)
        if a is None:
            a = part_areas(seg, unedited())
            with self._lock:
                self._unedited[key] = a
                while len(self._unedited) > 16:
                    self._unedited.popitem(last=False)
        b = part_areas(seg, after)
        part = req.part
        return f"{text}: the segmenter sees {part} on {a[part]:.1%} of the picture before, {b[part]:.1%} after."

    def _view(self, req: InspectRequest, act: torch.Tensor, image: torch.Tensor) -> tuple[np.ndarray, str]:
        if req.view == "All channels":
            pic, scale = channel_grid(act)
            pic = np.repeat(pic[:, :, None], 3, axis=2)
        elif req.view == "One channel":
            pic, scale = one_channel(act, int(req.channel))
        elif req.view == "Mean |activation|":
            pic, scale = mean_abs(act)
        elif req.view == "PCA of channels (RGB)":
            pic, scale = pca_rgb(act)
        else:
            maps = act if req.view == "Spectrum of the layer" else image.float()
            pic, scale = spectrum_picture(spectrum_db(maps))
            return pic, scale
        pic = enlarge(pic[None], display_factor(max(pic.shape[:2]), VIEW_PX))[0]
        return pic, scale
