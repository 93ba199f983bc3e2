"""A disk cache for data sets drawn by the project (the procedural faces): rendering is paid once per
machine, not at the start of every run.

Each entry is one uncompressed .npz under $GAN_EXPLORER_CACHE/datasets (default
~/.cache/gan-explorer/datasets, the folder the metrics cache their real-data features in too), named
by hashes of everything that changes its arrays: the renderer's version (for the faces: a constant,
the bytes of faces.py and Pillow's version, which draws the shapes) and the caller's parameters
(resolution, count, seed). Writing an entry deletes those of other renderer versions. The file
also stores that key, so a file is used only when its key, its array names, dtypes and shapes are the
ones asked for; anything else (a foreign file, a truncated one, a flipped byte: the zip CRC of every
member is checked on read) is ignored, rendered again and rewritten. Writes are atomic (fsutil); a
cache folder that cannot be written costs only the time to render, never the run."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

from ...fsutil import atomic_write_bytes

CACHE_ENV = "GAN_EXPLORER_CACHE"  # the project's cache folder (the metrics module reads the same variable)
KEY_FIELD = "cache_key"           # the .npz member holding the entry's key, as JSON text
MAX_ENTRY_BYTES = 2 << 30         # larger sets (5000 faces at 512 px is 3.9 GB) are rendered, not cached


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "gan-explorer") / "datasets"


def key_text(key: dict) -> str:
    return json.dumps(key, sort_keys=True, separators=(",", ":"))


def _digest(text: str, n: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def entry_path(name: str, renderer: str, params: dict) -> Path:
    """{name}-{renderer digest}-{params digest}.npz: the renderer's part lets a new renderer clear out
    the entries of the old ones."""
    return cache_root() / f"{name}-{_digest(renderer, 12)}-{_digest(key_text(params), 16)}.npz"


def _prune(name: str, renderer: str) -> None:
    """Delete the entries an older (or other) version of this renderer wrote: nothing can read them."""
    keep = f"{name}-{_digest(renderer, 12)}-"
    for p in cache_root().glob(f"{name}-*.npz"):
        if not p.name.startswith(keep):
            try:
                p.unlink()
            except OSError:
                pass


def read_entry(path: Path, key: dict, shapes: dict[str, tuple[tuple[int, ...], np.dtype]]) -> dict[str, np.ndarray] | None:
    """The arrays of a cache file, or None when it is missing or is not exactly the entry for `key`."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if set(f.files) != {KEY_FIELD, *shapes} or str(f[KEY_FIELD]) != key_text(key):
                return None
            out = {}
            for name, (shape, dtype) in shapes.items():
                a = f[name]  # reads the whole member: zipfile checks its CRC at the end
                if a.shape != shape or a.dtype != dtype:
                    return None
                out[name] = a
            return out
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):
        return None  # missing, unreadable, truncated or corrupt: render it again


def cached(name: str, renderer: str, params: dict, shapes: dict[str, tuple[tuple[int, ...], np.dtype]],
           make: Callable[[], dict[str, np.ndarray]]) -> tuple[dict[str, np.ndarray], str]:
    """(the arrays `make()` returns, from the cache when it holds the entry for this renderer version and
    these params, and how they came: "hit", "written", "unwritable" when rendered but the cache could
    not be written, or "too large" to cache). `shapes` is what the arrays must be: {array name: (shape, dtype)}."""
    key = {"renderer": renderer, **params}
    path = entry_path(name, renderer, params)
    hit = read_entry(path, key, shapes)
    if hit is not None:
        return hit, "hit"
    arrays = make()
    if sum(a.nbytes for a in arrays.values()) > MAX_ENTRY_BYTES:
        return arrays, "too large"
    buf = io.BytesIO()
    np.savez(buf, **{KEY_FIELD: np.array(key_text(key))}, **arrays)
    try:
        atomic_write_bytes(path, buf.getvalue())
    except OSError:  # read-only home, full disk, a file where the folder should be: the run goes on
        return arrays, "unwritable"
    _prune(name, renderer)
    return arrays, "written"
