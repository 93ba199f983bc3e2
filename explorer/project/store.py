"""Projected latents, kept beside the model they were projected into.

weights/NAME.json -> weights/NAME.latents/ (runs/RUN/snapshots/SNAP.latents/ for a snapshot), as
directions are. Each projection KEY is:

    KEY.npy                  the latent, float32: w [1, w_dim], w+ [num_ws, w_dim] or z [z_dim]
    KEY.target.png           the picture it was projected from, as the model saw it (res x res)
    tuned/KEY~V.safetensors  the tuned copy of G (PTI, or optimised noise maps), when there is one, with
    tuned/KEY~V.json         its checkpoint JSON: the renderers open it like any checkpoint. V is new for
                             every projection, so a renderer never draws with a copy it cached of an older one
    KEY.json                 what it is (space, the model's weights' sha256, the source image's sha256,
                             settings, losses, time); written last, so it is the commit point

A latent belongs to the weights it was projected into: one whose weights_sha256 is not the model's
(the model was retrained or replaced) is not listed, and asking for it by name is a sentence."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..edit.image_recipe import weights_sha256
from ..edit.latents import KEY_RE, PREFIX
from ..fsutil import atomic_write_bytes
from ..images import encode_png

FORMAT = 1
SPACES = ("w", "w+", "z")
_KEY_OK = re.compile(r"[^a-z0-9_-]+")
HISTORY_POINTS = 400  # loss-curve points kept in KEY.json


class LatentError(LookupError):
    """A projected latent that cannot be used; str() is the sentence to show."""


@dataclass(frozen=True)
class Latent:
    key: str
    space: str                   # "w" | "w+" | "z"
    array: np.ndarray            # float32, as stored
    sha256: str                  # of KEY.npy's bytes: what a recipe records
    tuned: str | None            # path of tuned/KEY~V.json (a checkpoint), or None
    meta: dict                   # KEY.json

    @property
    def label(self) -> str:
        """How lists show it: '@key (w+, PTI)'."""
        extra = ", PTI" if self.meta.get("config", {}).get("pti_steps") else ""
        extra += ", noise" if self.meta.get("config", {}).get("noise_maps") else ""
        return f"{PREFIX}{self.key} ({self.space}{extra})"


def store_dir(checkpoint: str | os.PathLike) -> Path:
    p = Path(checkpoint)
    return p.with_name(p.stem + ".latents") if p.suffix in (".json", ".safetensors") else p.with_name(p.name + ".latents")


def key_for(name: str) -> str:
    """A file-safe key from a name ("My Cat.jpg" stem "My Cat" -> "my-cat")."""
    key = _KEY_OK.sub("-", (name or "").lower()).strip("-_")[:64]
    return key or "image"


def parse_key(text: str) -> str:
    """'@my-cat' or 'my-cat' -> 'my-cat'; ValueError for anything that cannot be a key."""
    t = (text or "").strip()
    t = t[len(PREFIX):] if t.startswith(PREFIX) else t
    if not KEY_RE.match(t):
        shown = t if len(t) <= 40 else t[:39] + "…"
        raise ValueError(f"{PREFIX}{shown} is not the name of a projected image; names are lowercase letters, "
                         "digits, - and _, as listed in the Project tab.")
    return t


def save(checkpoint: str | os.PathLike, key: str, *, space: str, latent: np.ndarray, target: np.ndarray,
         source: dict, config: dict, history: list, final: dict, best_step: int, seconds: float, stopped: bool,
         tuned=None, arch: str | None = None, model_config: dict | None = None, train: dict | None = None) -> Path:
    """Write one projection (see the module docstring); replaces a same-named one. -> KEY.json's path."""
    if not KEY_RE.match(key):
        raise ValueError(f"{key!r} is not a valid name for a projected image.")
    if space not in SPACES:
        raise ValueError(f"space must be one of {SPACES}, got {space!r}")
    folder = store_dir(checkpoint)
    folder.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(latent, dtype=np.float32), allow_pickle=False)
    data = buf.getvalue()
    # A same-named projection is replaced whole: its old commit point goes first, so a kill part-way
    # leaves no KEY.json that points at a mix of old and new files.
    (folder / f"{key}.json").unlink(missing_ok=True)
    atomic_write_bytes(folder / f"{key}.npy", data)
    atomic_write_bytes(folder / f"{key}.target.png", encode_png(target))
    tuned_meta = None
    if tuned is not None:
        from ..weights import save_generator

        jp = save_generator(folder / "tuned" / f"{key}~{time.time_ns():x}", tuned, arch, model_config,
                            train=dict(train or {}, tuned_from=Path(checkpoint).name, latent=key))
        tuned_meta = {"checkpoint": f"tuned/{jp.name}", "sha256": weights_sha256(jp)}
    step = max(1, len(history) // HISTORY_POINTS)
    meta = {"format": FORMAT, "key": key, "space": space, "shape": list(np.shape(latent)),
            "weights_sha256": weights_sha256(checkpoint), "latent_sha256": hashlib.sha256(data).hexdigest(),
            "source": source, "config": config, "best_step": best_step, "stopped": stopped,
            "seconds": round(seconds, 3), "final": final, "tuned": tuned_meta,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "history": [[h.phase, h.step, round(h.loss, 6), round(h.psnr, 3)] for h in history[::step]]}
    out = atomic_write_bytes(folder / f"{key}.json", json.dumps(meta, indent=1, sort_keys=True).encode())
    _drop_tuned(folder, key, keep=tuned_meta["checkpoint"] if tuned_meta else None)
    return out


def _drop_tuned(folder: Path, key: str, keep: str | None = None) -> None:
    """Remove KEY's tuned copies but the one KEY.json names (older projections under the same name)."""
    for p in (folder / "tuned").glob(f"{key}~*"):
        if keep is None or p.with_suffix(".json").name != Path(keep).name:
            p.unlink(missing_ok=True)


def _read(folder: Path, key: str, weights: str | None) -> Latent:
    """Latent `key` in folder; LatentError with a sentence otherwise. weights: the model's sha256, checked."""
    jp = folder / f"{key}.json"
    try:
        meta = json.loads(jp.read_text())
        data = (folder / f"{key}.npy").read_bytes()
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except FileNotFoundError:
        raise LatentError(f"There is no projected image {PREFIX}{key} beside this model; project it in the "
                          "Project tab (or pick one listed there).") from None
    except (OSError, ValueError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise LatentError(f"The projected image {PREFIX}{key} is damaged ({e}); project it again.") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("space") not in SPACES:
        raise LatentError(f"{jp.name} is not a projected latent this version can read; project the image again.")
    if array.dtype != np.float32 or list(array.shape) != meta.get("shape") or not np.isfinite(array).all():
        raise LatentError(f"The projected image {PREFIX}{key}'s latent does not match its description; project it "
                          "again.")
    if weights is not None and meta.get("weights_sha256") != weights:
        raise LatentError(f"{PREFIX}{key} was projected into other weights than this model's (it was retrained or "
                          "replaced since); project the image again.")
    tuned = None
    if meta.get("tuned"):
        tp = folder / str(meta["tuned"].get("checkpoint", ""))
        if tp.parent != folder / "tuned" or not tp.is_file() or not tp.with_suffix(".safetensors").is_file():
            raise LatentError(f"The tuned copy of the model that {PREFIX}{key} needs is missing; project it again.")
        tuned = str(tp)
    return Latent(key, meta["space"], array, hashlib.sha256(data).hexdigest(), tuned, meta)


def load(checkpoint: str | os.PathLike, text: str) -> Latent:
    """The projected latent named `text` ('@key' or 'key') beside the checkpoint."""
    try:
        key = parse_key(text)
    except ValueError as e:
        raise LatentError(str(e)) from None
    return _read(store_dir(checkpoint), key, weights_sha256(checkpoint))


def list_latents(checkpoint: str | os.PathLike) -> list[Latent]:
    """Every usable projection beside the checkpoint, newest first; broken or foreign ones are left out."""
    folder = store_dir(checkpoint)
    if not folder.is_dir():
        return []
    try:
        weights = weights_sha256(checkpoint)
    except OSError:
        return []
    out = []
    for jp in folder.glob("*.json"):
        if not KEY_RE.match(jp.stem):
            continue
        try:
            out.append(_read(folder, jp.stem, weights))
        except LatentError:
            continue
    return sorted(out, key=lambda lat: (str(lat.meta.get("created", "")), lat.key), reverse=True)


def delete(checkpoint: str | os.PathLike, text: str) -> bool:
    key = parse_key(text)
    folder = store_dir(checkpoint)
    found = (folder / f"{key}.json").exists()
    for name in (f"{key}.json", f"{key}.npy", f"{key}.target.png"):
        (folder / name).unlink(missing_ok=True)
    _drop_tuned(folder, key)
    return found


def fits(latent: Latent, G) -> None:
    """LatentError unless the latent's shape fits G."""
    want = {"w": [1, G.w_dim], "w+": [G.num_ws, G.w_dim], "z": [G.z_dim]}[latent.space]
    if list(latent.array.shape) != want:
        raise LatentError(f"{PREFIX}{latent.key} has shape {list(latent.array.shape)}, but this model's "
                          f"{latent.space} is {want}; it belongs to another model.")
