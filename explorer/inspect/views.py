"""Pictures of one layer's feature maps [C, h, w] (float), as uint8 arrays for the page.

Each view says its scale: a picture normalises its values to 0..255 and returns the range it mapped,
so the tab can write it next to the picture."""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image, ImageDraw

from ..render.style import heat_colours


def _normalise(x: np.ndarray) -> tuple[np.ndarray, float, float]:
    lo, hi = float(x.min()), float(x.max())
    return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x), lo, hi


def channel_grid(act: torch.Tensor, cols: int | None = None, pad: int = 1) -> tuple[np.ndarray, str]:
    """Every channel as a grey tile, each normalised to its own min..max (so a weak unit is still
    seen); uint8 [rows*(h+pad)-pad, cols*(w+pad)-pad] and the scale in words."""
    assert act.ndim == 3, f"expected [C, h, w], got {tuple(act.shape)}"
    a = act.float().cpu().numpy()
    c, h, w = a.shape
    lo = a.reshape(c, -1).min(1)[:, None, None]
    hi = a.reshape(c, -1).max(1)[:, None, None]
    tiles = np.where(hi > lo, (a - lo) / np.where(hi > lo, hi - lo, 1), 0.0)   # [C, h, w] in [0, 1]
    cols = cols or math.ceil(math.sqrt(c))
    rows = math.ceil(c / cols)
    out = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad), 40, dtype=np.uint8)
    for i in range(c):
        r, q = divmod(i, cols)
        out[r * (h + pad):r * (h + pad) + h, q * (w + pad):q * (w + pad) + w] = np.round(tiles[i] * 255)
    span = hi.ravel() - lo.ravel()
    return out, (f"{c} channels, each scaled from its own min to max (black to white); "
                 f"ranges span {span.min():.3g} to {span.max():.3g}")


def one_channel(act: torch.Tensor, channel: int) -> tuple[np.ndarray, str]:
    """One channel as a heat map, uint8 [h, w, 3], and its range."""
    if not 0 <= channel < act.shape[0]:
        raise ValueError(f"channel must be in 0..{act.shape[0] - 1}, got {channel}")
    t, lo, hi = _normalise(act[channel].float().cpu().numpy())
    return heat_colours(t), f"channel {channel}: {lo:.3g} (dark) to {hi:.3g} (bright)"


def mean_abs(act: torch.Tensor) -> tuple[np.ndarray, str]:
    """Mean over channels of |activation|, uint8 [h, w, 3] heat map, and its range."""
    t, lo, hi = _normalise(act.float().abs().mean(0).cpu().numpy())
    return heat_colours(t), f"mean |activation| over {act.shape[0]} channels: {lo:.3g} to {hi:.3g}"


def pca_rgb(act: torch.Tensor) -> tuple[np.ndarray, str]:
    """The first three principal components over channels of the feature vectors at each pixel, as R, G
    and B (each scaled to its own range), uint8 [h, w, 3], and the share of variance they explain."""
    c, h, w = act.shape
    x = act.float().reshape(c, -1).T.cpu()                    # [h*w, C]
    x = x - x.mean(0, keepdim=True)
    k = min(3, c, x.shape[0])
    _, s, v = torch.linalg.svd(x, full_matrices=False)         # principal axes in v's rows
    proj = (x @ v[:k].T).numpy()                               # [h*w, k]
    rgb = np.zeros((h * w, 3), dtype=np.float64)
    for i in range(k):
        rgb[:, i] = _normalise(proj[:, i])[0]
    var = (s**2).numpy()
    share = float(var[:k].sum() / var.sum()) if var.sum() > 0 else 0.0
    return (np.round(rgb.reshape(h, w, 3) * 255)).astype(np.uint8), \
        f"first {k} principal components over channels as R, G, B: {share:.0%} of the variance"


def spectrum_db(x: torch.Tensor) -> np.ndarray:
    """2-D amplitude spectrum in dB of maps [C, h, w] (features, or an image's channels), averaged over
    channels after removing each one's mean: float64 [h, w], zero frequency at the centre
    (row h//2, column w//2), 20 log10 |F| relative to the strongest component (0 dB)."""
    assert x.ndim == 3, f"expected [C, h, w], got {tuple(x.shape)}"
    a = x.double().cpu()
    a = a - a.mean(dim=(1, 2), keepdim=True)
    amp = torch.fft.fftshift(torch.fft.fft2(a).abs(), dim=(-2, -1)).mean(0).numpy()  # [h, w]
    peak = amp.max()
    return 20 * np.log10(np.maximum(amp, 1e-12) / peak) if peak > 0 else np.full(amp.shape, -120.0)


def spectrum_picture(db: np.ndarray, floor_db: float = -60.0, px: int = 256) -> tuple[np.ndarray, str]:
    """The spectrum as a heat map enlarged (nearest) to about px, with its frequency axes drawn and
    labelled in cycles per pixel (-0.5 at the left and top edges, 0 at the centre, +0.5 at the right and
    bottom), uint8 [H, W, 3]; and the scale in words."""
    h, w = db.shape
    t = np.clip((db - floor_db) / -floor_db, 0, 1)
    k = max(1, px // max(h, w))
    heat = heat_colours(t).repeat(k, 0).repeat(k, 1)                  # [h*k, w*k, 3]
    margin = 22
    canvas = Image.new("RGB", (heat.shape[1] + margin, heat.shape[0] + margin), (255, 255, 255))
    canvas.paste(Image.fromarray(heat), (margin, 0))
    d = ImageDraw.Draw(canvas)
    H, W = heat.shape[:2]
    for frac, text in ((0.0, "-0.5"), (0.5, "0"), (1.0, "+0.5")):
        x = margin + min(int(frac * W), W - 1)
        d.line([(x, H), (x, H + 4)], fill=(0, 0, 0))
        d.text((min(max(x - 8, margin), margin + W - 24), H + 6), text, fill=(0, 0, 0))
        y = min(int(frac * H), H - 1)
        d.line([(margin - 4, y), (margin, y)], fill=(0, 0, 0))
        d.text((0, min(max(y - 5, 0), H - 10)), text, fill=(0, 0, 0))
    return np.asarray(canvas), (f"amplitude spectrum, {floor_db:.0f} dB (dark) to 0 dB (bright, the strongest "
                                "component); axes: horizontal and vertical frequency in cycles per pixel, "
                                "zero at the centre")
