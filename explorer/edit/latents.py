"""Seeds -> z, one RNG per seed, so an image depends on its seed alone, never on the batch."""

from __future__ import annotations

import re

import numpy as np
import torch

from .. import limits

MAX_SEED = 2**32 - 1
_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$", re.ASCII)
PREFIX = "@"  # a projected image where seeds are typed: "0, @my-cat, 5" (explorer/project/store.py)
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")  # a projected image's name (file-safe)
Source = int | str  # a seed, or "@key": a projected latent beside the model


def _short(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit - 1] + "…")


def parse_seeds(text: str, max_count: int = 64, what: str = "seeds", repeats: bool = False) -> list[int]:
    """"1-8, 42" -> [1, 2, ..., 8, 42]. Order kept, duplicates dropped (kept with repeats=True, for
    paths such as "0, 5, 9, 0" that come back to where they began); errors say what to type. More
    than max_count seeds (distinct ones, unless repeats) is refused before any is listed: "Too many
    {what}: at most {max_count} at once; you asked for N." (what: e.g. "images per grid")."""
    text = text or ""
    if len(text) > limits.SEEDS_TEXT_CHARS:
        raise ValueError(f"That seed list is {len(text)} characters long; at most {limits.SEEDS_TEXT_CHARS}. "
                         "Use ranges, e.g. 0-63.")
    spans: list[tuple[int, int]] = []
    for part in (p for p in text.replace(";", ",").split(",") if p.strip()):
        m = _RANGE.match(part)
        if not m:
            raise ValueError(f"{_short(part.strip())} is not a seed or a range; type whole numbers like 1-8, 42.")
        if max(len(g.lstrip("0")) for g in m.groups() if g is not None) > len(str(MAX_SEED)):
            raise ValueError(f"Seeds go from 0 to {MAX_SEED}; {_short(part.strip())} is too large.")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi < lo:
            raise ValueError(f"Range {_short(part.strip())} runs backwards; write it as {hi}-{lo}.")
        if hi > MAX_SEED:
            raise ValueError(f"Seeds go from 0 to {MAX_SEED}; {hi} is too large.")
        spans.append((lo, hi))
    if not spans:
        raise ValueError("Type one or more seeds, e.g. 1-8, 42.")
    if repeats:
        asked = sum(hi - lo + 1 for lo, hi in spans)
    else:
        asked, end = 0, -1  # distinct seeds in the union of the ranges
        for lo, hi in sorted(spans):
            asked += max(0, hi - max(lo, end + 1) + 1)
            end = max(end, hi)
    if asked > max_count:
        raise ValueError(f"Too many {what}: at most {max_count} at once; you asked for {asked}.")
    listed = (s for lo, hi in spans for s in range(lo, hi + 1))
    return list(listed) if repeats else list(dict.fromkeys(listed))


def parse_sources(text: str, max_count: int = 64, what: str = "seeds", repeats: bool = False) -> list[Source]:
    """parse_seeds, where an entry may also name a projected image: "0-3, @my-cat" -> [0, 1, 2, 3, "@my-cat"].
    Whether the name exists beside the model is checked when it is rendered."""
    parts = [p.strip() for p in (text or "").replace(";", ",").split(",")]
    if not any(p.startswith(PREFIX) for p in parts):
        return parse_seeds(text, max_count, what, repeats)
    if len(text) > limits.SEEDS_TEXT_CHARS:
        raise ValueError(f"That seed list is {len(text)} characters long; at most {limits.SEEDS_TEXT_CHARS}.")
    out: list[Source] = []
    for part in (p for p in parts if p):
        if part.startswith(PREFIX):
            key = part[len(PREFIX):].strip().lower()
            if not KEY_RE.match(key):
                raise ValueError(f"{_short(part)} is not the name of a projected image; names are lowercase "
                                 "letters, digits, - and _, as the Project tab lists them.")
            out.append(PREFIX + key)
        else:
            out += parse_seeds(part, max_count, what, True)
    if not repeats:
        out = list(dict.fromkeys(out))
    if len(out) > max_count:
        raise ValueError(f"Too many {what}: at most {max_count} at once; you asked for {len(out)}.")
    return out


def z_from_seed(seed: int, z_dim: int) -> torch.Tensor:
    """[z_dim] standard normal. The same draw as NVIDIA's generators use for a seed
    (np.random.RandomState(seed).randn), so seeds mean the same across tools."""
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be in [0, {MAX_SEED}], got {seed}")
    return torch.from_numpy(np.random.RandomState(seed).randn(z_dim).astype(np.float32))


def latents_for_seeds(seeds: list[int], z_dim: int) -> torch.Tensor:
    """[N, z_dim]."""
    return torch.stack([z_from_seed(s, z_dim) for s in seeds])
