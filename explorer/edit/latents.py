"""Seeds -> z, one RNG per seed, so an image depends on its seed alone, never on the batch."""

from __future__ import annotations

import re

import numpy as np
import torch

MAX_SEED = 2**32 - 1
_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


def parse_seeds(text: str, max_count: int = 64) -> list[int]:
    """"1-8, 42" -> [1, 2, ..., 8, 42]. Order kept, duplicates dropped; errors say what to type."""
    seeds: list[int] = []
    parts = [p for p in (text or "").replace(";", ",").split(",") if p.strip()]
    if not parts:
        raise ValueError("Type one or more seeds, e.g. 1-8, 42.")
    for part in parts:
        m = _RANGE.match(part)
        if not m:
            raise ValueError(f"{part.strip()!r} is not a seed or a range; type whole numbers like 1-8, 42.")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi < lo:
            raise ValueError(f"Range {part.strip()!r} runs backwards; write it as {hi}-{lo}.")
        if hi > MAX_SEED:
            raise ValueError(f"Seeds go from 0 to {MAX_SEED}; {hi} is too large.")
        if hi - lo + 1 > max_count:
            raise ValueError(f"{part.strip()!r} is {hi - lo + 1} seeds; at most {max_count} at once.")
        for s in range(lo, hi + 1):
            if s not in seeds:
                seeds.append(s)
        if len(seeds) > max_count:
            raise ValueError(f"That is more than {max_count} seeds; ask for fewer at once.")
    return seeds


def z_from_seed(seed: int, z_dim: int) -> torch.Tensor:
    """[z_dim] standard normal. The same draw as NVIDIA's generators use for a seed
    (np.random.RandomState(seed).randn), so seeds mean the same across tools."""
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be in [0, {MAX_SEED}], got {seed}")
    return torch.from_numpy(np.random.RandomState(seed).randn(z_dim).astype(np.float32))


def latents_for_seeds(seeds: list[int], z_dim: int) -> torch.Tensor:
    """[N, z_dim]."""
    return torch.stack([z_from_seed(s, z_dim) for s in seeds])
