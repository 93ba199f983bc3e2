"""Per-layer style mixing: blend two ws layer by layer, and the coarse/middle/fine presets."""

from __future__ import annotations

import torch

# Karras et al. 2019, Sec. 3.1 / Fig. 3: coarse styles act at 4^2-8^2, middle at 16^2-32^2, fine at 64^2+.
PRESET_RANGES = {"Coarse": (4, 8), "Middle": (16, 32), "Fine": (64, 1 << 20)}
PRESETS = ("None", "Coarse", "Middle", "Fine", "All")


def preset_weights(name: str, ws_resolutions: list[int]) -> list[float]:
    """Per-layer mix weights for a preset: 1 = take B's style at that layer, 0 = keep A's."""
    if name == "None":
        return [0.0] * len(ws_resolutions)
    if name == "All":
        return [1.0] * len(ws_resolutions)
    if name not in PRESET_RANGES:
        raise ValueError(f"Unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    lo, hi = PRESET_RANGES[name]
    return [1.0 if lo <= r <= hi else 0.0 for r in ws_resolutions]


def preset_span(name: str, ws_resolutions: list[int]) -> tuple[int, int] | None:
    """The ws entries [lo, hi) a Coarse / Middle / Fine preset covers (resolutions only grow along ws,
    so they are contiguous), or None where this model has no layer at those resolutions."""
    lo, hi = PRESET_RANGES[name]
    idx = [i for i, r in enumerate(ws_resolutions) if lo <= r <= hi]
    return (idx[0], idx[-1] + 1) if idx else None


def mix_ws(ws_a: torch.Tensor, ws_b: torch.Tensor, weights) -> torch.Tensor:
    """ws [N, num_ws, w_dim] blended per layer: (1 - t_i) * A_i + t_i * B_i, t_i in [0, 1].
    t = 0 gives exactly A's w and t = 1 exactly B's (torch.lerp's ends are exact)."""
    assert ws_a.shape == ws_b.shape and ws_a.ndim == 3, f"ws shapes differ: {ws_a.shape} vs {ws_b.shape}"
    t = torch.as_tensor(weights, dtype=ws_a.dtype, device=ws_a.device)
    if t.shape != (ws_a.shape[1],):
        raise ValueError(f"need one mix weight per layer ({ws_a.shape[1]}), got {tuple(t.shape)}")
    if (t < 0).any() or (t > 1).any():
        raise ValueError("mix weights go from 0 (seed A's style) to 1 (seed B's)")
    return torch.lerp(ws_a, ws_b, t[None, :, None])
