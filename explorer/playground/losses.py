"""The playground's losses: the image recipes' own functions (explorer/train/losses.py), in a registry.

The only function added here is BCE's minimax generator loss, which the image trainer never
uses because it saturates; the playground keeps it to show exactly that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from ..train.losses import (bce_d_loss, gradient_penalty, hinge_d_loss, hinge_g_loss, nonsaturating_g_loss,
                            r1_penalty, wgan_d_loss, wgan_g_loss)

__all__ = ["LOSSES", "PlaygroundLoss", "minimax_g_loss", "generator_loss", "gradient_penalty", "r1_penalty", "d_score"]


def minimax_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """G's loss in the original minimax game (Goodfellow et al. 2014, Eq. 1): its gradient
    sigmoid(logit) vanishes when D confidently rejects the fakes."""
    return -F.softplus(fake_logits).mean()  # E[log(1 - sigmoid(logits))]


@dataclass(frozen=True)
class PlaygroundLoss:
    d_loss: Callable[..., torch.Tensor]                        # (real_out, fake_out[, real_targets, fake_targets]) -> D's loss
    g_loss: Callable[[torch.Tensor], torch.Tensor]  # fake_out -> G's loss
    heat: str                     # "probability": D's output is a logit shown as sigmoid; "critic": a raw score
    soft_targets: bool = False    # D's loss takes targets, so label smoothing, noise and flips apply
    gradient_penalty: bool = False  # gp_lambda * gradient_penalty is added to D's loss
    g_minimax: Callable[[torch.Tensor], torch.Tensor] | None = None  # G's loss when TrainConfig.g_loss == "minimax"


LOSSES: dict[str, PlaygroundLoss] = {
    "bce": PlaygroundLoss(bce_d_loss, nonsaturating_g_loss, "probability", soft_targets=True, g_minimax=minimax_g_loss),
    "wgan-gp": PlaygroundLoss(wgan_d_loss, wgan_g_loss, "critic", gradient_penalty=True),
    "hinge": PlaygroundLoss(hinge_d_loss, hinge_g_loss, "critic"),
}


def generator_loss(loss: str, g_loss: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """G's loss function for TrainConfig.loss / .g_loss (validated by PlaygroundConfig)."""
    spec = LOSSES[loss]
    return spec.g_minimax if g_loss == "minimax" else spec.g_loss


def d_score(loss: str, out: torch.Tensor) -> torch.Tensor:
    """D's output in the units its views use: P(real) = sigmoid(logit) for BCE, the raw score otherwise."""
    return torch.sigmoid(out) if LOSSES[loss].heat == "probability" else out
