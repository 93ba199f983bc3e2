"""Pure schedule functions of training progress."""

from __future__ import annotations


def ema_beta(batch_size: int, ema_kimg: float) -> float:
    """Per-step EMA decay so that G_ema's half-life is ema_kimg thousand images
    (Karras et al. 2018, App. A.1): beta = 0.5 ** (batch / (ema_kimg * 1000))."""
    if ema_kimg <= 0:
        return 0.0
    return 0.5 ** (batch_size / (ema_kimg * 1000.0))


def progressive_growth(kimg: float, num_stages: int, fade_kimg: float, stable_kimg: float) -> tuple[int, float]:
    """ProGAN's (stage, alpha) after `kimg` thousand real images (Karras et al. 2018, Sec. 2).

    Stage 0 (4x4) trains for stable_kimg; every later stage first fades in over fade_kimg
    (alpha 0 -> 1, linear) and then trains stable_kimg at alpha 1. The last stage stays."""
    if num_stages <= 1 or fade_kimg + stable_kimg <= 0:
        return num_stages - 1, 1.0
    t = kimg - stable_kimg
    if t < 0:
        return 0, 1.0
    phase = fade_kimg + stable_kimg
    stage = 1 + int(t // phase)
    if stage >= num_stages:
        return num_stages - 1, 1.0
    into = t - (stage - 1) * phase
    alpha = min(into / fade_kimg, 1.0) if fade_kimg > 0 else 1.0
    return stage, alpha


def kimg_to_reach(stage: int, fade_kimg: float, stable_kimg: float) -> float:
    """kimg at which `stage` has fully faded in (alpha reaches 1)."""
    return 0.0 if stage == 0 else stable_kimg + (stage - 1) * (fade_kimg + stable_kimg) + fade_kimg
