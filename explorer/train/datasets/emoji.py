"""Colour emoji from Google's Noto Color Emoji font (SIL Open Font License 1.1), shipped with the project.

The default subset is three kinds of picture a person recognises at 32 px: yellow smiley and cat
faces, animals, and food with plants. Each is one codepoint (no skin-tone, gender or flag
sequences), one centred object on white, in its own colours. People, hands, symbols, clocks,
buildings and flags are left out: they are either one shape in many skin tones, grey line art,
text-like, or wide scenes, which make a small set less coherent. Every image carries a one-hot
category label (face, animal, food).

The glyphs ship with the project (builtin/noto-emoji.png, an atlas of each glyph's square exactly
as drawn, and builtin/noto-emoji.json, its index), so the data set works after `pip install -r
requirements.txt` alone, on a Space too, with no font installed. `python scripts/make_builtin_data.py`
draws them again from Debian's font (fonts-noto-color-emoji 2.042); tests/unit/test_emoji.py checks that
the atlas equals what the installed font draws.

Pillow draws the font's colour bitmaps (CBDT) only at their one strike size, 109 px, with
embedded_color=True. A codepoint the font lacks draws nothing at all, so such glyphs are found by
their empty alpha channel and left out (older font versions simply give fewer images). The same
font file and Pillow version give the same pixels.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from .base import DatasetError, ImageDataset, _to_tensor

FONT_PATH = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
FONT_SIZE = 109      # the font's only bitmap strike; Pillow refuses other sizes for it
MARGIN = 0.06        # white border on each side, as a fraction of the square's side
INSTALL = "apt-get install fonts-noto-color-emoji"
LICENCE = "Noto Color Emoji, SIL Open Font License 1.1, via Debian fonts-noto-color-emoji"
ATLAS = Path(__file__).resolve().parent / "builtin" / "noto-emoji.png"   # every glyph's square, in rows
INDEX = ATLAS.with_suffix(".json")                                       # [codepoint, category, x, y, side]
ATLAS_COLUMNS = 20
RESTORE = "git checkout -- explorer/train/datasets/builtin (or clone the project again)"

# (first, last) codepoint ranges, inclusive, per category; the ones the font lacks are skipped.
CATEGORIES: dict[str, tuple[tuple[int, int], ...]] = {
    "face": ((0x1F600, 0x1F637),    # grinning ... face with medical mask
             (0x1F638, 0x1F640),    # cat faces
             (0x1F641, 0x1F644),    # frowning ... rolling eyes
             (0x1F910, 0x1F917),    # zipper-mouth ... hugging (with the robot)
             (0x1F920, 0x1F925),    # cowboy ... lying
             (0x1F927, 0x1F92F),    # sneezing ... exploding head
             (0x1F970, 0x1F976),    # smiling with hearts ... cold
             (0x1F978, 0x1F97A)),   # disguised ... pleading
    "animal": ((0x1F400, 0x1F43C),  # rat ... panda
               (0x1F43F, 0x1F43F),  # chipmunk
               (0x1F980, 0x1F9AE)), # crab ... guide dog
    "food": ((0x1F330, 0x1F373),    # chestnut, plants, fruit, vegetables, dishes ... cooking
             (0x1F375, 0x1F37C),    # teacup ... baby bottle (not the grey cutlery at 1F374, 1F37D)
             (0x1F37E, 0x1F37F),    # champagne, popcorn
             (0x1F950, 0x1F96F),    # croissant ... bagel
             (0x1F9C0, 0x1F9CB)),   # cheese ... bubble tea
}


def emoji_codepoints() -> list[tuple[int, str]]:
    """(codepoint, category) for the default subset, in a fixed order."""
    return [(cp, cat) for cat, ranges in CATEGORIES.items() for lo, hi in ranges for cp in range(lo, hi + 1)]


def open_font(path: str | Path | None = None) -> ImageFont.FreeTypeFont:
    """The font at its bitmap size; DatasetError with the install command when it is missing (None: FONT_PATH)."""
    path = Path(path or FONT_PATH)
    if not path.is_file():
        raise DatasetError(f"The emoji dataset is drawn from the Noto Color Emoji font, which is not installed "
                           f"({path} is missing). Install it with: {INSTALL}")
    try:
        # A file object, not a path: given a path Pillow would fall back to a system font of the same name.
        # BASIC layout: one codepoint, one glyph, whether or not libraqm is installed.
        with open(path, "rb") as f:
            return ImageFont.truetype(f, FONT_SIZE, layout_engine=ImageFont.Layout.BASIC)
    except OSError as e:
        raise DatasetError(f"{path} cannot be read as the Noto Color Emoji font ({e}); reinstall it: "
                           f"apt-get install --reinstall fonts-noto-color-emoji") from None


def render_glyph(font: ImageFont.FreeTypeFont, cp: int) -> Image.Image | None:
    """The glyph on white, cropped to its bounding box and centred in a square with a margin
    (RGB, about 130 px); None when the font has no glyph for cp."""
    *_, right, bottom = font.getbbox(chr(cp))  # where the glyph ends when drawn at (0, 0)
    canvas = Image.new("RGBA", (right + 8, bottom + 8), (0, 0, 0, 0))  # with a little slack
    ImageDraw.Draw(canvas).text((0, 0), chr(cp), font=font, embedded_color=True)
    box = canvas.getchannel("A").getbbox()  # a missing glyph draws nothing: no box
    if box is None:
        return None
    glyph = canvas.crop(box)
    w, h = glyph.size
    side = round(max(w, h) / (1 - 2 * MARGIN))
    square = Image.new("RGBA", (side, side), (255, 255, 255, 255))
    square.alpha_composite(glyph, ((side - w) // 2, (side - h) // 2))
    return square.convert("RGB")


def font_glyphs(font_path: str | Path | None = None) -> list[tuple[int, str, Image.Image]]:
    """(codepoint, category, RGB square) for every listed glyph the font has, drawn from the font."""
    font = open_font(font_path)
    out = [(cp, cat, im) for cp, cat in emoji_codepoints() if (im := render_glyph(font, cp)) is not None]
    if not out:
        raise DatasetError(f"{font_path or FONT_PATH} drew none of the emoji; it is not the colour emoji font. "
                           f"Reinstall it: apt-get install --reinstall fonts-noto-color-emoji")
    return out


def write_atlas(glyphs: list[tuple[int, str, Image.Image]], atlas: Path = ATLAS, source: str = "") -> None:
    """The glyphs' squares side by side in rows of ATLAS_COLUMNS cells (as large as the largest square),
    a lossless PNG, and its index; each written to a temporary name, then renamed."""
    cell = max(im.size[0] for _, _, im in glyphs)
    rows = -(-len(glyphs) // ATLAS_COLUMNS)
    sheet = Image.new("RGB", (ATLAS_COLUMNS * cell, rows * cell), (255, 255, 255))
    index = []
    for i, (cp, cat, im) in enumerate(glyphs):
        x, y = (i % ATLAS_COLUMNS) * cell, (i // ATLAS_COLUMNS) * cell
        sheet.paste(im, (x, y))
        index.append([cp, cat, x, y, im.size[0]])
    atlas.parent.mkdir(parents=True, exist_ok=True)
    tmp = atlas.with_name(atlas.name + ".tmp")
    sheet.save(tmp, "PNG", optimize=True)
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    tmp.replace(atlas)
    head = {"source": source, "licence": LICENCE, "atlas_sha256": digest}
    rows = ",\n".join("  " + json.dumps(g) for g in index)  # one glyph a line: diffs stay readable
    tmp = atlas.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(head, indent=1)[:-2] + ',\n "glyphs": [\n' + rows + "\n ]\n}\n")
    tmp.replace(atlas.with_suffix(".json"))


def shipped_glyphs(atlas: Path | None = None) -> list[tuple[int, str, Image.Image]]:
    """(codepoint, category, RGB square) cut from the shipped atlas; DatasetError saying how to restore it."""
    atlas = Path(atlas or ATLAS)
    try:
        meta = json.loads(atlas.with_suffix(".json").read_text())
        data = atlas.read_bytes()
        if hashlib.sha256(data).hexdigest() != meta["atlas_sha256"]:
            raise ValueError("its checksum does not match its index")
        with Image.open(io.BytesIO(data)) as sheet:
            sheet = sheet.convert("RGB")
        return [(cp, cat, sheet.crop((x, y, x + side, y + side))) for cp, cat, x, y, side in meta["glyphs"]]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DatasetError(f"The emoji glyphs shipped with GAN Explorer ({atlas}) are missing or damaged "
                           f"({e}); restore them: {RESTORE}.") from None


def make_emoji(res: int, font_path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """uint8 [N, res, res, 3] images, float32 [N, 3] one-hot categories, the N codepoints drawn.
    From the shipped glyphs, or drawn from the font at font_path when one is given."""
    glyphs = font_glyphs(font_path) if font_path else shipped_glyphs()
    names = list(CATEGORIES)
    images = [np.asarray(im.resize((res, res), Image.LANCZOS), dtype=np.uint8) for _, _, im in glyphs]
    labels = [np.eye(len(names), dtype=np.float32)[names.index(cat)] for _, cat, _ in glyphs]
    return np.stack(images), np.stack(labels), [cp for cp, _, _ in glyphs]


def load_emoji(res: int = 32, channels: int = 3) -> ImageDataset:
    """The default emoji subset (faces, animals, food) drawn from Noto Color Emoji, one-hot category labels
    (and the category as each image's class, for conditional training)."""
    imgs, labels, _ = make_emoji(res)  # uint8 [N, H, W, 3], float32 [N, 3]
    t = _to_tensor([np.asarray(Image.fromarray(a).convert("L"))[:, :, None] for a in imgs] if channels == 1
                   else list(imgs))
    labels = torch.from_numpy(labels)
    return ImageDataset(t, "emoji", labels=labels, label_names=tuple(CATEGORIES), licence=LICENCE,
                        classes=labels.argmax(1), class_names=tuple(CATEGORIES))  # the category as a class
