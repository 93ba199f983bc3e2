"""Tensor <-> picture conversions: [-1, 1] tensors to uint8, grids, PNGs that carry their recipe."""

from __future__ import annotations

import io
import json
import math
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, PngImagePlugin

RECIPE_KEY = "gan-explorer-recipe"  # PNG tEXt key holding the JSON that reproduces the image


def to_uint8(img: torch.Tensor) -> np.ndarray:
    """[N, C, H, W] float in [-1, 1] -> uint8 [N, H, W, C] (values outside are clipped)."""
    assert img.ndim == 4, f"expected [N, C, H, W], got {tuple(img.shape)}"
    x = (img.detach().float() * 127.5 + 128.0).clamp(0, 255).to(torch.uint8)
    return x.permute(0, 2, 3, 1).cpu().numpy()


def make_grid(images: np.ndarray, cols: int | None = None, pad: int = 2, pad_value: int = 0) -> np.ndarray:
    """uint8 [N, H, W, C] -> one uint8 [rows*(H+pad)+pad, cols*(W+pad)+pad, C] picture.

    cols=None picks a near-square layout. Grayscale stays one channel."""
    assert images.ndim == 4 and images.dtype == np.uint8, f"expected uint8 [N, H, W, C], got {images.shape}"
    n, h, w, c = images.shape
    if n == 0:
        raise ValueError("make_grid needs at least one image")
    cols = cols or math.ceil(math.sqrt(n))
    cols = max(1, min(cols, n))
    rows = math.ceil(n / cols)
    grid = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), pad_value, dtype=np.uint8)
    for i in range(n):
        r, k = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + k * (w + pad)
        grid[y:y + h, x:x + w] = images[i]
    return grid


def to_pil(picture: np.ndarray) -> Image.Image:
    """uint8 [H, W, C] with C in {1, 3} -> PIL image ("L" or "RGB")."""
    if picture.ndim == 3 and picture.shape[2] == 1:
        picture = picture[:, :, 0]
    return Image.fromarray(picture)


def encode_png(picture: np.ndarray, recipe: dict | None = None) -> bytes:
    """PNG bytes; `recipe` (JSON-serialisable) is embedded so the image can be reproduced later."""
    info = PngImagePlugin.PngInfo()
    if recipe is not None:
        info.add_text(RECIPE_KEY, json.dumps(recipe, sort_keys=True))
    buf = io.BytesIO()
    to_pil(picture).save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def read_recipe(png: bytes | str | os.PathLike) -> dict | None:
    """The recipe embedded by encode_png, or None when the PNG carries none."""
    src = io.BytesIO(png) if isinstance(png, (bytes, bytearray)) else png
    with Image.open(src) as im:
        text = im.text.get(RECIPE_KEY) if hasattr(im, "text") else None
    return json.loads(text) if text else None


def save_png(path: str | os.PathLike, picture: np.ndarray, recipe: dict | None = None) -> Path:
    """Write a PNG atomically (temp file + rename), so a watcher never reads half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(encode_png(picture, recipe))
    os.replace(tmp, path)
    return path
