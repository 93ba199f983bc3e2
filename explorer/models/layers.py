"""Primitives shared by the model families, and the generator contract's common parts."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Capabilities:
    """What the explorer may offer for a generator."""

    mixing: bool = False       # per-layer style mixing (needs num_ws > 1 and a mapping network)
    noise: bool = False        # per-layer noise inputs (noise_mode other than "none" changes the image)
    truncation: bool = True    # truncation_psi in mapping() is meaningful
    progressive: bool = False  # synthesis() takes stage and alpha

    def to_dict(self) -> dict:
        return asdict(self)


NOISE_MODES = ("const", "random", "none")


class IdentityMappingMixin:
    """Generator contract for families without a mapping network: z is w, broadcast to num_ws=1.

    Truncation pulls z towards its prior mean (0), the simplest form of the truncation trick:
    ws = w_avg + psi * (z - w_avg) with w_avg = 0. A family whose synthesis normalises z first
    (ProGAN's pixel norm, FastGAN's unit RMS) undoes that scaling, so psi changes nothing there but
    makes every seed the same image at 0: such a family declares capabilities.truncation = False, and
    its mapping ignores psi (the explorer shows it no ψ control)."""

    z_dim: int
    w_dim: int
    num_ws: int = 1
    capabilities: Capabilities

    def mapping(self, z: torch.Tensor, *, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None) -> torch.Tensor:
        assert z.ndim == 2 and z.shape[1] == self.z_dim, f"z must be [N, {self.z_dim}], got {tuple(z.shape)}"
        ws = z.unsqueeze(1).repeat(1, self.num_ws, 1)  # [N, num_ws, w_dim]
        if truncation_psi != 1.0 and self.capabilities.truncation:
            cutoff = self.num_ws if truncation_cutoff is None else truncation_cutoff
            ws[:, :cutoff] = ws[:, :cutoff] * truncation_psi
        return ws


def leaky_relu() -> nn.Module:
    return nn.LeakyReLU(0.2, inplace=True)


# ----------------------------------------------------------------------------- equalized learning rate
class EqualLinear(nn.Module):
    """Linear layer with equalized learning rate (Karras et al. 2018, Sec. 4.1): weights are
    drawn N(0, 1/lr_mul^2) and scaled at run time by gain/sqrt(fan_in) * lr_mul, so every
    layer learns at the same speed whatever its fan-in. lr_mul < 1 slows a layer (StyleGAN's
    mapping network uses 0.01)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, gain: float = 2**0.5,
                 lr_mul: float = 1.0, bias_init: float = 0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init) / lr_mul)) if bias else None
        self.scale = gain / in_features**0.5 * lr_mul  # He constant times the lr multiplier
        self.lr_mul = lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = self.bias * self.lr_mul if self.bias is not None else None
        return torch.nn.functional.linear(x, self.weight * self.scale, b)


class EqualConv2d(nn.Module):
    """Conv2d with equalized learning rate; 'same' padding for odd kernels."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True,
                 gain: float = 2**0.5, padding: int | None = None):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.scale = gain / (in_channels * kernel_size * kernel_size) ** 0.5
        self.padding = kernel_size // 2 if padding is None else padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


# ----------------------------------------------------------------------------- normalisation
class PixelNorm(nn.Module):
    """Each pixel's feature vector scaled to unit RMS (Karras et al. 2018, Eq. in Sec. 4.2):
    b = a / sqrt(mean_c(a^2) + eps)."""

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + self.eps)


class MinibatchStd(nn.Module):
    """Appends one feature map: the standard deviation of each feature over a group of samples,
    averaged over features and pixels (Karras et al. 2018, Sec. 3). It lets D see how varied a
    batch is, which discourages mode collapse. Groups of `group_size` samples taken with a stride of
    N / group_size (sample i is in group i % (N / group_size)), as the reference code's reshape does."""

    def __init__(self, group_size: int = 4, eps: float = 1e-8):
        super().__init__()
        self.group_size, self.eps = group_size, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = min(self.group_size, n)
        if n % g:
            g = 1 if n == 1 else next(k for k in range(g, 0, -1) if n % k == 0)
        y = x.view(g, n // g, c, h, w)                               # [G, M, C, H, W]
        y = (y - y.mean(dim=0)).square().mean(dim=0)                 # [M, C, H, W] variance over the group
        y = (y + self.eps).sqrt().mean(dim=(1, 2, 3))                # [M] mean std
        y = y.view(1, n // g, 1, 1, 1).expand(g, -1, 1, h, w).reshape(n, 1, h, w)  # sample i gets group i % M
        return torch.cat([x, y], dim=1)                              # [N, C + 1, H, W]


def upsample2x(x: torch.Tensor) -> torch.Tensor:
    """Nearest-neighbour 2x, as ProGAN's growth uses (no new detail until the new layers learn it)."""
    return torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest")


def downsample2x(x: torch.Tensor) -> torch.Tensor:
    """2x2 average pooling: the 0.5x step of D's fade-in and of the real images' resolution."""
    return torch.nn.functional.avg_pool2d(x, 2)
