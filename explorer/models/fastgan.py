"""FastGAN's generator (Liu et al. 2021), the generator of Projected GAN (Sauer et al. 2021), behind
the generator contract; it trains against the projected discriminator (projected.py).

Synthesis: z scaled to the unit sphere -> a 4x4 transposed conv -> batch norm -> GLU, then one
upsampling block per resolution: nearest 2x -> 3x3 conv -> [noise] -> batch norm -> GLU, where the
blocks at 8, 32, 128 and 512 px add a second conv (the paper's "comp" blocks, with the noise inputs);
skip-layer excitation (SLE) gates every channel of a high resolution with a squeeze of a low one;
a 3x3 conv to the image and tanh. Every conv is spectrally normalised, as in the paper's code.
GLU(a, b) = a * sigmoid(b) halves the channels, so each conv produces twice the block's width.

Contract: mapping is the identity (num_ws = 1; no truncation, z is normalised first), so interpolation,
directions and the explorer work unchanged. Noise never comes from a hidden RNG: "const" uses
stored maps, "random" needs the caller's torch.Generator, "none" adds nothing. Rendering uses eval
mode, where batch norm applies its running statistics: a seed alone reproduces an image."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .layers import NOISE_MODES, Capabilities, IdentityMappingMixin
from .projected import ProjectedDConfig, ProjectedDiscriminator

# FastGAN's width multipliers per resolution (times ngf); its 1024 px model uses ngf = 64.
WIDTH_MULT = {4: 16, 8: 8, 16: 4, 32: 2, 64: 2, 128: 1, 256: 0.5, 512: 0.25, 1024: 0.125}


@dataclass
class FastGANConfig(ProjectedDConfig):
    res: int = 64            # output resolution in pixels; a power of two in [16, 1024]
    channels: int = 3        # image channels: 1 = grayscale, 3 = RGB
    z_dim: int = 128         # latent size (the paper's code: 256)
    ngf: int = 16            # width: resolution r gets ngf * WIDTH_MULT[r] channels (paper: 64; 16 suits a CPU)
    channel_max: int = 512   # cap on any block's width
    sle: bool = True         # skip-layer excitation on (False = an ablation)

    def __post_init__(self):
        if self.res < 16 or self.res > 1024 or self.res & (self.res - 1):
            raise ValueError(f"FastGAN res must be a power of two between 16 and 1024, got {self.res}")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {self.channels}")
        if self.ngf < 1 or self.z_dim < 1:
            raise ValueError("ngf and z_dim must be positive")
        self.check_projected(self.res)

    @property
    def resolutions(self) -> list[int]:
        return [2**k for k in range(2, int(math.log2(self.res)) + 1)]  # 4, 8, ..., res

    def width(self, r: int) -> int:
        return max(1, min(int(self.ngf * WIDTH_MULT[r]), self.channel_max))

    def sle_pairs(self) -> list[tuple[int, int]]:
        """(source, target) resolutions: FastGAN gates 64..512 from r / 16; a 32 px model, too small
        for any of those, gates 32 from 4 instead."""
        pairs = [(r // 16, r) for r in self.resolutions if 64 <= r <= 512]
        return pairs or ([(4, 32)] if self.res == 32 else [])


# A tiny CPU config that builds in milliseconds: the contract tests (tests/unit/test_contract.py) build every
# family from it.
TINY = {"res": 32, "channels": 3, "z_dim": 16, "ngf": 4, "backbone": "random", "proj_channels": 4,
        "d_width": 8}


def _sn_conv(c_in: int, c_out: int, k: int, padding: int = 0, bias: bool = False) -> nn.Module:
    return spectral_norm(nn.Conv2d(c_in, c_out, k, 1, padding, bias=bias))


def glu(x: torch.Tensor) -> torch.Tensor:
    a, b = x.chunk(2, dim=1)
    return a * torch.sigmoid(b)  # GLU (Dauphin et al. 2017): [N, 2C, H, W] -> [N, C, H, W]


class UpBlock(nn.Module):
    """nearest 2x -> conv3x3 -> [noise] -> BN -> GLU, and with `comp` a second conv -> noise -> BN -> GLU."""

    def __init__(self, c_in: int, c_out: int, res: int, comp: bool):
        super().__init__()
        self.res, self.comp = res, comp
        self.conv1 = _sn_conv(c_in, 2 * c_out, 3, 1)
        self.bn1 = nn.BatchNorm2d(2 * c_out)
        if comp:
            self.conv2 = _sn_conv(c_out, 2 * c_out, 3, 1)
            self.bn2 = nn.BatchNorm2d(2 * c_out)
            self.noise_strength = nn.Parameter(torch.zeros(2))                # one learned scale per noise input
            self.register_buffer("noise_const", torch.randn(2, 1, res, res))  # the "const" noise maps

    @property
    def num_noise(self) -> int:
        return 2 if self.comp else 0

    def forward(self, x: torch.Tensor, noise: list[torch.Tensor | None]) -> torch.Tensor:
        x = self.conv1(F.interpolate(x, scale_factor=2, mode="nearest"))
        if self.comp:
            if noise[0] is not None:
                x = x + noise[0] * self.noise_strength[0]
            x = self.conv2(glu(self.bn1(x)))
            if noise[1] is not None:
                x = x + noise[1] * self.noise_strength[1]
            return glu(self.bn2(x))
        return glu(self.bn1(x))  # [N, c_out, res, res]


class SLE(nn.Module):
    """Skip-layer excitation (Liu et al. 2021, Sec. 3.1): y_big * sigmoid(conv1x1(swish(conv4x4(pool4(x_small)))))."""

    def __init__(self, c_small: int, c_big: int):
        super().__init__()
        self.conv1 = _sn_conv(c_small, c_big, 4)
        self.conv2 = _sn_conv(c_big, c_big, 1)

    def forward(self, small: torch.Tensor, big: torch.Tensor) -> torch.Tensor:
        s = self.conv1(F.adaptive_avg_pool2d(small, 4))      # [N, c_big, 1, 1]
        return big * torch.sigmoid(self.conv2(F.silu(s)))    # swish = silu


class FastGANGenerator(IdentityMappingMixin, nn.Module):
    # Truncation would scale z, which the unit-RMS normalisation of z undoes: there is nothing to truncate.
    capabilities = Capabilities(mixing=False, noise=True, truncation=False, progressive=False)

    def __init__(self, cfg: FastGANConfig):
        super().__init__()
        self.cfg = cfg
        self.z_dim = self.w_dim = cfg.z_dim
        self.num_ws = 1
        self.img_channels, self.img_resolution = cfg.channels, cfg.res
        c4 = cfg.width(4)
        self.init = spectral_norm(nn.ConvTranspose2d(cfg.z_dim, 2 * c4, 4, 1, 0, bias=False))  # 1x1 -> 4x4
        self.init_bn = nn.BatchNorm2d(2 * c4)
        self.blocks = nn.ModuleList(UpBlock(cfg.width(r // 2), cfg.width(r), r, comp=int(math.log2(r)) % 2 == 1)
                                    for r in cfg.resolutions[1:])
        pairs = cfg.sle_pairs() if cfg.sle else []
        self.sle_targets = {t: s for s, t in pairs}
        self.sle = nn.ModuleDict({str(t): SLE(cfg.width(s), cfg.width(t)) for s, t in pairs})
        self.to_img = _sn_conv(cfg.width(cfg.res), cfg.channels, 3, 1, bias=True)

    def noise_resolutions(self) -> list[int]:
        """The resolution of each noise input, in the order synthesis consumes them."""
        return [b.res for b in self.blocks for _ in range(b.num_noise)]

    def make_noise(self, n: int, noise_mode: str, generator: torch.Generator | None) -> list[torch.Tensor | None]:
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        if noise_mode == "random" and generator is None:
            raise ValueError("noise_mode='random' needs a torch.Generator (pass noise_generator=...)")
        out: list[torch.Tensor | None] = []
        for b in self.blocks:
            for j in range(b.num_noise):
                if noise_mode == "none":
                    out.append(None)
                elif noise_mode == "const":
                    out.append(b.noise_const[j:j + 1])                            # [1, 1, r, r]
                else:
                    noise = torch.randn(n, 1, b.res, b.res, generator=generator, device=generator.device)
                    out.append(noise.to(b.noise_const.device))
        return out

    def synthesis(self, ws: torch.Tensor, *, noise_mode: str = "const",
                  noise_generator: torch.Generator | None = None) -> torch.Tensor:
        assert ws.ndim == 3 and ws.shape[1:] == (self.num_ws, self.w_dim), \
            f"ws must be [N, {self.num_ws}, {self.w_dim}], got {tuple(ws.shape)}"
        noise = self.make_noise(ws.shape[0], noise_mode, noise_generator)
        z = ws[:, 0]
        z = z * (z.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()   # onto the sphere, as the paper's code
        x = glu(self.init_bn(self.init(z[:, :, None, None])))           # [N, c4, 4, 4]
        feats, k = {4: x}, 0
        for b in self.blocks:
            x = b(x, noise[k:k + b.num_noise])
            k += b.num_noise
            if b.res in self.sle_targets:
                x = self.sle[str(b.res)](feats[self.sle_targets[b.res]], x)
            feats[b.res] = x
        return torch.tanh(self.to_img(x))                                # [N, C, res, res] in [-1, 1]

    def feature_layers(self) -> list[tuple[str, nn.Module]]:
        """Each up-block's output, then where a skip-layer excitation acts, its output."""
        out: list[tuple[str, nn.Module]] = []
        for b in self.blocks:
            out.append((f"b{b.res}.up", b))
            if b.res in self.sle_targets:
                out.append((f"b{b.res}.sle", self.sle[str(b.res)]))
        return out

    def forward(self, z: torch.Tensor, *, truncation_psi: float = 1.0, noise_mode: str = "const",
                noise_generator: torch.Generator | None = None) -> torch.Tensor:
        return self.synthesis(self.mapping(z, truncation_psi=truncation_psi), noise_mode=noise_mode,
                              noise_generator=noise_generator)


FastGANDiscriminator = ProjectedDiscriminator  # FastGAN's generator trains only against the projected D here
