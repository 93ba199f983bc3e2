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


# ----------------------------------------------------------------------------- frame paths
def keyframe_path(keys: torch.Tensor, frames: int, mode: str = "linear") -> torch.Tensor:
    """[frames, D] latents visiting keys [K, D] in order at constant speed in t: frame 0 is keys[0]
    exactly and the last frame keys[-1] exactly; each of the K - 1 segments gets an equal share."""
    assert keys.ndim == 2 and keys.shape[0] >= 2, f"need keyframes [K >= 2, D], got {tuple(keys.shape)}"
    if frames < 2:
        raise ValueError(f"a path needs at least 2 frames, got {frames}")
    u = torch.linspace(0, keys.shape[0] - 1, frames, dtype=torch.float64)  # position along the keys
    seg = u.floor().long().clamp(max=keys.shape[0] - 2)                      # [F] segment of each frame
    t = (u - seg).to(keys.dtype)                                             # [F] in [0, 1]
    return interpolate(keys[seg], keys[seg + 1], t, mode)


def walk_strengths(max_strength: float, frames: int) -> list[float]:
    """Strengths of a direction walk: frames evenly spaced from -max_strength to +max_strength."""
    if frames < 2:
        raise ValueError(f"a walk needs at least 2 frames, got {frames}")
    return torch.linspace(-max_strength, max_strength, frames, dtype=torch.float64).tolist()


# ----------------------------------------------------------------------------- GIF / MP4
VIDEO_BLOCK = 16  # H.264 codes 16x16 macroblocks: frames are padded (not rescaled) to a multiple of this


def pad_to_block(frames, block: int = VIDEO_BLOCK):
    """uint8 [F, H, W, C] padded at the bottom and right with edge pixels to multiples of `block`.
    Padding, not imageio's default rescale, keeps every source pixel; power-of-two models above
    16 px need no padding at all."""
    import numpy as np

    h, w = frames.shape[1:3]
    ph, pw = -h % block, -w % block
    if ph or pw:
        frames = np.pad(frames, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="edge")
    return frames


def write_gif(path, frames, fps: float, progress=None):
    """uint8 [F, H, W, C] (C = 1 or 3) -> a looping GIF at fps. progress(i, F) after each frame."""
    import imageio.v2 as iio

    frames = _rgb(frames)
    with iio.get_writer(path, mode="I", format="GIF", duration=1000.0 / fps, loop=0) as w:
        for i, f in enumerate(frames):
            w.append_data(f)
            if progress:
                progress(i + 1, len(frames))
    return path


def write_mp4(path, frames, fps: float, progress=None, quality: int = 8):
    """uint8 [F, H, W, C] -> an H.264 MP4 (yuv420p, plays in browsers) with imageio-ffmpeg's bundled
    ffmpeg binary; frames padded to multiples of VIDEO_BLOCK. progress(i, F) after each frame."""
    import imageio.v2 as iio

    frames = pad_to_block(_rgb(frames))
    with iio.get_writer(path, format="FFMPEG", mode="I", fps=fps, codec="libx264", quality=quality,
                        pixelformat="yuv420p", macro_block_size=VIDEO_BLOCK, ffmpeg_log_level="error") as w:
        for i, f in enumerate(frames):
            w.append_data(f)
            if progress:
                progress(i + 1, len(frames))
    return path


def _rgb(frames):
    import numpy as np

    frames = np.asarray(frames)
    assert frames.ndim == 4 and frames.dtype == np.uint8, f"need uint8 [F, H, W, C], got {frames.shape}"
    return np.repeat(frames, 3, axis=3) if frames.shape[3] == 1 else frames
