"""The picture a person projects: read safely, centre-cropped, resized to the model's resolution.

Anything a user may upload is read here, and everything wrong with it is a TargetError sentence
that says what to do: not an image, a truncated file, a decompression bomb, a picture too thin to
crop, an animated file (its first frame is used, and a note says so)."""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

MAX_FILE_BYTES = 50 * 1024**2   # an upload larger than this is refused before it is decoded
MAX_PIXELS = 40_000_000         # width x height; larger is refused from the header (decompression bombs)
MIN_SIDE_PX = 8                 # the centre square must be at least this many pixels wide
PREVIEW_PX = 256                # the "crop shown" preview's longer side
FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")


class TargetError(ValueError):
    """An image that cannot be projected; str() is the sentence to show."""


@dataclass(frozen=True)
class Target:
    image: torch.Tensor       # [1, C, res, res] in [-1, 1]: what the projection matches
    picture: np.ndarray       # uint8 [res, res, C]: the same, as a picture
    preview: np.ndarray       # uint8 [h, w, 3]: the upload, with the square that was kept outlined
    sha256: str               # of the uploaded file's bytes
    size: tuple[int, int]     # the upload's (width, height) in pixels
    crop: tuple[int, int, int, int]  # (left, top, right, bottom) of the square kept, in upload pixels
    notes: tuple[str, ...]    # what was done that the user should know (first frame of an animation, ...)


def _read_bytes(source: bytes | str | os.PathLike) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        p = Path(source)
        try:
            if p.stat().st_size > MAX_FILE_BYTES:
                raise TargetError(f"That file is larger than {MAX_FILE_BYTES // 2**20} MB; save a smaller copy "
                                  "of the picture (any size above the model's resolution will do).")
            data = p.read_bytes()
        except FileNotFoundError:
            raise TargetError(f"{p} does not exist; pick a PNG, JPEG or WebP picture.") from None
        except IsADirectoryError:
            raise TargetError(f"{p} is a folder; pick a PNG, JPEG or WebP picture in it.") from None
    if len(data) > MAX_FILE_BYTES:
        raise TargetError(f"That file is larger than {MAX_FILE_BYTES // 2**20} MB; save a smaller copy of the "
                          "picture.")
    if not data:
        raise TargetError("That file is empty; pick a PNG, JPEG or WebP picture.")
    return data


def _open(data: bytes) -> tuple[Image.Image, list[str]]:
    notes = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data), formats=FORMATS)
        except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise TargetError("That file is not a picture this app can read (or claims an enormous size); "
                              "pick a PNG, JPEG or WebP picture.") from None
        except (OSError, ValueError, SyntaxError) as e:
            raise TargetError(f"That picture cannot be read ({e}); save it again as PNG or JPEG.") from None
        w, h = img.size
        if w * h > MAX_PIXELS:
            raise TargetError(f"That picture is {w} × {h} pixels, more than {MAX_PIXELS // 10**6} megapixels; "
                              "save a smaller copy (a few hundred pixels a side is plenty).")
        if getattr(img, "n_frames", 1) > 1:
            notes.append(f"It is animated ({img.n_frames} frames); its first frame is projected.")
            img.seek(0)
        try:
            img.load()
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise TargetError(f"That picture is damaged or cut short ({e}); save it again as PNG or JPEG.") from None
    try:
        img = ImageOps.exif_transpose(img)  # a phone photo as it is shown, not as its sensor stored it
    except (OSError, ValueError, SyntaxError):
        pass
    return img, notes


def _flatten(img: Image.Image) -> Image.Image:
    """Any mode -> RGB, transparent parts onto white."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(img, dtype=np.float64)
        lo, hi = float(a.min()), float(a.max())
        a = (a - lo) / (hi - lo) * 255 if hi > lo else np.zeros_like(a)
        return Image.fromarray(a.round().astype(np.uint8)).convert("RGB")
    return img.convert("RGB")


def load_target(source: bytes | str | os.PathLike, res: int, channels: int) -> Target:
    """The upload (bytes or a path) as the model's input: RGBA onto white, centre square, a Lanczos
    resize to res x res, RGB or grayscale to match `channels` (1 or 3)."""
    if channels not in (1, 3):
        raise TargetError(f"Models with {channels} channels cannot be projected into; 1 (gray) or 3 (RGB) can.")
    data = _read_bytes(source)
    img, notes = _open(data)
    rgb = _flatten(img)
    w, h = rgb.size
    side = min(w, h)
    if side < MIN_SIDE_PX:
        raise TargetError(f"That picture is {w} × {h} pixels: its centre square would be {side} pixel"
                          f"{'s' if side != 1 else ''} wide. Use a picture at least {MIN_SIDE_PX} pixels on each "
                          "side, roughly square.")
    left, top = (w - side) // 2, (h - side) // 2
    crop = (left, top, left + side, top + side)
    square = rgb.crop(crop).resize((res, res), Image.LANCZOS, reducing_gap=3.0)
    if channels == 1:
        square = square.convert("L")
    arr = np.asarray(square, dtype=np.uint8)
    arr = arr[:, :, None] if arr.ndim == 2 else arr                        # [res, res, C]
    image = torch.from_numpy(arr.astype(np.float32)).permute(2, 0, 1)[None] / 127.5 - 1.0  # [1, C, res, res]
    if w != h:
        notes.append(f"It is {w} × {h} pixels; the centre {side} × {side} square is used.")
    return Target(image, arr, _preview(rgb, crop), hashlib.sha256(data).hexdigest(), (w, h), crop, tuple(notes))


def _preview(rgb: Image.Image, crop: tuple[int, int, int, int]) -> np.ndarray:
    """The upload at most PREVIEW_PX a side, outside the kept square dimmed, the square outlined."""
    w, h = rgb.size
    scale = min(1.0, PREVIEW_PX / max(w, h))
    pw, ph = max(1, round(w * scale)), max(1, round(h * scale))
    small = rgb.resize((pw, ph), Image.BILINEAR) if scale < 1 else rgb.copy()
    box = tuple(round(v * scale) for v in crop)
    dim = Image.blend(small, Image.new("RGB", small.size, (0, 0, 0)), 0.55)
    dim.paste(small.crop(box), box[:2])
    ImageDraw.Draw(dim).rectangle([box[0], box[1], box[2] - 1, box[3] - 1], outline=(255, 200, 0),
                                  width=max(1, min(pw, ph) // 64))
    return np.asarray(dim, dtype=np.uint8)
