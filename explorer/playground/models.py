"""Small MLPs for the 2-D playground: G maps z in [-1, 1]^latent_dim to the plane, D maps the plane to a logit.

No hidden randomness: weights are initialised from a torch.Generator the caller passes, and
D's dropout masks come from the generator passed to forward (eval mode never drops).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import ModelConfig

ACTIVATIONS = {
    "leaky_relu": lambda x: F.leaky_relu(x, 0.2),
    "relu": F.relu,
    "tanh": torch.tanh,
}


class MLP(nn.Module):
    """in_dim -> depth hidden layers of `width` -> out_dim, optional dropout after each hidden layer."""

    def __init__(self, in_dim: int, out_dim: int, width: int, depth: int, activation: str, dropout: float = 0.0):
        super().__init__()
        dims = [in_dim] + [width] * depth
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.out = nn.Linear(dims[-1], out_dim)
        self.act = ACTIVATIONS[activation]
        self.dropout = float(dropout)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        for layer in self.hidden:
            x = self.act(layer(x))                       # [N, width]
            if self.dropout > 0 and self.training:
                if generator is None:
                    raise ValueError("D uses dropout while training: pass the playground's generator to forward.")
                keep = torch.rand(x.shape, generator=generator) >= self.dropout
                x = x * keep / (1.0 - self.dropout)      # inverted dropout: eval needs no rescale
        return self.out(x)


class Generator(MLP):
    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg.latent_dim, 2, cfg.g_width, cfg.g_depth, cfg.activation)
        self.latent_dim = cfg.latent_dim

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        assert z.ndim == 2 and z.shape[1] == self.latent_dim, f"z must be [N, {self.latent_dim}], got {tuple(z.shape)}"
        return super().forward(z)                        # [N, 2] points in plane units


class Discriminator(MLP):
    def __init__(self, cfg: ModelConfig):
        super().__init__(2, 1, cfg.d_width, cfg.d_depth, cfg.activation, cfg.d_dropout)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        assert x.ndim == 2 and x.shape[1] == 2, f"D takes points [N, 2], got {tuple(x.shape)}"
        return super().forward(x, generator).squeeze(1)  # [N] logits (critic scores for WGAN)


def init_weights(module: nn.Module, generator: torch.Generator) -> None:
    """PyTorch's default Linear init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases,
    drawn from `generator` in module order, so a seed alone fixes the weights."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Linear):
                bound = 1.0 / math.sqrt(m.in_features)
                m.weight.uniform_(-bound, bound, generator=generator)
                m.bias.uniform_(-bound, bound, generator=generator)


def sample_z(n: int, latent_dim: int, generator: torch.Generator) -> torch.Tensor:
    """Latents uniform on [-1, 1]^latent_dim, [n, latent_dim]: a bounded latent square makes G's mesh finite."""
    return torch.rand(n, latent_dim, generator=generator) * 2.0 - 1.0


def latent_grid(latent_dim: int, res: int) -> torch.Tensor:
    """The latent grid G's mesh is drawn from: [res, res, 2] for a 2-D latent, [1, 5 * res, 1] for 1-D."""
    if latent_dim == 1:
        return torch.linspace(-1, 1, 5 * res).view(1, -1, 1)
    t = torch.linspace(-1, 1, res)
    zy, zx = torch.meshgrid(t, t, indexing="ij")
    return torch.stack([zx, zy], -1)                     # [res, res, 2], row i: z_2 = t[i]
