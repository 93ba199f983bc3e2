"""Losses and schedules against closed forms."""

import math

import pytest
import torch

from explorer.train import losses
from explorer.train.schedules import ema_beta


class LinearCritic(torch.nn.Module):
    """D(x) = <w, x> + b: its input gradient is w everywhere, so the GP is (||w|| - 1)^2 exactly."""

    def __init__(self, w: torch.Tensor, b: float = 0.3):
        super().__init__()
        self.w = torch.nn.Parameter(w)
        self.b = b

    def forward(self, x):
        return (x * self.w).flatten(1).sum(1) + self.b


@pytest.mark.parametrize("norm", [0.0, 0.5, 1.0, 3.0])
def test_gradient_penalty_on_linear_critic(norm):
    g = torch.Generator().manual_seed(0)
    w = torch.randn(1, 2, 4, 4, generator=g)
    w = w / w.norm() * norm
    D = LinearCritic(w)
    real, fake = torch.randn(6, 2, 4, 4, generator=g), torch.randn(6, 2, 4, 4, generator=g)
    gp = losses.gradient_penalty(D, real, fake, torch.rand(6, generator=g))
    assert gp.item() == pytest.approx((norm - 1.0) ** 2, abs=1e-5)


def test_gradient_penalty_is_differentiable_wrt_critic():
    w = torch.full((1, 1, 2, 2), 1.0)  # ||w|| = 2, and d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    D = LinearCritic(w)
    gp = losses.gradient_penalty(D, torch.randn(3, 1, 2, 2), torch.randn(3, 1, 2, 2), torch.rand(3))
    gp.backward()
    assert torch.allclose(D.w.grad, 2 * (2.0 - 1.0) * w / 2.0, atol=1e-5)


def test_bce_and_nonsaturating_values():
    zeros = torch.zeros(4)
    assert losses.bce_d_loss(zeros, zeros).item() == pytest.approx(2 * math.log(2))
    assert losses.nonsaturating_g_loss(zeros).item() == pytest.approx(math.log(2))
    # A confident, correct D has near-zero loss; soft targets raise its floor.
    big = torch.full((4,), 20.0)
    assert losses.bce_d_loss(big, -big).item() < 1e-6
    assert losses.bce_d_loss(big, -big, real_targets=0.9).item() > 1.0


def test_wgan_losses():
    real, fake = torch.tensor([2.0, 4.0]), torch.tensor([-1.0, 0.0])
    assert losses.wgan_d_loss(real, fake).item() == pytest.approx(-0.5 - 3.0)
    assert losses.wgan_g_loss(fake).item() == pytest.approx(0.5)


def test_ema_half_life():
    beta = ema_beta(batch_size=32, ema_kimg=10)
    steps_per_half_life = 10_000 / 32
    assert beta ** steps_per_half_life == pytest.approx(0.5)
    assert ema_beta(32, 0) == 0.0


def test_the_loss_table_pairs_each_d_loss_with_its_g_loss():
    real, fake = torch.tensor([2.0, -0.5]), torch.tensor([-1.0, 0.25])
    assert set(losses.LOSSES) == {"bce", "wgan-gp", "hinge"}
    bce, wgan, hinge = (losses.LOSSES[k] for k in ("bce", "wgan-gp", "hinge"))
    assert bce.d_loss(real, fake, 0.9, 0.0) == losses.bce_d_loss(real, fake, 0.9, 0.0)
    assert bce.g_loss(fake) == losses.nonsaturating_g_loss(fake)
    assert wgan.d_loss(real, fake) == losses.wgan_d_loss(real, fake) and wgan.g_loss(fake) == losses.wgan_g_loss(fake)
    assert hinge.d_loss(real, fake) == losses.hinge_d_loss(real, fake)
    assert hinge.g_loss(fake) == losses.hinge_g_loss(fake)
    # Only bce takes targets (label smoothing, noise, flips); only the WGAN critic logs its distance estimate.
    assert [k for k, v in losses.LOSSES.items() if v.soft_targets] == ["bce"]
    assert [k for k, v in losses.LOSSES.items() if v.critic] == ["wgan-gp"]


def test_the_training_loop_never_branches_on_the_loss_name():
    """A loss is chosen in one place, the table: the Trainer reads its entry, not its name."""
    import inspect

    from explorer.train import loop

    src = inspect.getsource(loop)
    for name in losses.LOSSES:
        assert f'"{name}"' not in src, name
