"""Image recipes: everything that reproduces a rendered image, bit for bit on the same device.

A recipe names the model and the sha256 of its weights, the seeds and every control the image
depended on. It rides in the PNG's text chunk (explorer.images.encode_png) and downloads as JSON;
loading one restores the controls of the tab that made it. Validation here covers what needs no
model (types, ranges, the model being installed, its weights unchanged); each tab then checks the
model-specific lengths (style inputs, layers) when it restores the controls."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .. import limits
from ..models.classes import MAX_CLASSES
from .latents import KEY_RE, MAX_SEED, PREFIX

FORMAT = 1
TABS = ("generate", "progan", "stylegan", "edit", "interpolate")
NOISE_MODES = ("const", "random", "none")
PSI_RANGE = (limits.STYLE_PSI.lo, limits.STYLE_PSI.hi)  # the widest truncation slider of any tab
STRENGTH_RANGE = (limits.DIRECTION_STRENGTH.lo, limits.DIRECTION_STRENGTH.hi)  # direction strengths, standard deviations
MAX_RECIPE_BYTES = 1 << 20     # a recipe is a few KB; refuse anything larger before parsing it


class RecipeError(ValueError):
    """A recipe that cannot be used; the message says what is wrong and what to do."""


@dataclass
class DirectionUse:
    """One direction applied to the image."""

    name: str                         # as listed beside the model
    vector: list[float]               # the unit vector itself, so the image is reproducible without the file
    strength: float                   # in standard deviations
    std: float                        # latent units per standard deviation when it was applied
    layers: list[int] | None = None   # ws entries [lo, hi) it was applied to; None = all


@dataclass
class ImageRecipe:
    tab: str                                  # the tab that rendered it (one of TABS)
    model: str                                # the model's name in the model list
    sha256: str                               # of the model's .safetensors file
    seeds: list                               # the image's seeds (StyleGAN tab: [seed A, seed B]); "@key" for a
    #                                           projected image, whose latent file's sha256 is in `latents`
    truncation_psi: float = 1.0               # 1 = no truncation
    truncation_cutoff: int | None = None      # truncate only the first this many ws entries; None = all
    mix: list[float] | None = None            # per-ws-entry weight of seed B's style (StyleGAN tab)
    noise_mode: str = "const"                 # "const" | "random" | "none"
    noise_seed: int = 0                       # seed of random noise
    noise_strength: list[float] | None = None  # one per synthesis layer; None = all 1
    directions: list[DirectionUse] = field(default_factory=list)
    stage: int | None = None                  # ProGAN: the resolution stage shown
    alpha: float | None = None                # ProGAN: its fade-in alpha
    extra: dict = field(default_factory=dict)  # tab-specific controls (e.g. interpolation t and mode)
    latents: dict = field(default_factory=dict)  # "@key" -> sha256 of the projected latent (KEY.npy) it used
    classes: list[int] | None = None          # conditional models: each seed's class, in the order of seeds
    format: int = FORMAT

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


# ----------------------------------------------------------------------------- weights hash
_HASHES: dict[tuple, str] = {}
_HASH_LOCK = threading.Lock()


def weights_sha256(checkpoint: str | os.PathLike) -> str:
    """sha256 hex of the checkpoint's .safetensors file; cached by (path, size, mtime), so a
    render pays for hashing once per file version."""
    p = Path(checkpoint)
    p = p.with_suffix(".safetensors") if p.suffix in (".json", "") else p
    st = p.stat()
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    with _HASH_LOCK:
        if key in _HASHES:
            return _HASHES[key]
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    with _HASH_LOCK:
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


# ----------------------------------------------------------------------------- parsing and validation
def _num(d: dict, key: str, lo: float, hi: float, whole: bool = False, default=None):
    v = d.get(key, default)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise RecipeError(f"ImageRecipe field {key!r} must be a number; got {v!r}.")
    if whole and v != int(v):
        raise RecipeError(f"ImageRecipe field {key!r} must be a whole number; got {v!r}.")
    if not lo <= v <= hi:
        raise RecipeError(f"ImageRecipe field {key!r} = {v} is out of range; it goes from {lo:g} to {hi:g}.")
    return int(v) if whole else float(v)


def _numbers(d: dict, key: str, lo: float, hi: float, whole: bool = False, max_len: int = 4096) -> list | None:
    v = d.get(key)
    if v is None:
        return None
    if not isinstance(v, list) or len(v) > max_len:
        raise RecipeError(f"ImageRecipe field {key!r} must be a list of numbers.")
    return [_num({key: x}, key, lo, hi, whole) for x in v]


def from_dict(d) -> ImageRecipe:
    """A validated ImageRecipe from parsed JSON; RecipeError naming the first bad field otherwise."""
    if not isinstance(d, dict):
        raise RecipeError("A recipe is a JSON object; this file holds something else.")
    if d.get("format") != FORMAT:
        raise RecipeError(f"This is not a GAN Explorer recipe of format {FORMAT} (field 'format' is {d.get('format')!r}).")
    known = {f.name for f in dataclasses.fields(ImageRecipe)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise RecipeError(f"The recipe has fields this version does not know: {', '.join(unknown)}.")
    tab = d.get("tab")
    if tab not in TABS:
        raise RecipeError(f"ImageRecipe field 'tab' must be one of {', '.join(TABS)}; got {tab!r}.")
    model, sha = d.get("model"), d.get("sha256")
    if not isinstance(model, str) or not model:
        raise RecipeError("The recipe names no model (field 'model').")
    if len(model) > limits.NAME_CHARS:
        raise RecipeError(f"The recipe's model name is {len(model)} characters long; no model has a name that long.")
    if not isinstance(sha, str) or len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise RecipeError("ImageRecipe field 'sha256' must be 64 lowercase hex digits.")
    latents = d.get("latents", {})
    if not isinstance(latents, dict) or len(latents) > 64 or any(
            not isinstance(k, str) or not k.startswith(PREFIX) or not KEY_RE.match(k[len(PREFIX):])
            or not isinstance(v, str) or len(v) != 64 or any(c not in "0123456789abcdef" for c in v)
            for k, v in latents.items()):
        raise RecipeError("ImageRecipe field 'latents' must map projected images (\"@name\") to sha256 hex digests.")
    raw = d.get("seeds")
    if isinstance(raw, list) and len(raw) <= 64:
        named = [s for s in raw if isinstance(s, str)]
        for s in named:
            if s not in latents:
                raise RecipeError(f"The recipe's seed {s[:40]!r} is not a seed, nor a projected image it lists in "
                                  "'latents'.")
        seeds = [s if isinstance(s, str) else _num({"seeds": s}, "seeds", 0, MAX_SEED, whole=True) for s in raw]
    else:
        seeds = _numbers(d, "seeds", 0, MAX_SEED, whole=True, max_len=64)
    if not seeds:
        raise RecipeError("The recipe has no seeds (field 'seeds').")
    noise_mode = d.get("noise_mode", "const")
    if noise_mode not in NOISE_MODES:
        raise RecipeError(f"ImageRecipe field 'noise_mode' must be one of {', '.join(NOISE_MODES)}; got {noise_mode!r}.")
    dirs = d.get("directions", [])
    if not isinstance(dirs, list) or len(dirs) > 64:
        raise RecipeError("ImageRecipe field 'directions' must be a list.")
    uses = []
    for i, u in enumerate(dirs):
        if not isinstance(u, dict) or not isinstance(u.get("name"), str):
            raise RecipeError(f"Direction {i + 1} of the recipe has no name.")
        if not u["name"] or len(u["name"]) > limits.NAME_CHARS:
            raise RecipeError(f"Direction {i + 1} of the recipe needs a name of 1 to {limits.NAME_CHARS} characters.")
        vec = _numbers(u, "vector", -1.0, 1.0)
        if not vec:
            raise RecipeError(f"Direction {u['name']!r} of the recipe has no vector.")
        layers = _numbers(u, "layers", 0, 64, whole=True)
        if layers is not None and (len(layers) != 2 or layers[0] >= layers[1]):
            raise RecipeError(f"Direction {u['name']!r}: 'layers' must be [first, end) with first < end.")
        uses.append(DirectionUse(u["name"], vec, _num(u, "strength", *STRENGTH_RANGE),
                                 _num(u, "std", 0.0, 1e6), layers))
    extra = d.get("extra", {})
    if not isinstance(extra, dict):
        raise RecipeError("ImageRecipe field 'extra' must be an object.")
    classes = _numbers(d, "classes", 0, MAX_CLASSES - 1, whole=True, max_len=64)
    if classes is not None and len(classes) != len(seeds):
        raise RecipeError(f"ImageRecipe field 'classes' must give one class per seed ({len(seeds)}); "
                          f"it gives {len(classes)}.")
    return ImageRecipe(
        tab=tab, model=model, sha256=sha, seeds=seeds,
        truncation_psi=_num(d, "truncation_psi", *PSI_RANGE, default=1.0),
        truncation_cutoff=_num(d, "truncation_cutoff", 0, 64, whole=True),
        mix=_numbers(d, "mix", 0.0, 1.0), noise_mode=noise_mode,
        noise_seed=_num(d, "noise_seed", 0, MAX_SEED, whole=True, default=0),
        noise_strength=_numbers(d, "noise_strength", 0.0, 2.0), directions=uses,
        stage=_num(d, "stage", 0, 10, whole=True), alpha=_num(d, "alpha", 0.0, 1.0), extra=extra,
        latents=dict(latents), classes=classes)


def parse(data: bytes | str) -> ImageRecipe:
    """A ImageRecipe from a PNG (its text chunk) or JSON, as bytes or text."""
    if isinstance(data, str):
        data = data.encode()
    if len(data) > MAX_RECIPE_BYTES and not data.startswith(b"\x89PNG"):
        raise RecipeError("That file is too large to be a recipe; pick the recipe's .json or the image's .png.")
    if data.startswith(b"\x89PNG"):
        from ..images import read_recipe

        try:
            d = read_recipe(data)
        except (OSError, ValueError, RecursionError) as e:
            raise RecipeError(f"That PNG carries no readable recipe ({e}).") from None
        if d is None:
            raise RecipeError("That PNG carries no recipe; only images saved by GAN Explorer do.")
        return from_dict(d)
    try:
        d = json.loads(data.decode("utf-8"))
    except RecursionError:
        raise RecipeError("That JSON is nested too deeply to be a recipe; pick a recipe .json or a saved .png."
                          ) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RecipeError(f"That file is neither a PNG nor valid JSON ({e}); pick a recipe .json or a saved .png."
                          ) from None
    return from_dict(d)


def read(path: str | os.PathLike) -> ImageRecipe:
    p = Path(path)
    if p.stat().st_size > 50 * MAX_RECIPE_BYTES:
        raise RecipeError("That file is too large to be a recipe or a saved image.")
    return parse(p.read_bytes())


def check_model(r: ImageRecipe, path: str | None, tab: str) -> None:
    """RecipeError unless the recipe is for `tab`, its model is installed (path is its .json, None
    when not listed) and the weights are the ones it was made with."""
    if r.tab != tab:
        raise RecipeError(f"This recipe was made in the {r.tab.capitalize()} tab; load it there.")
    if path is None:
        raise RecipeError(f"The recipe needs model {r.model!r}, which is not installed here; put its .json and "
                          ".safetensors in the weights folder (or train it), then press Refresh list.")
    actual = weights_sha256(path)
    if actual != r.sha256:
        raise RecipeError(f"Model {r.model!r} here has different weights (sha256 {actual[:12]}…) from the ones "
                          f"the recipe was made with ({r.sha256[:12]}…), so the image would differ; "
                          "load the matching checkpoint.")

