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
    ws = w_avg + psi * (z - w_avg) with w_avg = 0."""

    z_dim: int
    w_dim: int
    num_ws: int = 1

    def mapping(self, z: torch.Tensor, *, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None) -> torch.Tensor:
        assert z.ndim == 2 and z.shape[1] == self.z_dim, f"z must be [N, {self.z_dim}], got {tuple(z.shape)}"
        ws = z.unsqueeze(1).repeat(1, self.num_ws, 1)  # [N, num_ws, w_dim]
        if truncation_psi != 1.0:
            cutoff = self.num_ws if truncation_cutoff is None else truncation_cutoff
            ws[:, :cutoff] = ws[:, :cutoff] * truncation_psi
        return ws


def leaky_relu() -> nn.Module:
    return nn.LeakyReLU(0.2, inplace=True)
