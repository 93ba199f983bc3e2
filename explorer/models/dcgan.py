"""DCGAN (Radford et al. 2016): transposed-conv generator, strided-conv discriminator.

The same networks serve the WGAN-GP recipe: its critic uses d_norm="none" (or "layer"),
because batch norm makes one sample's score depend on the others and breaks the
per-sample gradient penalty (Gulrajani et al. 2017, Sec. 4)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .layers import NOISE_MODES, Capabilities, IdentityMappingMixin, leaky_relu


@dataclass
class DCGANConfig:
    res: int = 64             # output resolution in pixels; a power of two in [16, 256]
    channels: int = 3         # image channels: 1 = grayscale, 3 = RGB
    z_dim: int = 100          # latent size; z is reshaped to [N, z_dim, 1, 1]
    ngf: int = 64             # G width of the last hidden layer; doubles per layer towards 4x4
    ndf: int = 64             # D width of the first layer; doubles per layer towards 4x4
    max_channels: int = 512   # cap on any layer's width
    g_act: str = "lrelu"      # G hidden activation: "lrelu" (slope 0.2) or "relu"
    d_norm: str = "batch"     # D normalisation: "batch" (DCGAN) | "layer" | "none" (WGAN-GP critic)
    d_dropout: float = 0.0    # dropout probability after each D block (0 = off), a classic stabiliser

    def __post_init__(self):
        if self.res < 16 or self.res > 256 or self.res & (self.res - 1):
            raise ValueError(f"DCGAN res must be a power of two between 16 and 256, got {self.res}")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {self.channels}")
        if self.g_act not in ("lrelu", "relu"):
            raise ValueError(f"g_act must be 'lrelu' or 'relu', got {self.g_act!r}")
        if self.d_norm not in ("batch", "layer", "none"):
            raise ValueError(f"d_norm must be 'batch', 'layer' or 'none', got {self.d_norm!r}")
        if not 0.0 <= self.d_dropout < 1.0:
            raise ValueError(f"d_dropout must be in [0, 1), got {self.d_dropout}")

    @property
    def num_up(self) -> int:
        """Stride-2 layers between 4x4 and res."""
        return int(math.log2(self.res)) - 2

    def width(self, base: int, i: int) -> int:
        """Width of hidden layer i counted from the image side (0 = next to the image)."""
        return min(base * 2**i, self.max_channels)


# A tiny CPU config that builds in milliseconds: the contract tests (tests/unit/test_contract.py) build every
# family from it.
TINY = {"res": 16, "channels": 3, "ngf": 8, "ndf": 8, "z_dim": 16}


def _init_dcgan(module: nn.Module) -> None:
    # Radford et al. 2016, Sec. 4: weights from N(0, 0.02); BN scale from N(1, 0.02).
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class DCGANGenerator(IdentityMappingMixin, nn.Module):
    capabilities = Capabilities(mixing=False, noise=False, truncation=True, progressive=False)

    def __init__(self, cfg: DCGANConfig):
        super().__init__()
        self.cfg = cfg
        self.z_dim = self.w_dim = cfg.z_dim
        self.num_ws = 1
        self.img_channels = cfg.channels
        self.img_resolution = cfg.res
        act = leaky_relu if cfg.g_act == "lrelu" else (lambda: nn.ReLU(inplace=True))
        c = cfg.width(cfg.ngf, cfg.num_up - 1)
        # 1x1 -> 4x4: a 4x4 transposed conv with stride 1 and no padding.
        layers: list[nn.Module] = [nn.ConvTranspose2d(cfg.z_dim, c, 4, 1, 0, bias=False), nn.BatchNorm2d(c), act()]
        for i in reversed(range(cfg.num_up - 1)):  # each doubles H and W
            c_out = cfg.width(cfg.ngf, i)
            layers += [nn.ConvTranspose2d(c, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), act()]
            c = c_out
        layers += [nn.ConvTranspose2d(c, cfg.channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        _init_dcgan(self)

    def _first_layer(self, z: torch.Tensor) -> torch.Tensor:
        """net[0], a 4x4 transposed conv of a 1x1 input, computed as the matmul it is: 10-17 %
        faster at batch 1 on CPU (bench/generate.py). Reference path: net[0](z[:, :, None, None])."""
        w = self.net[0].weight  # [z_dim, C, 4, 4]
        if w.is_contiguous(memory_format=torch.channels_last):  # NHWC result viewed as NCHW: no copy
            return (z @ w.permute(0, 2, 3, 1).flatten(1)).view(-1, 4, 4, w.shape[1]).permute(0, 3, 1, 2)
        return (z @ w.flatten(1)).view(-1, w.shape[1], 4, 4)  # [N, C, 4, 4]

    def synthesis(self, ws: torch.Tensor, *, noise_mode: str = "const") -> torch.Tensor:
        assert ws.ndim == 3 and ws.shape[2] == self.w_dim, f"ws must be [N, num_ws, {self.w_dim}], got {tuple(ws.shape)}"
        assert noise_mode in NOISE_MODES, f"noise_mode must be one of {NOISE_MODES}"
        return self.net[1:](self._first_layer(ws[:, 0]))  # [N, C, res, res] in [-1, 1]

    def forward(self, z: torch.Tensor, *, truncation_psi: float = 1.0) -> torch.Tensor:
        return self.synthesis(self.mapping(z, truncation_psi=truncation_psi))

    def feature_layers(self) -> list[tuple[str, nn.Module]]:
        """Each block's activation (after its transposed conv and batch norm), 4x4 first."""
        acts = [m for prev, m in zip(self.net, self.net[1:]) if isinstance(prev, nn.BatchNorm2d)]
        return [(f"b{4 * 2**i}.act", m) for i, m in enumerate(acts)]


class DCGANDiscriminator(nn.Module):
    def __init__(self, cfg: DCGANConfig):
        super().__init__()
        self.cfg = cfg
        layers: list[nn.Module] = []
        c = cfg.channels
        for i in range(cfg.num_up):  # each halves H and W: res -> 4
            c_out = cfg.width(cfg.ndf, i)
            layers.append(nn.Conv2d(c, c_out, 4, 2, 1, bias=(i == 0 or cfg.d_norm == "none")))
            if i > 0 and cfg.d_norm == "batch":  # no norm on the first layer (Radford et al. 2016)
                layers.append(nn.BatchNorm2d(c_out))
            elif i > 0 and cfg.d_norm == "layer":  # layer norm over C, H, W per sample
                layers.append(nn.GroupNorm(1, c_out))
            layers.append(leaky_relu())
            if cfg.d_dropout > 0:
                layers.append(nn.Dropout2d(cfg.d_dropout))
            c = c_out
        layers.append(nn.Conv2d(c, 1, 4, 1, 0))  # 4x4 -> 1x1: one logit
        self.net = nn.Sequential(*layers)
        _init_dcgan(self)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        assert img.ndim == 4 and img.shape[1:] == (cfg.channels, cfg.res, cfg.res), \
            f"D expects [N, {cfg.channels}, {cfg.res}, {cfg.res}], got {tuple(img.shape)}"
        return self.net(img).flatten()  # [N] logits
