"""Latent interpolation: straight lines (lerp) and great circles (slerp) between latents.

Pure torch on [N, D] tensors, one path per row. Frames for GIF/MP4 export build on
`interpolate(a, b, t, mode)`.

Why slerp (White 2016, "Sampling Generative Networks"): a Gaussian z of dimension D lies near
the sphere of radius sqrt(D); the straight line between two such latents cuts through the
inside, where its midpoint's norm drops by cos(omega / 2), so a generator that reads the norm
(DCGAN) sees atypical, washed-out latents mid-path. slerp walks along the great circle
instead: for two latents of equal norm r, every point of the path has norm r. So for
pixel-normalised z (ProGAN scales z to unit RMS before anything else) slerp keeps the norm
exactly and turns at constant angular speed; lerp of the same latents, once normalised, covers
the same arc but turns faster mid-path and slower near the ends."""

from __future__ import annotations

import torch

PARALLEL_EPS = 1e-4  # sin(angle) below this: the great circle is undefined, use lerp


def _prepare(a: torch.Tensor, b: torch.Tensor, t) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Check shapes; t as a tensor broadcastable to [N, 1] (a number, or one value per row)."""
    assert a.ndim == 2 and a.shape == b.shape, \
        f"a and b must both be [N, D], got {tuple(a.shape)} and {tuple(b.shape)}"
    t = torch.as_tensor(t, dtype=a.dtype, device=a.device)
    if t.ndim == 1:
        assert t.shape[0] == a.shape[0], f"t has {t.shape[0]} values for {a.shape[0]} rows"
        t = t[:, None]                                               # [N, 1]
    assert t.ndim in (0, 2), f"t must be a number, [N] or [N, 1], got {tuple(t.shape)}"
    return a, b, t


def lerp(a: torch.Tensor, b: torch.Tensor, t) -> torch.Tensor:
    """[N, D]: a + t (b - a); exactly a at t = 0 and exactly b at t = 1."""
    a, b, t = _prepare(a, b, t)
    return torch.lerp(a, b, t)


def slerp(a: torch.Tensor, b: torch.Tensor, t) -> torch.Tensor:
    """[N, D] spherical interpolation, per row (Shoemake 1985):
    sin((1 - t) omega) / sin(omega) * a + sin(t omega) / sin(omega) * b, omega = angle(a, b).

    Exactly a at t = 0 and b at t = 1. Rows whose a and b are (nearly) parallel or opposite,
    or zero, have no single great circle: they fall back to lerp."""
    a, b, t = _prepare(a, b, t)
    a_norm, b_norm = a.norm(dim=1, keepdim=True), b.norm(dim=1, keepdim=True)  # [N, 1]
    cos = ((a / a_norm.clamp_min(1e-12)) * (b / b_norm.clamp_min(1e-12))).sum(dim=1, keepdim=True)
    omega = torch.acos(cos.clamp(-1.0, 1.0))                         # [N, 1] angle in radians
    sin = torch.sin(omega)
    degenerate = (sin < PARALLEL_EPS) | (a_norm < 1e-12) | (b_norm < 1e-12)  # [N, 1]
    sin = torch.where(degenerate, torch.ones_like(sin), sin)         # no 0/0 on those rows
    wa = torch.sin((1 - t) * omega) / sin                            # t = 0: sin(omega)/sin(omega) = 1
    wb = torch.sin(t * omega) / sin                                  # t = 0: 0
    return torch.where(degenerate, lerp(a, b, t), wa * a + wb * b)


MODES = {"linear": lerp, "spherical": slerp}


def interpolate(a: torch.Tensor, b: torch.Tensor, t, mode: str = "linear") -> torch.Tensor:
    """[N, D] latents a fraction t of the way from a to b; mode "linear" (lerp) or "spherical" (slerp)."""
    try:
        fn = MODES[mode]
    except KeyError:
        raise ValueError(f"Interpolation mode must be one of {', '.join(MODES)}, got {mode!r}.") from None
    return fn(a, b, t)
