"""GAN losses as small pure functions of logits (and, for penalties, of D and its inputs), and LOSSES:
the table the Trainer's D and G phases read, so that a loss is chosen by name in one place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F


def bce_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor,
               real_targets: torch.Tensor | float = 1.0, fake_targets: torch.Tensor | float = 0.0) -> torch.Tensor:
    """Discriminator binary cross-entropy (Goodfellow et al. 2014).

    Targets may be soft or noisy tensors [N] (label smoothing / noise / flips)."""
    rt = torch.as_tensor(real_targets, dtype=real_logits.dtype, device=real_logits.device).expand_as(real_logits)
    ft = torch.as_tensor(fake_targets, dtype=fake_logits.dtype, device=fake_logits.device).expand_as(fake_logits)
    return (F.binary_cross_entropy_with_logits(real_logits, rt)  # -t log s(l) - (1-t) log(1-s(l))
            + F.binary_cross_entropy_with_logits(fake_logits, ft))


def nonsaturating_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator loss that keeps gradients alive when D wins (Goodfellow et al. 2014, Sec. 3)."""
    return F.softplus(-fake_logits).mean()  # -log(sigmoid(logits))


def wgan_d_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Critic loss: the negated estimate of the Wasserstein-1 distance (Arjovsky et al. 2017)."""
    return fake_scores.mean() - real_scores.mean()  # E[D(G(z))] - E[D(x)]


def wgan_g_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    return -fake_scores.mean()  # -E[D(G(z))]


def hinge_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge loss of D (Lim & Ye 2017), averaged over every logit (any shape: [N] or [N, L])."""
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()  # E[max(0, 1-D(x))] + E[max(0, 1+D(G(z)))]


def hinge_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    return -fake_logits.mean()  # -E[D(G(z))]


def gradient_penalty(D, real: torch.Tensor, fake: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """WGAN-GP penalty E[(||grad D(x_hat)||_2 - 1)^2] on x_hat = eps*real + (1-eps)*fake
    (Gulrajani et al. 2017, Eq. 3). eps is [N] uniform in [0, 1], drawn by the caller so
    the step stays reproducible. Returns the penalty without the lambda factor."""
    assert real.shape == fake.shape and eps.shape == real.shape[:1]
    e = eps.view(-1, *([1] * (real.ndim - 1))).to(real.dtype)
    x_hat = (e * real.detach() + (1 - e) * fake.detach()).requires_grad_(True)  # [N, C, H, W]
    scores = D(x_hat)  # [N]
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    norm = grad.flatten(1).norm(2, dim=1)  # [N]
    return ((norm - 1.0) ** 2).mean()


def drift_penalty(real_scores: torch.Tensor) -> torch.Tensor:
    """Keeps critic scores from drifting far from zero (Karras et al. 2018, App. A.1)."""
    return real_scores.square().mean()  # E[D(x)^2]


def r1_penalty(real_scores: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """E[||grad_x D(x)||^2] on real images (Mescheder et al. 2018, Eq. 9, without gamma/2).
    `real` must have requires_grad set before D ran on it."""
    (grad,) = torch.autograd.grad(real_scores.sum(), real, create_graph=True)
    return grad.square().flatten(1).sum(1).mean()


def path_lengths(img: torch.Tensor, ws: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Per-sample ||J_w^T y|| for a random image-space direction y (Karras et al. 2020, Eq. 4).
    noise is y / sqrt(H * W), drawn by the caller; returns [N]."""
    (grad,) = torch.autograd.grad((img * noise).sum(), ws, create_graph=True)  # [N, num_ws, w_dim]
    return grad.square().sum(2).mean(1).sqrt()


@dataclass(frozen=True)
class GANLoss:
    d_loss: Callable[..., torch.Tensor]             # (real, fake logits[, real, fake targets]) -> D's loss
    g_loss: Callable[[torch.Tensor], torch.Tensor]  # fake logits -> G's loss
    soft_targets: bool = False  # D's loss takes targets, so label smoothing, noise and flips apply to it
    critic: bool = False        # D is a critic (unbounded scores): its Wasserstein estimate is logged as "wdist"
    # The penalties (gradient penalty, drift, R1, path length) are not part of a loss: each applies
    # when its weight in the TrainConfig is positive, whatever the loss.


LOSSES: dict[str, GANLoss] = {
    "bce": GANLoss(bce_d_loss, nonsaturating_g_loss, soft_targets=True),  # non-saturating logistic
    "wgan-gp": GANLoss(wgan_d_loss, wgan_g_loss, critic=True),
    "hinge": GANLoss(hinge_d_loss, hinge_g_loss),                          # the projected GAN's
}
