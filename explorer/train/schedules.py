"""Pure schedule functions of training progress."""

from __future__ import annotations


def ema_beta(batch_size: int, ema_kimg: float) -> float:
    """Per-step EMA decay so that G_ema's half-life is ema_kimg thousand images
    (Karras et al. 2018, App. A.1): beta = 0.5 ** (batch / (ema_kimg * 1000))."""
    if ema_kimg <= 0:
        return 0.0
    return 0.5 ** (batch_size / (ema_kimg * 1000.0))
