"""Render a playground Snapshot to a PIL RGB image with numpy and Pillow only.

Layout: a square plot of the plane (size x size pixels, y up) above a legend strip of
legend_height(size) pixels that writes the colour scale's range, what the colours and marks
mean, and the step counts. Layers, bottom to top: D's heat map, G's mesh, real points, fake
points, the gradient arrows. Colours follow GAN Lab's convention: green is "real", purple "fake".
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont, features

from .train import Snapshot

REAL_RGB = (0, 120, 50)       # real points, and the "real" end of the colour scale
FAKE_RGB = (125, 40, 170)     # fake points, and the "fake" end of the colour scale
ARROW_RGB = (25, 25, 25)      # gradient arrows
MESH_RGB = (175, 140, 205)    # G's image of the latent grid
ARROW_SCALE = 0.15            # arrow length in plane units per unit of gradient norm
ARROW_MAX = 0.3               # longest arrow, plane units (longer gradients are drawn at this length)


def legend_height(size: int) -> int:
    """Height in pixels of the legend strip under a plot of `size` pixels."""
    return max(28, size // 12)


def image_size(size: int) -> tuple[int, int]:
    """(width, height) of draw(snapshot, size)."""
    return size, size + legend_height(size)


def plane_to_pixel(xy: np.ndarray, size: int, extent: float) -> np.ndarray:
    """Plane points [N, 2] -> pixel coordinates [N, 2] (x right, y down) in the plot area."""
    xy = np.asarray(xy, dtype=np.float64)
    px = (xy[:, 0] + extent) / (2 * extent) * size
    py = (extent - xy[:, 1]) / (2 * extent) * size
    return np.stack([px, py], 1)


def pixel_to_plane(px: float, py: float, size: int, extent: float) -> tuple[float, float]:
    """A click at pixel (px, py) of the plot area (y down) -> the plane point (x, y) under it."""
    return px / size * 2 * extent - extent, extent - py / size * 2 * extent


def _lut() -> np.ndarray:
    """256 colours [256, 3] uint8 from fake (purple, 0) through white (0.5) to real (green, 1)."""
    t = np.linspace(0, 1, 256)[:, None]
    fake, white, real = np.array(FAKE_RGB, float), np.array([250.0, 250, 250]), np.array(REAL_RGB, float)
    lo = white + (fake - white) * np.clip(1 - 2 * t, 0, 1) * 0.75   # pale ends keep the points readable
    hi = white + (real - white) * np.clip(2 * t - 1, 0, 1) * 0.75
    return np.where(t < 0.5, lo, hi).round().astype(np.uint8)


LUT = _lut()


@lru_cache(maxsize=8)
def _font(px: int) -> ImageFont.ImageFont:
    if features.check("freetype2"):
        return ImageFont.load_default(size=px)
    return ImageFont.load_default()


def heat_rgb(heat: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """[R, R] values (row 0 = bottom) -> uint8 [R, R, 3] (row 0 = top), lo -> purple, hi -> green."""
    span = hi - lo if hi > lo else 1.0
    idx = np.clip((heat - lo) / span * 255.0, 0, 255).astype(np.uint8)
    return LUT[idx[::-1]]


def _stamp(canvas: np.ndarray, pix: np.ndarray, rgb: tuple, radius: int) -> None:
    """Draw filled disks of `radius` pixels at pix [N, 2] into canvas [H, W, 3] in place."""
    h, w = canvas.shape[:2]
    r = np.arange(-radius, radius + 1)
    dy, dx = np.meshgrid(r, r, indexing="ij")
    keep = dx ** 2 + dy ** 2 <= radius ** 2 + radius
    dx, dy = dx[keep], dy[keep]                                     # [S] disk offsets
    c = np.floor(pix).astype(np.int64)
    xs = (c[:, :1] + dx[None]).ravel()
    ys = (c[:, 1:] + dy[None]).ravel()
    ok = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
    canvas[ys[ok], xs[ok]] = rgb


def draw(snap: Snapshot, size: int = 480, *, heat: bool = True, real: bool = True, fake: bool = True,
         arrows: bool = True, mesh: bool = True, max_arrows: int = 256) -> Image.Image:
    """The snapshot's view as an RGB image of image_size(size). Each keyword turns one layer on or off;
    arrows are drawn for the first `max_arrows` fakes (the same points every frame)."""
    if size < 64:
        raise ValueError(f"The view needs at least 64 pixels, got {size}.")
    e = snap.extent
    lo, hi = snap.heat_range
    if heat:
        plot = Image.fromarray(heat_rgb(snap.heat, lo, hi)).resize((size, size), Image.BILINEAR)
    else:
        plot = Image.new("RGB", (size, size), (250, 250, 250))
    pen = ImageDraw.Draw(plot)

    # G's mesh: the image of each latent grid line (a 1-D latent has one line).
    if mesh:
        grid = plane_to_pixel(snap.mesh.reshape(-1, 2), size, e).reshape(snap.mesh.shape)  # [A, B, 2]
        lines = list(grid) + (list(grid.transpose(1, 0, 2)) if grid.shape[0] > 1 else [])
        for line in lines:
            pen.line([tuple(p) for p in line], fill=MESH_RGB, width=1)

    canvas = np.asarray(plot).copy()                                  # [size, size, 3]
    radius = max(1, round(size / 320))
    if real:
        _stamp(canvas, plane_to_pixel(snap.real, size, e), REAL_RGB, radius)
    fake_pix = plane_to_pixel(snap.fake, size, e)
    if fake:
        _stamp(canvas, fake_pix, FAKE_RGB, radius)
    plot = Image.fromarray(canvas)
    pen = ImageDraw.Draw(plot)

    # Arrows: where G's loss pushes each fake point, length ARROW_SCALE per unit gradient.
    if arrows and len(snap.fake):
        g = snap.fake_grad[:max_arrows].astype(np.float64)          # [K, 2] plane units
        norm = np.linalg.norm(g, axis=1, keepdims=True)
        g = g * np.minimum(ARROW_SCALE, ARROW_MAX / np.maximum(norm, 1e-12))
        start = fake_pix[:max_arrows]
        vec = g * np.array([size / (2 * e), -size / (2 * e)])        # plane -> pixels, y flipped
        length = np.linalg.norm(vec, axis=1)
        head = np.minimum(6.0, 0.4 * length)[:, None]
        unit = vec / np.maximum(length, 1e-12)[:, None]
        end = start + vec
        cos, sin = np.cos(0.45), np.sin(0.45)
        back = -unit
        left = end + head * np.stack([back[:, 0] * cos - back[:, 1] * sin, back[:, 0] * sin + back[:, 1] * cos], 1)
        right = end + head * np.stack([back[:, 0] * cos + back[:, 1] * sin, -back[:, 0] * sin + back[:, 1] * cos], 1)
        for i in np.flatnonzero(length >= 1.5):
            pen.line([tuple(start[i]), tuple(end[i])], fill=ARROW_RGB, width=1)
            pen.line([tuple(left[i]), tuple(end[i]), tuple(right[i])], fill=ARROW_RGB, width=1)

    out = Image.new("RGB", image_size(size), (255, 255, 255))
    out.paste(plot, (0, 0))
    _legend(out, snap, size, lo, hi)
    return out


def _legend(img: Image.Image, snap: Snapshot, size: int, lo: float, hi: float) -> None:
    """Two rows under the plot: the colour scale with its range and the marks; then the counters."""
    lh = legend_height(size)
    pen = ImageDraw.Draw(img)
    font = _font(max(8, int(lh * 0.3)))
    pad = max(2, lh // 12)
    rows = (size + lh // 4, size + 3 * lh // 4)              # vertical centres of the two rows
    ink = (30, 30, 30)

    def text(x: int, y: int, s: str, fill=ink) -> int:
        pen.text((x, y), s, fill=fill, font=font, anchor="lm")
        return x + int(pen.textlength(s, font=font)) + pad

    y = rows[0]
    x = text(pad, y, "D(x) = P(real)" if snap.heat_kind == "probability" else "critic D(x)")
    x = text(x, y, f"{lo:.3g}", FAKE_RGB)
    bar_w, bar_h = max(32, size // 6), max(6, lh // 3)
    bar = LUT[np.linspace(0, 255, bar_w).astype(np.uint8)][None].repeat(bar_h, 0)  # [bar_h, bar_w, 3]
    img.paste(Image.fromarray(np.ascontiguousarray(bar)), (x, y - bar_h // 2))
    x = text(x + bar_w + pad, y, f"{hi:.3g}", REAL_RGB) + 2 * pad
    r = max(2, lh // 12)
    for label, fill in (("real", REAL_RGB), ("fake", FAKE_RGB)):
        pen.ellipse([x, y - r, x + 2 * r, y + r], fill=fill)
        x = text(x + 2 * r + pad, y, label) + pad
    a = 4 * r
    pen.line([(x, y), (x + a, y)], fill=ARROW_RGB, width=1)
    pen.line([(x + a - r - 1, y - r), (x + a, y), (x + a - r - 1, y + r)], fill=ARROW_RGB, width=1)
    text(x + a + pad, y, f"gradient x{ARROW_SCALE:g}")

    line = f"D steps {snap.d_steps}   G steps {snap.g_steps}   JS {snap.js_bits:.3f} bit"
    if snap.coverage is not None:
        line += f"   modes {snap.coverage['covered']}/{snap.coverage['modes']}"
    if snap.phase:
        line += f"   [{snap.phase}]"
    text(pad, rows[1], line)
