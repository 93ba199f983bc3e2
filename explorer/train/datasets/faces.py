"""Procedural cartoon faces with ground-truth factor labels.

Stands in for a face dataset (none can be had offline) and, unlike one, says exactly
which factors made each image. The factors sit at three spatial scales so StyleGAN's
coarse/middle/fine layers have something to separate, and so we can measure whether
they do (GUIDE section 6). Pure numpy + Pillow; deterministic from integer seeds.
"""

from __future__ import annotations

import colorsys
import functools
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import PIL
import torch
from PIL import Image, ImageDraw

from . import render_cache
from .base import ImageDataset

MIN_RES, MAX_RES = 8, 1024
RENDER_VERSION = 1  # bump when the pixels change in a way the source hash below cannot see


@dataclass(frozen=True)
class Factor:
    name: str   # key in FACTORS and column name in the labels
    kind: str   # "binary" (0.0 or 1.0) or "continuous" (uniform in [0, 1])
    scale: str  # "coarse" (layout), "middle" (parts) or "fine" (colour, texture)
    doc: str    # what 0 and 1 mean, in one line


FACTORS: dict[str, Factor] = {
    "head_size": Factor("head_size", "continuous", "coarse", "head width, 48% → 64% of the frame"),
    "head_shape": Factor("head_shape", "continuous", "coarse", "round (0) → long oval (1)"),
    "pos_x": Factor("pos_x", "continuous", "coarse", "head centre shift, left (0) → right (1), ±6% of the frame"),
    "pos_y": Factor("pos_y", "continuous", "coarse", "head centre shift, up (0) → down (1), ±5% of the frame"),
    "tilt": Factor("tilt", "continuous", "coarse", "head rotation, -8° (0) → +8° (1), clockwise on screen"),
    "long_hair": Factor("long_hair", "binary", "coarse", "short cap with ears (0) vs long hair framing the face (1)"),
    "eyes_open": Factor("eyes_open", "binary", "middle", "closed eyelid curves (0) vs open white eyes with pupils (1)"),
    "eye_spacing": Factor("eye_spacing", "continuous", "middle", "distance between the eyes, close (0) → wide (1)"),
    "smile": Factor("smile", "binary", "middle", "frown (0) vs smile (1) mouth of about the same area"),
    "glasses": Factor("glasses", "binary", "middle", "no glasses (0) vs round dark-rimmed glasses (1)"),
    "skin_tone": Factor("skin_tone", "continuous", "fine", "skin colour, light (0) → dark (1)"),
    "hair_colour": Factor("hair_colour", "continuous", "fine", "hair palette black (0) → brown → blonde → red (1)"),
    "background_hue": Factor("background_hue", "continuous", "fine", "background hue, red (0) → magenta (1), no wrap"),
    "lighting": Factor("lighting", "continuous", "fine", "whole-image tint, warm (0) → neutral → cool (1)"),
    "freckles": Factor("freckles", "binary", "fine", "no freckles (0) vs cheek freckles placed by the texture seed (1)"),
}
FACTOR_NAMES: tuple[str, ...] = tuple(FACTORS)

# Palette stops, evenly spaced over [0, 1]. Skin gets darker in every channel at each stop,
# so brightness is monotone in skin_tone.
_SKIN = ((255, 228, 204), (236, 190, 152), (196, 136, 94), (128, 84, 56), (74, 48, 34))
_HAIR = ((26, 22, 20), (104, 62, 34), (228, 194, 118), (184, 64, 30))
_INK = (34, 30, 40)         # pupils, closed eyelids, glasses rims
_MOUTH = (150, 36, 48)
_EYE_WHITE = (250, 250, 246)


def sample_factors(seed: int) -> dict[str, float]:
    """The factors of one image: one Generator per seed, one uniform draw per factor in
    FACTOR_NAMES order, so every binary factor is fair and every continuous one uniform."""
    u = np.random.default_rng(seed).random(len(FACTORS))  # [F] in [0, 1)
    return {
        name: (float(x < 0.5) if FACTORS[name].kind == "binary" else float(x))
        for name, x in zip(FACTOR_NAMES, u)
    }


def _check_res(res: int) -> None:
    if not isinstance(res, (int, np.integer)) or not MIN_RES <= res <= MAX_RES:
        raise ValueError(f"res must be an integer from {MIN_RES} to {MAX_RES} pixels, got {res!r}")


def _palette(stops: tuple[tuple[int, int, int], ...], t: float) -> tuple[int, int, int]:
    """Piecewise-linear colour at t in [0, 1] along evenly spaced stops."""
    x = min(max(t, 0.0), 1.0) * (len(stops) - 1)
    i = min(int(x), len(stops) - 2)
    a, b, w = stops[i], stops[i + 1], x - i
    return tuple(round(ca + (cb - ca) * w) for ca, cb in zip(a, b))


def _shade(colour: tuple[int, int, int], k: float) -> tuple[int, int, int]:
    return tuple(round(c * k) for c in colour)


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float = 0.0, a1: float = 360.0,
         n: int = 40) -> np.ndarray:
    """Points on an ellipse from angle a0 to a1 (degrees, clockwise from 3 o'clock as in
    PIL, since y points down). Drawn as a polygon this is an ellipse, or a chord."""
    a = np.radians(np.linspace(a0, a1, n))
    return np.stack([cx + rx * np.cos(a), cy + ry * np.sin(a)], axis=1)  # [n, 2]


# The parts a face is drawn from, for dissection and segmentation: every drawn shape belongs to one.
# Ears and nose are skin; eyebrows are hair (they carry its colour); eyes are whites, pupils and lids.
PARTS: tuple[str, ...] = ("background", "skin", "hair", "eyes", "mouth", "glasses", "freckles")


class _Canvas:
    """Draws each shape on the picture and, when asked for, the id of its part on a label map of the
    same size, with the same geometry, so a part's mask is exactly where it was drawn (later shapes
    cover earlier ones on both)."""

    def __init__(self, size: int, bg: tuple[int, int, int], parts: bool):
        self.img = Image.new("RGB", (size, size), bg)
        self.draw = ImageDraw.Draw(self.img)
        self.labels = Image.new("L", (size, size), PARTS.index("background")) if parts else None
        self.label_draw = ImageDraw.Draw(self.labels) if parts else None

    def _shape(self, method: str, part: str, *args, fill, **kw) -> None:
        getattr(self.draw, method)(*args, fill=fill, **kw)
        if self.label_draw is not None:
            getattr(self.label_draw, method)(*args, fill=PARTS.index(part), **kw)

    def polygon(self, pts, fill, part: str) -> None:
        self._shape("polygon", part, pts, fill=fill)

    def line(self, pts, fill, part: str, **kw) -> None:
        self._shape("line", part, pts, fill=fill, **kw)

    def ellipse(self, box, fill, part: str) -> None:
        self._shape("ellipse", part, box, fill=fill)


def render_face(factors: dict[str, float], res: int, *, texture_seed: int = 0) -> np.ndarray:
    """One face as uint8 [res, res, 3]. texture_seed only places the freckles, so it is the
    image's stochastic variation: it changes pixels only when freckles = 1."""
    return _render(factors, res, texture_seed, parts=False)[0]


def render_face_parts(factors: dict[str, float], res: int, *,
                      texture_seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(the face uint8 [res, res, 3] exactly as render_face draws it, the share of each output pixel
    that each part covers, float32 [len(PARTS), res, res], summing to 1 over the parts)."""
    return _render(factors, res, texture_seed, parts=True)


def part_masks(coverage: np.ndarray, threshold: float = 0.5) -> dict[str, np.ndarray]:
    """Binary masks {part: bool [..., res, res]} from render_face_parts' coverage [..., P, res, res]:
    the pixels at least `threshold` covered by the part."""
    return {name: coverage[..., i, :, :] >= threshold for i, name in enumerate(PARTS)}


def _render(factors: dict[str, float], res: int, texture_seed: int, parts: bool) -> tuple[np.ndarray, np.ndarray | None]:
    _check_res(res)
    missing = [name for name in FACTOR_NAMES if name not in factors]
    if missing:
        raise ValueError(f"factors is missing {missing}; use sample_factors() for a full set")
    f = {name: float(factors[name]) for name in FACTOR_NAMES}

    # Draw at 4x (2x above 256 px, to bound memory) and box-filter down: exact area
    # anti-aliasing, and features thinner than an output pixel still leave a trace.
    ss = 4 if res <= 256 else 2
    size = res * ss
    # Hue stops at 0.85 so the factor does not wrap round to where it started.
    bg = tuple(round(255 * c) for c in colorsys.hsv_to_rgb(0.85 * f["background_hue"], 0.35, 0.9))
    draw = _Canvas(size, bg, parts)

    # Geometry in frame units ([0, 1] across the image), measured from the head.
    hw = 0.24 + 0.08 * f["head_size"]                 # head half-width
    hh = hw * (1.0 + 0.35 * f["head_shape"])          # head half-height: round → long
    cx = 0.5 + 0.12 * (f["pos_x"] - 0.5)
    cy = 0.53 + 0.10 * (f["pos_y"] - 0.5)
    angle = math.radians(8.0 * (2.0 * f["tilt"] - 1.0))
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    centre = np.array([cx, cy])

    def px(pts: np.ndarray) -> list[float]:
        # Tilt is a rotation of every point about the head centre, so no resampling pass
        # is needed and nothing outside the canvas is cut off.
        return (((pts - centre) @ rot.T + centre) * size).ravel().tolist()

    def width(w: float) -> int:
        return max(1, round(w * size))

    skin = _palette(_SKIN, f["skin_tone"])
    hair = _palette(_HAIR, f["hair_colour"])

    # Coarse: hair silhouette behind the head, then the head itself.
    if f["long_hair"] >= 0.5:
        top = _arc(cx, cy - 0.1 * hh, 1.3 * hw, 1.08 * hh, 180.0, 360.0)
        hem = np.array([[cx + 1.3 * hw, cy + 1.35 * hh], [cx - 1.3 * hw, cy + 1.35 * hh]])
        draw.polygon(px(np.concatenate([top, hem])), fill=hair, part="hair")
    else:
        draw.polygon(px(_arc(cx, cy - 0.12 * hh, 1.1 * hw, 0.98 * hh)), fill=hair, part="hair")
        for side in (-1.0, 1.0):  # ears show only when the hair is short
            ear = _arc(cx + side * hw, cy + 0.04 * hh, 0.13 * hw, 0.18 * hh, n=16)
            draw.polygon(px(ear), fill=_shade(skin, 0.92), part="skin")
    draw.polygon(px(_arc(cx, cy, hw, hh, n=64)), fill=skin, part="skin")
    draw.polygon(px(_arc(cx, cy, 1.03 * hw, 1.04 * hh, 204.0, 336.0)), fill=hair, part="hair")  # fringe

    # Middle and fine parts, in face-relative positions so they follow size and shape.
    ey, my = cy + 0.02 * hh, cy + 0.52 * hh
    dx = hw * (0.3 + 0.24 * f["eye_spacing"])
    nose = _arc(cx, cy + 0.26 * hh, 0.08 * hw, 0.1 * hh, n=16)
    draw.polygon(px(nose), fill=_shade(skin, 0.86), part="skin")

    if f["freckles"] >= 0.5:
        # Own stream, keyed apart from sample_factors' (which uses the bare seed).
        rng = np.random.default_rng([texture_seed, 0xF2EC])
        n_dots = 18
        side = np.where(np.arange(n_dots) % 2 == 0, -1.0, 1.0)
        fx = cx + side * hw * rng.uniform(0.22, 0.68, n_dots)
        fy = cy + hh * rng.uniform(0.16, 0.40, n_dots)
        centres = px(np.stack([fx, fy], axis=1))
        r = 0.05 * hw * size  # circles need no rotation, only their centres do
        for x, y in zip(centres[0::2], centres[1::2]):
            draw.ellipse((x - r, y - r, x + r, y + r), fill=_shade(skin, 0.62), part="freckles")

    for s in (-1.0, 1.0):
        ex = cx + s * dx
        if f["eyes_open"] >= 0.5:
            draw.polygon(px(_arc(ex, ey, 0.18 * hw, 0.21 * hw, n=24)), fill=_EYE_WHITE, part="eyes")
            draw.polygon(px(_arc(ex, ey + 0.02 * hw, 0.1 * hw, 0.11 * hw, n=16)), fill=_INK, part="eyes")
        else:
            lid = _arc(ex, ey, 0.18 * hw, 0.1 * hw, 10.0, 170.0, n=12)
            draw.line(px(lid), fill=_INK, part="eyes", width=width(0.07 * hw), joint="curve")
        # Eyebrows carry the hair colour into the middle of the face.
        brow = _arc(ex, ey - 0.33 * hw, 0.17 * hw, 0.06 * hw, 200.0, 340.0, n=8)
        draw.line(px(brow), fill=_shade(hair, 0.8), part="hair", width=width(0.06 * hw))

    if f["glasses"] >= 0.5:
        rim, r = width(0.06 * hw), 0.3 * hw
        for s in (-1.0, 1.0):
            draw.line(px(_arc(cx + s * dx, ey, r, r, n=32)), fill=_INK, part="glasses", width=rim, joint="curve")
            arm = np.array([[cx + s * (dx + r), ey], [cx + s * hw, ey - 0.05 * hh]])
            draw.line(px(arm), fill=_INK, part="glasses", width=rim)
        draw.line(px(np.array([[cx - dx + r, ey], [cx + dx - r, ey]])), fill=_INK, part="glasses", width=rim)

    # Smile and frown are the same crescent mirrored top to bottom over the same band:
    # they differ in shape only, not in ink or position.
    mw, mh = 0.4 * hw, 0.3 * hw
    if f["smile"] >= 0.5:
        y0, lo, hi = my - 0.12 * hw, 0.0, 180.0    # corners up, belly down
    else:
        y0, lo, hi = my + 0.18 * hw, 180.0, 360.0  # corners down, belly up
    mouth = np.concatenate([_arc(cx, y0, mw, mh, lo, hi, n=20), _arc(cx, y0, mw, 0.45 * mh, hi, lo, n=20)])
    draw.polygon(px(mouth), fill=_MOUTH, part="mouth")

    out = np.asarray(draw.img.resize((res, res), Image.BOX), dtype=np.float32)  # [res, res, 3]
    # Lighting: a per-channel gain over the whole image, red up/blue down when warm.
    k = 1.0 - 2.0 * f["lighting"]
    gain = np.array([1.0 + 0.12 * k, 1.0 + 0.02 * k, 1.0 - 0.12 * k], dtype=np.float32)
    picture = np.clip(out * gain + 0.5, 0, 255).astype(np.uint8)
    if not parts:
        return picture, None
    # The share of each output pixel's ss x ss supersamples drawn as each part: the same box filter.
    ids = np.asarray(draw.labels).reshape(res, ss, res, ss)  # [res, ss, res, ss]
    coverage = np.stack([(ids == i).mean(axis=(1, 3)) for i in range(len(PARTS))]).astype(np.float32)
    return picture, coverage  # [res, res, 3], [P, res, res]


def make_faces(n: int, res: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n faces and their labels: images uint8 [n, res, res, 3], labels float32 [n, F] in
    FACTOR_NAMES order. Image i comes from image seed `seed * 1_000_003 + i` (factors and
    texture both), so it is the same whatever n is and datasets of different seeds do
    not overlap for n < 1_000_003."""
    _check_res(res)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    images = np.empty((n, res, res, 3), dtype=np.uint8)
    labels = np.empty((n, len(FACTORS)), dtype=np.float32)
    for i in range(n):
        image_seed = seed * 1_000_003 + i
        factors = sample_factors(image_seed)
        images[i] = render_face(factors, res, texture_seed=image_seed)
        labels[i] = [factors[name] for name in FACTOR_NAMES]
    return images, labels


def make_face_parts(n: int, res: int, *, seed: int = 0) -> np.ndarray:
    """Each part's coverage of make_faces(n, res, seed=seed)'s images, index for index:
    float32 [n, len(PARTS), res, res] (see render_face_parts)."""
    _check_res(res)
    if n < 0 or seed < 0:
        raise ValueError(f"n and seed must be >= 0, got {n} and {seed}")
    out = np.empty((n, len(PARTS), res, res), dtype=np.float32)
    for i in range(n):
        image_seed = seed * 1_000_003 + i
        out[i] = render_face_parts(sample_factors(image_seed), res, texture_seed=image_seed)[1]
    return out


@functools.cache
def renderer_version() -> str:
    """What the pixels of make_faces depend on besides its arguments: RENDER_VERSION, this file's bytes
    (any edit re-renders once, rather than trusting someone to bump the constant) and Pillow's version."""
    try:
        source = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    except OSError:  # no source to read (a frozen install): the constant alone
        source = "nosource"
    return f"faces-v{RENDER_VERSION}-{source}-pillow{PIL.__version__}"


def cached_faces(n: int, res: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray, str]:
    """make_faces(n, res, seed=seed), rendered once per machine and then read from the disk cache
    (render_cache), plus how it came ("hit", "written", "unwritable", "too large")."""
    _check_res(res)
    shapes = {"images": ((n, res, res, 3), np.dtype(np.uint8)), "labels": ((n, len(FACTORS)), np.dtype(np.float32))}

    def render() -> dict[str, np.ndarray]:
        images, labels = make_faces(n, res, seed=seed)
        return {"images": images, "labels": labels}

    arrays, how = render_cache.cached("faces", renderer_version(), {"n": n, "res": res, "seed": seed}, shapes, render)
    return arrays["images"], arrays["labels"], how


def load_faces(res: int = 64, n: int = 5000, seed: int = 0, channels: int = 3) -> ImageDataset:
    """The project's procedural cartoon faces, with a ground-truth label per factor. Rendered once, then
    read from the cache (cached_faces): the RGB render is cached, and 1 channel is its luma, so both
    channel counts share an entry."""
    imgs, labels, _ = cached_faces(n, res, seed=seed)  # uint8 [N, H, W, 3], float32 [N, F]
    t = torch.from_numpy(imgs).permute(0, 3, 1, 2).contiguous()
    if channels == 1:  # ITU-R 601 luma
        luma = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        t = (t.float() * luma).sum(1, keepdim=True).round().clamp(0, 255).to(torch.uint8)
    return ImageDataset(t, "faces", labels=torch.from_numpy(labels), label_names=tuple(FACTOR_NAMES),
                        licence="procedural faces generated by GAN Explorer (same licence as the project)")
