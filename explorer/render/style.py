"""StyleRenderer: the StyleGAN tab's pictures (seed A, seed B, their per-layer mix, stochastic
variation, the style-mixing matrix). No gradio here; errors are RenderError sentences.

Speed: a slider render re-runs only the synthesis layers whose inputs changed. The state after
layer i depends only on the ws entries read by layers <= i (their styles and, for StyleGAN2, the
skip toRGBs that run with them) and on the noise maps of layers <= i. Every render remembers, per
layer, what that layer read and the state it left; the next render compares what each layer
would read (the tensors themselves, so truncation, cutoff, mixing and noise changes are all
caught) and restarts at the first layer that differs. The result equals a full G.synthesis to
the bit, because it runs the same layer functions on the same tensors."""

from __future__ import annotations

import math
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass, replace

import numpy as np
import torch

from .. import images, limits
from ..edit.latents import MAX_SEED, Source
from ..edit.mixing import mix_ws
from ..models import ARCHITECTURES
from .display import display_factor, enlarge
from .grid import Renderer, RenderError
from .sources import resolve, source_ws

MAX_STRENGTH = limits.NOISE_STRENGTH.hi  # noise strength sliders go from 0 (off) to 2 (twice the learned scale)
MAX_VARIATIONS = limits.VARIATIONS      # stochastic variation: noise realisations at once
MAX_MATRIX_SEEDS = limits.MATRIX_SEEDS  # style-mixing matrix: rows and columns, each
MATRIX_TILE_PX = 128    # matrix tiles are enlarged (nearest) to about this many pixels
SLOTS = ("a", "mix", "b")

# A perceptual dark-to-bright colour map (anchors sampled from matplotlib's "inferno"), applied with
# np.interp so the app needs no matplotlib: 0 = black-purple, 1 = pale yellow.
_HEAT_ANCHORS = np.array([[0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66],
                          [245, 125, 21], [250, 193, 39], [252, 255, 164]], dtype=np.float64)


@dataclass(frozen=True)
class StyleRequest:
    checkpoint: str                               # path of the checkpoint's .json
    seed_a: Source                                # source A (whose styles weight 0 keeps): a seed or "@key"
    seed_b: Source = 0                            # source B (whose styles weight 1 takes): a seed or "@key"
    mix: tuple[float, ...] | None = None          # one weight per ws entry, 0 = A's style .. 1 = B's; None = all 0
    truncation_psi: float = 1.0                   # 1 = none, 0 = w_avg, negative = the "anti-face"
    truncation_cutoff: int | None = None          # truncate the first this many ws entries; None = all
    noise_mode: str = "const"                     # "const" (stored maps) | "random" (from noise_seed) | "none"
    noise_seed: int = 0                           # seed of the torch.Generator that draws random noise
    noise_strength: tuple[float, ...] | None = None  # one per synthesis layer, 0..2; None = all 1
    translate: tuple[float, float] = (0.0, 0.0)   # StyleGAN3: input translation (x, y) in image widths
    rotate: float = 0.0                           # StyleGAN3: input rotation, degrees counter-clockwise
    class_a: int | None = None                    # conditional models: the class seed A is drawn as (B's below;
    class_b: int | None = None                    # the matrix's A rows and B columns likewise)


@dataclass(frozen=True)
class StyleModel:
    """What the tab needs to lay out its sliders for a model."""

    name: str                    # architecture title (e.g. "StyleGAN2")
    res: int                     # output resolution in pixels
    channels: int
    num_ws: int                  # style inputs (mixing sliders)
    num_layers: int              # synthesis layers (noise inputs, strength sliders)
    ws_resolutions: tuple[int, ...]     # resolution each ws entry acts at
    noise_resolutions: tuple[int, ...]  # resolution of each layer's noise map
    noise: bool = True                  # whether it has per-pixel noise inputs (StyleGAN3 has none)
    transform: bool = False             # whether its input can be translated and rotated (StyleGAN3)


@dataclass(frozen=True)
class StyleImage:
    picture: np.ndarray   # uint8 [r, r, C]
    ms: float             # wall time of this render, milliseconds
    first_layer: int      # first synthesis layer re-run (num_layers: none, the cache held them all)
    layers_run: int       # synthesis layers run for this picture
    cached: bool = False  # nothing changed: the previous picture of this slot, not even the last toRGB re-run


@dataclass(frozen=True)
class Variation:
    pictures: np.ndarray  # uint8 [K, r, r, C]: one per noise seed noise_seed .. noise_seed + K - 1
    std: np.ndarray       # float32 [r, r]: per-pixel standard deviation over K, pixel levels (0..255), mean over C
    heat: np.ndarray      # uint8 [r, r, 3]: std / std.max() through the colour map (all dark when std is 0)
    ms: float             # wall time of all K renders


@dataclass(frozen=True)
class Matrix:
    tiles: np.ndarray     # uint8 [rows + 1, cols + 1, r, r, C]: [0, 1:] = B seeds, [1:, 0] = A seeds, [0, 0] blank
    picture: np.ndarray   # uint8 grid of the tiles, each enlarged (nearest) to about MATRIX_TILE_PX
    ms: float             # wall time of all renders


def heat_colours(t: np.ndarray) -> np.ndarray:
    """float [...] in [0, 1] -> uint8 [..., 3] through the colour map."""
    x = np.clip(t, 0.0, 1.0) * (len(_HEAT_ANCHORS) - 1)
    grid = np.arange(len(_HEAT_ANCHORS))
    return np.stack([np.interp(x, grid, _HEAT_ANCHORS[:, c]) for c in range(3)], axis=-1).round().astype(np.uint8)


class _Prefix:
    """One slot's last render: what each layer read and the state it left."""

    def __init__(self, G: torch.nn.Module):
        self.model = weakref.ref(G)
        self.lock = threading.Lock()
        self.reads: list[tuple] = []    # per layer: (ws entries it read [1, w_dim] each, noise map or None)
        self.states: list[tuple] = []   # per layer: the (features, skip image) after it
        self.final_read = None          # the ws entry the last toRGB read (StyleGAN2), or None
        self.output: torch.Tensor | None = None


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return a.shape == b.shape and torch.equal(a, b)


class StyleRenderer:
    """Renders for the StyleGAN tab, on top of the Renderer's model cache."""

    def __init__(self, renderer: Renderer, max_prefixes: int = 8, batch: int = 16):
        self.renderer, self.batch = renderer, batch
        self.max_prefixes = max_prefixes
        self._prefixes: OrderedDict[tuple, _Prefix] = OrderedDict()
        self._lock = threading.Lock()
        self.layers_run = 0  # synthesis layers run by slider renders since start (tests read it)

    # --------------------------------------------------------------------- models
    def model(self, checkpoint: str) -> tuple[torch.nn.Module, dict]:
        G, meta = self.renderer.model(checkpoint)
        if not G.capabilities.mixing:
            title = ARCHITECTURES[meta["arch"]].title
            raise RenderError(f"This is a {title} model, which has no per-layer styles; pick a StyleGAN model "
                              "(trained with --recipe stylegan or --recipe stylegan2).")
        return G, meta

    def describe(self, checkpoint: str) -> StyleModel:
        G, _ = self.model(checkpoint)
        shifts = hasattr(G, "input_transform")
        if shifts:
            title = "StyleGAN3-R" if G.cfg.variant == "stylegan3-r" else "StyleGAN3-T"
        else:
            title = "StyleGAN2" if G.cfg.variant == "modulated" else "StyleGAN"
        return StyleModel(title, G.img_resolution, G.img_channels, G.num_ws, G.num_layers,
                          tuple(G.ws_resolutions()), tuple(G.noise_resolutions()), bool(G.capabilities.noise), shifts)

    @staticmethod
    def transform(G, req: StyleRequest) -> torch.Tensor | None:
        """The request's input transform for G ([3, 3]), or None: none asked for, or G has no such input."""
        if not hasattr(G, "input_transform") or (tuple(req.translate) == (0.0, 0.0) and req.rotate == 0.0):
            return None
        return G.input_transform(float(req.translate[0]), float(req.translate[1]), float(req.rotate)).to(G.w_avg.device)

    # --------------------------------------------------------------------- inputs
    def _check(self, G, req: StyleRequest) -> None:
        for what, seed in (("Seed A", req.seed_a), ("Seed B", req.seed_b), ("Noise seed", req.noise_seed)):
            if not isinstance(seed, str) and not 0 <= seed <= MAX_SEED:
                raise RenderError(f"{what} must be a whole number from 0 to {MAX_SEED}; got {seed}.")
        if req.mix is not None:
            if len(req.mix) != G.num_ws:
                raise RenderError(f"This model has {G.num_ws} style inputs; give one mix weight for each.")
            if any(not 0.0 <= t <= 1.0 for t in req.mix):
                raise RenderError("Mix weights go from 0 (seed A's style) to 1 (seed B's); move the slider back.")
        if req.noise_strength is not None:
            if len(req.noise_strength) != G.num_layers:
                raise RenderError(f"This model has {G.num_layers} noise inputs; give one strength for each.")
            if any(not 0.0 <= s <= MAX_STRENGTH for s in req.noise_strength):
                raise RenderError(f"Noise strengths go from 0 (off) to {MAX_STRENGTH:g}.")
        if not math.isfinite(req.truncation_psi):
            raise RenderError("Truncation psi must be a number, e.g. 0.7.")
        if req.truncation_cutoff is not None and not 0 <= req.truncation_cutoff <= G.num_ws:
            raise RenderError(f"The truncation cutoff counts style inputs: 0 to {G.num_ws} for this model.")
        t = limits.TRANSLATE
        if (len(req.translate) != 2 or not all(math.isfinite(v) and t.lo <= v <= t.hi for v in req.translate)
                or not (math.isfinite(req.rotate) and limits.ROTATE.lo <= req.rotate <= limits.ROTATE.hi)):
            raise RenderError(f"Translation goes from {t.lo:g} to {t.hi:g} image widths and rotation from "
                              f"{limits.ROTATE.lo:g} to {limits.ROTATE.hi:g} degrees.")

    def _ws(self, G, seed: Source, req: StyleRequest, latents: dict, label: int | None = None) -> torch.Tensor:
        """[1, num_ws, w_dim], truncated as the request says (each source before mixing, as in the paper)."""
        return source_ws(G, seed, latents, req.truncation_psi, req.truncation_cutoff, self.renderer.device, label)

    def _noise(self, G, req: StyleRequest, noise_seed: int | None = None) -> list[torch.Tensor | None]:
        """One map [1, 1, r, r] (or None) per layer, drawn exactly as G.synthesis would at batch 1."""
        gen = None
        if req.noise_mode == "random":
            gen = torch.Generator(self.renderer.device)
            gen.manual_seed(req.noise_seed if noise_seed is None else noise_seed)
        strength = list(req.noise_strength) if req.noise_strength is not None else None
        try:
            return G.make_noise(1, req.noise_mode, gen, strength)
        except ValueError as e:
            raise RenderError(str(e)) from None

    # --------------------------------------------------------------------- incremental synthesis
    @staticmethod
    def _layer_reads(G) -> list[list[int]]:
        """The ws entries run_layer(i) reads: its own, plus a skip toRGB's when one runs after it."""
        reads = [[k] for k in G.layer_w]
        for j, (after, k) in enumerate(zip(G.rgb_after, G.rgb_w)):
            if k is not None and j < len(G.rgb_after) - 1:  # the last toRGB runs in finish()
                reads[after].append(k)
        return reads

    def _prefix(self, key: tuple, G) -> _Prefix:
        with self._lock:
            p = self._prefixes.get(key)
            if p is None or p.model() is not G:
                p = self._prefixes[key] = _Prefix(G)
            self._prefixes.move_to_end(key)
            while len(self._prefixes) > self.max_prefixes:
                self._prefixes.popitem(last=False)
            return p

    def synthesize(self, key: tuple, G, ws: torch.Tensor, noise: list, transform: torch.Tensor | None = None
                   ) -> tuple[torch.Tensor, int, int, bool]:
        """G.synthesis(ws) for one image [1, ...] with these noise maps (and StyleGAN3 input transform),
        re-running only the layers from the first whose inputs differ from this key's previous render.
        -> (img, first layer run, layers run, whether the whole previous output was reused)."""
        assert ws.shape[0] == 1 and len(noise) == G.num_layers
        p = self._prefix(key, G)
        # The transform enters at layer 0 (StyleGAN3's input), so it is one of layer 0's reads.
        reads = [(tuple(ws[:, k] for k in ks) + ((transform,) if i == 0 and transform is not None else ()), noise[i])
                 for i, ks in enumerate(self._layer_reads(G))]
        last = G.rgb_w[-1]
        final_read = ws[:, last] if last is not None else None
        with p.lock:
            first = 0
            while (first < min(len(p.reads), G.num_layers)
                   and len(p.reads[first][0]) == len(reads[first][0])
                   and all(_same(a, b) for a, b in zip(p.reads[first][0], reads[first][0]))
                   and _same(p.reads[first][1], reads[first][1])):
                first += 1
            if first == G.num_layers and p.output is not None and _same(p.final_read, final_read):
                return p.output, first, 0, True
            state = p.states[first - 1] if first else self._initial(G, 1, transform)
            del p.reads[first:], p.states[first:]
            for i in range(first, G.num_layers):
                state = G.run_layer(i, state, ws, noise[i])
                p.reads.append(reads[i])
                p.states.append(state)
            p.final_read, p.output = final_read, G.finish(state, ws)
            ran = G.num_layers - first
        with self._lock:
            self.layers_run += ran
        return p.output, first, ran, False

    @staticmethod
    def _initial(G, n: int, transform: torch.Tensor | None):
        return G.initial_state(n) if transform is None else G.initial_state(n, transform=transform)

    # --------------------------------------------------------------------- renders
    @torch.inference_mode()
    def render(self, req: StyleRequest, slots: tuple[str, ...] = SLOTS) -> dict[str, StyleImage]:
        """Source A, the mix and source B (or the `slots` asked for): {"a"|"mix"|"b": StyleImage}.
        Each slot keeps its own layer cache, so a mixing slider re-runs the mix only, from its layer."""
        checkpoint, latents = resolve(req.checkpoint, (req.seed_a, req.seed_b))
        G, _ = self.model(checkpoint)
        self._check(G, req)
        mix = req.mix if req.mix is not None else (0.0,) * G.num_ws
        t0 = time.perf_counter()
        noise = self._noise(G, req)
        ws_a = self._ws(G, req.seed_a, req, latents, req.class_a)
        ws_b = self._ws(G, req.seed_b, req, latents, req.class_b) if ("b" in slots or any(mix)) else ws_a
        shared_ms = (time.perf_counter() - t0) * 1000 / len(slots)  # mapping and noise, split between the slots
        out = {}
        for slot in slots:
            t0 = time.perf_counter()
            ws = {"a": ws_a, "b": ws_b}.get(slot)
            if ws is None:
                ws = mix_ws(ws_a, ws_b, mix)                                    # [1, num_ws, w_dim]
            img, first, ran, cached = self.synthesize((checkpoint, slot), G, ws, noise, self.transform(G, req))
            picture = images.to_uint8(img)[0]
            out[slot] = StyleImage(picture, shared_ms + (time.perf_counter() - t0) * 1000, first, ran, cached)
        return out

    def _batch(self, G, ws: torch.Tensor, noise: list, transform: torch.Tensor | None = None) -> torch.Tensor:
        """Full synthesis of ws [N, num_ws, w_dim] with noise maps [1 or N, 1, r, r] per layer."""
        out = []
        for start in range(0, ws.shape[0], self.batch):
            wb = ws[start:start + self.batch]
            nb = [n if n is None or n.shape[0] == 1 else n[start:start + self.batch] for n in noise]
            state = self._initial(G, wb.shape[0], transform)
            for i in range(G.num_layers):
                state = G.run_layer(i, state, wb, nb[i])
            out.append(images.to_uint8(G.finish(state, wb)))
        return np.concatenate(out)

    @torch.inference_mode()
    def variation(self, req: StyleRequest, k: int) -> Variation:
        """The mix rendered with K noise realisations (seeds noise_seed .. noise_seed + K - 1 in random
        mode) and each pixel's standard deviation over them (Karras et al. 2019, Fig. 4)."""
        if not 2 <= k <= MAX_VARIATIONS:
            raise RenderError(f"Stochastic variation needs 2 to {MAX_VARIATIONS} renders; got {k}.")
        checkpoint, latents = resolve(req.checkpoint, (req.seed_a, req.seed_b))
        G, _ = self.model(checkpoint)
        self._check(G, req)
        if req.noise_mode == "random" and req.noise_seed + k - 1 > MAX_SEED:
            raise RenderError(f"Noise seeds {req.noise_seed}..{req.noise_seed + k - 1} run past {MAX_SEED}; "
                              "pick a smaller noise seed.")
        t0 = time.perf_counter()
        ws_a = self._ws(G, req.seed_a, req, latents, req.class_a)
        ws_b = self._ws(G, req.seed_b, req, latents, req.class_b)
        ws = mix_ws(ws_a, ws_b, req.mix if req.mix is not None else (0.0,) * G.num_ws).expand(k, -1, -1)
        draws = [self._noise(G, req, req.noise_seed + i) for i in range(k)]
        noise = [None if d[0] is None else torch.cat(d) for d in zip(*draws)]  # per layer [K, 1, r, r]
        pictures = self._batch(G, ws, noise, self.transform(G, req))            # uint8 [K, r, r, C]
        std = pictures.astype(np.float32).std(axis=0).mean(axis=-1)             # [r, r], pixel levels
        top = float(std.max())
        heat = heat_colours(std / top if top > 0 else std)
        return Variation(pictures, std, heat, (time.perf_counter() - t0) * 1000)

    @torch.inference_mode()
    def matrix(self, req: StyleRequest, rows: list[Source], cols: list[Source]) -> Matrix:
        """Fig. 3 of Karras et al. 2019: a header row of B seeds (`cols`), a header column of A seeds
        (`rows`), and in each cell A's styles with B's mixed in by req.mix. Truncation and noise as in req."""
        if not rows or not cols or len(rows) > MAX_MATRIX_SEEDS or len(cols) > MAX_MATRIX_SEEDS:
            raise RenderError(f"The matrix needs 1 to {MAX_MATRIX_SEEDS} A seeds and 1 to {MAX_MATRIX_SEEDS} B seeds.")
        checkpoint, latents = resolve(req.checkpoint, rows + cols)
        G, _ = self.model(checkpoint)
        for s in rows + cols:
            self._check(G, replace(req, seed_a=s))
        t0 = time.perf_counter()
        mix = req.mix if req.mix is not None else (0.0,) * G.num_ws
        wa = torch.cat([self._ws(G, s, req, latents, req.class_a) for s in rows])  # [R, num_ws, w_dim]
        wb = torch.cat([self._ws(G, s, req, latents, req.class_b) for s in cols])  # [C, num_ws, w_dim]
        cells = torch.cat([mix_ws(wa[i:i + 1].expand(len(cols), -1, -1), wb, mix) for i in range(len(rows))])
        pictures = self._batch(G, torch.cat([wa, wb, cells]), self._noise(G, req),  # the same noise for every tile
                               self.transform(G, req))
        r, n_rows, n_cols = G.img_resolution, len(rows), len(cols)
        tiles = np.zeros((n_rows + 1, n_cols + 1, r, r, G.img_channels), dtype=np.uint8)
        tiles[1:, 0] = pictures[:n_rows]
        tiles[0, 1:] = pictures[n_rows:n_rows + n_cols]
        tiles[1:, 1:] = pictures[n_rows + n_cols:].reshape(n_rows, n_cols, r, r, -1)
        flat = enlarge(tiles.reshape(-1, r, r, G.img_channels), display_factor(r, MATRIX_TILE_PX))
        picture = images.make_grid(flat, cols=n_cols + 1)
        return Matrix(tiles, picture, (time.perf_counter() - t0) * 1000)
