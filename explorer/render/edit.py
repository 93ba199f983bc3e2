"""EditRenderer: the Edit and Interpolate tabs' pictures and the directions they find. No gradio
here; errors are RenderError sentences.

Every family works the same way through the generator contract: ws = G.mapping(z) (w for a
mapping network, z broadcast otherwise), directions move ws, G.synthesis draws it. Style-based
models render through the StyleRenderer's layer cache, so a direction acting on ws entries k..
re-runs the synthesis layers from the first one reading an edited entry, never the earlier ones."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch

from .. import images, limits
from ..edit import directions as dirs
from ..edit.interp import MODES, keyframe_path, walk_strengths
from ..edit.latents import MAX_SEED, Source, latents_for_seeds
from ..models.classes import check_label, map_z
from .grid import GridRequest, Renderer, RenderError, synthesis_kwargs
from .sources import resolve, source_ws
from .style import StyleRenderer

MAX_FRAMES = limits.FRAMES
MAX_KEYS = limits.KEYFRAMES
SAMPLES = 2000          # latents sampled for PCA and for each direction's standard deviation
LABELLED_KEPT = 4       # sets of labelled samples kept, so each further attribute found on a model is a fit only


@dataclass(frozen=True)
class Edit:
    """One direction applied: vector [D] (unit) moved strength * std along, on ws entries [lo, hi)."""

    vector: tuple[float, ...]
    strength: float                        # standard deviations
    std: float                             # latent units per standard deviation
    layers: tuple[int, int] | None = None  # None = every ws entry


@dataclass(frozen=True)
class EditImage:
    picture: np.ndarray   # uint8 [r, r, C]
    ms: float             # wall time of the render, milliseconds
    layers_run: int       # synthesis layers re-run (style-based models; else every layer = -1)


class EditRenderer:
    def __init__(self, renderer: Renderer, style: StyleRenderer, supervised_samples: int = 500):
        self.renderer, self.style = renderer, style
        self.supervised_samples = supervised_samples  # generated images labelled for each supervised direction
        # (checkpoint, n, classifier folder) -> (G they were drawn by, latents, labels); a reloaded G draws them anew.
        self._labelled: OrderedDict[tuple, tuple] = OrderedDict()
        self._labelled_lock = threading.Lock()

    @property
    def device(self):
        return self.renderer.device

    def model(self, checkpoint: str):
        G, meta = self.renderer.model(checkpoint)
        return G, meta

    def space(self, checkpoint: str) -> str:
        return dirs.latent_space(self.model(checkpoint)[0])

    # --------------------------------------------------------------------- latents
    def edited_ws(self, G, ws: torch.Tensor, edits: tuple[Edit, ...]) -> torch.Tensor:
        for e in edits:
            d = torch.tensor(e.vector, dtype=ws.dtype, device=ws.device)
            if d.shape != ws.shape[2:]:
                raise RenderError(f"A direction of size {d.shape[0]} does not fit this model's {ws.shape[2]}-dim "
                                  "latents; it belongs to another model.")
            try:
                ws = dirs.apply(ws, d, e.strength * e.std, e.layers)
            except ValueError as err:
                raise RenderError(str(err)) from None
        return ws

    def seed_ws(self, G, seed: Source, psi: float, latents: dict | None = None, label: int | None = None
                ) -> torch.Tensor:
        """[1, num_ws, D] of a seed (as class `label` for a conditional G) or of a projected latent resolved
        into `latents` (sources.resolve)."""
        return source_ws(G, seed, latents or {}, psi, None, self.device, label)

    def _draw(self, checkpoint: str, G, meta, ws: torch.Tensor, key: str) -> tuple[torch.Tensor, int]:
        """One image [1, C, r, r] of ws [1, num_ws, D] (noise const); incremental for style-based G."""
        if G.capabilities.mixing:
            noise = G.make_noise(1, "const", None)
            img, _, ran, _ = self.style.synthesize((checkpoint, key), G, ws, noise)
            return img, ran
        try:
            return G.synthesis(ws, **synthesis_kwargs(G, meta, GridRequest(checkpoint, (0,)))), -1
        except ValueError as e:
            raise RenderError(str(e)) from None

    @torch.inference_mode()
    def render(self, checkpoint: str, seed: Source, psi: float, edits: tuple[Edit, ...] = (),
               key: str = "edit", label: int | None = None) -> EditImage:
        """The seed's (or projected image's) picture with the edits applied (none: the original)."""
        t0 = time.perf_counter()
        checkpoint, latents = resolve(checkpoint, (seed,))
        G, meta = self.model(checkpoint)
        ws = self.edited_ws(G, self.seed_ws(G, seed, psi, latents, label), edits)
        img, ran = self._draw(checkpoint, G, meta, ws, key)
        return EditImage(images.to_uint8(img)[0], (time.perf_counter() - t0) * 1000, ran)

    # --------------------------------------------------------------------- finding directions
    def samples(self, checkpoint: str) -> torch.Tensor:
        G, _ = self.model(checkpoint)
        return dirs.sample_latents(G, SAMPLES, device=self.device)

    def find_sefa(self, checkpoint: str, k: int, layers: tuple[int, int] | None) -> list[dirs.Direction]:
        G, _ = self.model(checkpoint)
        try:
            vecs, vals = dirs.sefa(dirs.first_weights(G, layers), k)
        except ValueError as e:
            raise RenderError(str(e)) from None
        std = dirs.std_along(self.samples(checkpoint), vecs)
        span = "" if layers is None or layers == (0, G.num_ws) else f" w{layers[0]}-{layers[1] - 1}"
        return [dirs.Direction(f"sefa{span} #{i}", "sefa", vecs[i].numpy(), float(std[i]),
                               layers if span else None, dirs.latent_space(G),
                               {"eigenvalue": float(vals[i]), "rank": i})
                for i in range(len(vals))]

    def find_pca(self, checkpoint: str, k: int) -> list[dirs.Direction]:
        """GANSpace: PCA of w behind a mapping network, else of the first layer's activations regressed to z."""
        G, _ = self.model(checkpoint)
        return dirs.find_pca(G, k, SAMPLES, self.device)

    @torch.inference_mode()
    def find_means(self, checkpoint: str, name: str, seeds_a: list[int], seeds_b: list[int]) -> dirs.Direction:
        G, _ = self.model(checkpoint)
        za, zb = (latents_for_seeds(s, G.z_dim).to(self.device) for s in (seeds_a, seeds_b))
        wa, wb = G.mapping(za)[:, 0].cpu(), G.mapping(zb)[:, 0].cpu()
        try:
            d = dirs.mean_difference(wa, wb)
        except ValueError as e:
            raise RenderError(str(e)) from None
        std = float(dirs.std_along(self.samples(checkpoint), d[None])[0])
        return dirs.Direction(name, "means", d.numpy(), std, None, dirs.latent_space(G),
                              {"seeds_a": seeds_a, "seeds_b": seeds_b,
                               "distance_std": float((wb.mean(0) - wa.mean(0)).norm()) / std})

    # --------------------------------------------------------------------- interpolation
    @torch.inference_mode()
    def path(self, checkpoint: str, keys: list[Source], frames: int, mode: str, space: str, psi: float,
             edits: tuple[Edit, ...] = (), label: int | None = None) -> torch.Tensor:
        """ws [frames, num_ws, D] through the keyframes (seeds or projected images), interpolated in z or w,
        edits applied; a conditional model draws the seeds as class `label`. Draw it with the checkpoint
        path_checkpoint(checkpoint, keys) names."""
        checkpoint, latents = resolve(checkpoint, keys)
        G, _ = self.model(checkpoint)
        if not 2 <= len(keys) <= MAX_KEYS:
            raise RenderError(f"Give 2 to {MAX_KEYS} keyframe seeds, e.g. 0, 5, 9.")
        if not 2 <= frames <= MAX_FRAMES:
            raise RenderError(f"Frames go from 2 to {MAX_FRAMES}; got {frames}.")
        if mode not in MODES:
            raise RenderError(f"The path is one of {', '.join(MODES)}; got {mode!r}.")
        if space not in ("z", "w"):
            raise RenderError(f"Interpolate in z or w; got {space!r}.")
        if any(not isinstance(s, str) and not 0 <= s <= MAX_SEED for s in keys):
            raise RenderError(f"Seeds go from 0 to {MAX_SEED}.")
        try:
            check_label(G, label)
        except ValueError as e:
            raise RenderError(str(e)) from None
        if latents:
            return self.edited_ws(G, self._source_path(G, keys, latents, frames, mode, space, psi, label), edits)
        z = latents_for_seeds(keys, G.z_dim).to(self.device)           # [K, z_dim]
        if space == "z" or dirs.latent_space(G) == "z":
            ws = map_z(G, keyframe_path(z, frames, mode), label, truncation_psi=psi)
        else:  # interpolate untruncated w, then truncate as G.mapping would
            w = keyframe_path(map_z(G, z, label)[:, 0], frames, mode)  # [F, D]
            ws = w[:, None].repeat(1, G.num_ws, 1)
            if psi != 1.0:
                ws = G.w_avg.lerp(ws, psi)
        return self.edited_ws(G, ws, edits)

    def _source_path(self, G, keys: list[Source], latents: dict, frames: int, mode: str, space: str,
                     psi: float, label: int | None = None) -> torch.Tensor:
        """A keyframe path through projected latents and seeds: in w, each ws entry along its own path (a
        w+ latent has one w per entry); in z, for families without a mapping network, through their z."""
        if dirs.latent_space(G) == "w" and space == "z":
            shown = next(k for k in keys if isinstance(k, str))
            raise RenderError(f"{shown} is a projected w latent, which has no z; interpolate in w.")
        ws = torch.cat([source_ws(G, k, latents, 1.0, None, self.device, label) for k in keys])  # [K, num_ws, D]
        if dirs.latent_space(G) == "z":
            return G.mapping(keyframe_path(ws[:, 0], frames, mode), truncation_psi=psi)
        path = torch.stack([keyframe_path(ws[:, j], frames, mode) for j in range(G.num_ws)], dim=1)  # [F, num_ws, D]
        return G.w_avg.lerp(path, psi) if psi != 1.0 else path

    def path_checkpoint(self, checkpoint: str, keys: list[Source]) -> str:
        """The checkpoint a path through these keyframes is drawn with (a PTI latent's tuned copy)."""
        return resolve(checkpoint, keys)[0]

    @torch.inference_mode()
    def walk(self, checkpoint: str, seed: Source, psi: float, edit: Edit, frames: int,
             edits: tuple[Edit, ...] = (), label: int | None = None) -> torch.Tensor:
        """ws [frames, num_ws, D]: the seed walked along edit's direction from -|strength| to +|strength|."""
        checkpoint, latents = resolve(checkpoint, (seed,))
        G, _ = self.model(checkpoint)
        if not 2 <= frames <= MAX_FRAMES:
            raise RenderError(f"Frames go from 2 to {MAX_FRAMES}; got {frames}.")
        base = self.edited_ws(G, self.seed_ws(G, seed, psi, latents, label), edits)
        s = abs(edit.strength)
        return torch.cat([self.edited_ws(G, base, (Edit(edit.vector, t, edit.std, edit.layers),))
                          for t in walk_strengths(s, frames)])

    @torch.inference_mode()
    def frame(self, checkpoint: str, ws: torch.Tensor, i: int) -> EditImage:
        """Frame i of a path, drawn alone (batch 1) as the preview and its recipe show it."""
        t0 = time.perf_counter()
        G, meta = self.model(checkpoint)
        if not 0 <= i < ws.shape[0]:
            raise RenderError(f"Frame {i} is outside the path's {ws.shape[0]} frames.")
        img, ran = self._draw(checkpoint, G, meta, ws[i:i + 1], "interp")
        return EditImage(images.to_uint8(img)[0], (time.perf_counter() - t0) * 1000, ran)

    @torch.inference_mode()
    def frames(self, checkpoint: str, ws: torch.Tensor, progress=None, batch: int = 8) -> np.ndarray:
        """uint8 [F, r, r, C], every frame of a path. progress(done, F) after each batch."""
        G, meta = self.model(checkpoint)
        kw = synthesis_kwargs(G, meta, GridRequest(checkpoint, (0,)))
        out = []
        for start in range(0, ws.shape[0], batch):
            out.append(images.to_uint8(G.synthesis(ws[start:start + batch], **kw)))
            if progress:
                progress(min(start + batch, ws.shape[0]), ws.shape[0])
        return np.concatenate(out)

    # --------------------------------------------------------------------- supervised (InterFaceGAN)
    def classifier(self, checkpoint: str, folder=None):
        """The attribute classifier for the data this model was trained on (faces, mnist), or None."""
        from .. import attributes

        _, meta = self.model(checkpoint)
        data = meta.get("train", {}).get("data")
        try:
            attributes.attributes_for(data)
            return attributes.load_classifier(data, folder, self.device)
        except (ValueError, attributes.ClassifierError):
            return None

    @torch.inference_mode()
    def labelled_samples(self, checkpoint: str, clf, n: int, batch: int = 32) -> tuple[torch.Tensor, dict]:
        """(latents [n, D] of the sample seeds, the classifier's binary labels {attribute: bool [n]})."""
        from ..attributes import binarize

        G, meta = self.model(checkpoint)
        key = (checkpoint, n, str(getattr(clf, "card_path", id(clf))))
        with self._labelled_lock:
            hit = self._labelled.get(key)
            if hit is not None and hit[0] is G:
                self._labelled.move_to_end(key)
                return hit[1], hit[2]
        lat = dirs.sample_latents(G, n, device=self.device)
        kw = synthesis_kwargs(G, meta, GridRequest(checkpoint, (0,)))
        preds: dict[str, list] = {}
        z = latents_for_seeds(list(range(dirs.SAMPLE_SEED0, dirs.SAMPLE_SEED0 + n)), G.z_dim).to(self.device)
        for zb in z.split(batch):
            for k, (label, _) in binarize(clf.predict(G.synthesis(G.mapping(zb), **kw))).items():
                preds.setdefault(k, []).append(label.cpu())
        labels = {k: torch.cat(v) for k, v in preds.items()}
        with self._labelled_lock:
            self._labelled[key] = (G, lat, labels)
            while len(self._labelled) > LABELLED_KEPT:
                self._labelled.popitem(last=False)
        return lat, labels

    @torch.inference_mode()
    def attribute_walk(self, checkpoint: str, clf, d: dirs.Direction, seeds: list[int],
                       strengths: tuple[float, ...]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """What the attribute classifier reads off the seeds' images (untruncated) moved along d by each
        strength (standard deviations, on d's layers): (strength of each image [S * N],
        {attribute: output [S * N]}), a class output split into one probability per class ("digit=3")."""
        G, meta = self.model(checkpoint)
        kw = synthesis_kwargs(G, meta, GridRequest(checkpoint, (0,)))
        ws = G.mapping(latents_for_seeds(seeds, G.z_dim).to(self.device))        # [N, num_ws, D]
        v = torch.from_numpy(d.vector).to(self.device)
        xs, outs = [], {}
        for s in strengths:
            for k, p in clf.predict(G.synthesis(dirs.apply(ws, v, s * d.std, d.layers), **kw)).items():
                cols = {k: p} if p.ndim == 1 else {f"{k}={c}": p[:, c] for c in range(p.shape[1])}
                for name, col in cols.items():
                    outs.setdefault(name, []).append(col.float().cpu())
            xs.append(torch.full((len(seeds),), float(s)))
        return torch.cat(xs), {k: torch.cat(v) for k, v in outs.items()}

    def find_supervised(self, checkpoint: str, attribute: str, keep: list[str], n: int | None = None,
                        classifier_folder=None) -> dirs.Direction:
        """The attribute's direction from a linear probe on n sampled latents labelled by the
        attribute classifier; with `keep`, conditioned so those attributes stay as they are."""
        clf = self.classifier(checkpoint, classifier_folder)
        if clf is None:
            raise RenderError("No attribute classifier fits this model's training data; supervised directions "
                              "need one (faces or mnist, in weights/classifiers/).")
        lat, labels = self.labelled_samples(checkpoint, clf, n or self.supervised_samples)
        missing = [a for a in [attribute, *keep] if a not in labels]
        if missing:
            raise RenderError(f"The classifier knows no attribute {missing[0]!r}; pick one from the list.")
        try:
            vec, stats = dirs.fit_probe(lat, labels[attribute].float())
            others = [dirs.fit_probe(lat, labels[a].float())[0] for a in keep if a != attribute]
            vec = dirs.condition(vec, others)
        except ValueError as e:
            raise RenderError(f"{attribute}: {e}") from None
        std = float(dirs.std_along(lat, vec[None])[0])
        name = attribute + (f" | keep {', '.join(keep)}" if keep else "")
        return dirs.Direction(name, "supervised", vec.numpy(), std, None, self.space(checkpoint),
                              dict(stats, attribute=attribute, keep=list(keep)))
