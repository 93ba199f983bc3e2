"""ProGAN (Karras et al. 2018, "Progressive Growing of GANs").

Every stage is built at construction; growth is a forward argument (guide, house style 7):
synthesis(ws, stage=s, alpha=a) and D(img, alpha=a). Stage 0 is 4x4, stage s is 4*2^s.
While stage s fades in, G outputs (1 - alpha) * upsample(toRGB_{s-1}(h)) + alpha * toRGB_s(block_s(h))
and D mirrors it with 0.5x average pooling into fromRGB_{s-1}: alpha = 0 is the old path, 1 the new
layer (Sec. 2, Fig. 2). Images are linear outputs, nominally in [-1, 1] (clipped when shown)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .layers import (NOISE_MODES, Capabilities, EqualConv2d, EqualLinear, IdentityMappingMixin, MinibatchStd,
                     PixelNorm, downsample2x, leaky_relu, upsample2x)


@dataclass
class ProGANConfig:
    res: int = 64               # final resolution in pixels; a power of two in [8, 1024]
    channels: int = 3           # image channels: 1 = grayscale, 3 = RGB
    z_dim: int = 128            # latent size; z is pixel-normalised, so only its direction matters
    # Widths sized for CPU training (64 channels up to 8x8, then halving); the paper's
    # 1024^2 model is fmap_base=8192, fmap_max=512, z_dim=512.
    fmap_base: int = 512        # width of stage s = fmap_base / 2^(s+1), clamped to [fmap_min, fmap_max]
    fmap_max: int = 64          # widest layer
    fmap_min: int = 16          # narrowest layer
    mbstd_group: int = 4        # minibatch-stddev group size (0 = off)

    def __post_init__(self):
        if self.res < 8 or self.res > 1024 or self.res & (self.res - 1):
            raise ValueError(f"ProGAN res must be a power of two between 8 and 1024, got {self.res}")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {self.channels}")
        if not 1 <= self.fmap_min <= self.fmap_max:
            raise ValueError("need 1 <= fmap_min <= fmap_max")
        if self.mbstd_group < 0:
            raise ValueError("mbstd_group must be >= 0")

    @property
    def num_stages(self) -> int:
        return int(math.log2(self.res)) - 1  # 4x4 .. res

    def width(self, stage: int) -> int:
        return int(min(max(self.fmap_base / 2 ** (stage + 1), self.fmap_min), self.fmap_max))


# A tiny CPU config that builds in milliseconds: the contract tests (tests/unit/test_contract.py) build every
# family from it.
TINY = {"res": 16, "channels": 3, "z_dim": 16, "fmap_base": 64, "fmap_max": 16, "fmap_min": 8}


def stage_resolution(stage: int) -> int:
    return 4 * 2**stage


def _check_growth(stage: int, alpha: float, num_stages: int) -> None:
    if not 0 <= stage < num_stages:
        raise ValueError(f"stage must be in [0, {num_stages - 1}] (4x4 to {stage_resolution(num_stages - 1)}), got {stage}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")


class _GBlock(nn.Sequential):
    """Upsample, then two 3x3 convs, each followed by LeakyReLU and pixel norm."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__(EqualConv2d(c_in, c_out, 3), leaky_relu(), PixelNorm(),
                         EqualConv2d(c_out, c_out, 3), leaky_relu(), PixelNorm())

    def forward(self, x):
        return super().forward(upsample2x(x))


class ProGANGenerator(IdentityMappingMixin, nn.Module):
    # Truncation would scale z, which pixel norm undoes: there is nothing to truncate.
    capabilities = Capabilities(mixing=False, noise=False, truncation=False, progressive=True)
    # CPU fast path: channels-last activations after the 4x4 dense layer. Nearest upsampling of
    # NCHW is 3-4x slower than of NHWC on CPU, and the convs skip their layout reorders: 1.1-1.5x
    # faster overall (bench/compare_progan_zoo.py). False = the reference path; a test compares them.
    channels_last_on_cpu: bool = True

    def __init__(self, cfg: ProGANConfig):
        super().__init__()
        self.cfg = cfg
        self.z_dim = self.w_dim = cfg.z_dim
        self.num_ws = 1
        self.num_stages = cfg.num_stages
        self.img_channels, self.img_resolution = cfg.channels, cfg.res
        c0 = cfg.width(0)
        self.norm = PixelNorm()
        # 1x1 -> 4x4 as a dense layer; the paper's code gives it gain sqrt(2)/4.
        self.dense = EqualLinear(cfg.z_dim, c0 * 16, gain=2**0.5 / 4)
        self.conv0 = nn.Sequential(EqualConv2d(c0, c0, 3), leaky_relu(), PixelNorm())
        self.blocks = nn.ModuleList(_GBlock(cfg.width(s - 1), cfg.width(s)) for s in range(1, cfg.num_stages))
        self.to_rgb = nn.ModuleList(EqualConv2d(cfg.width(s), cfg.channels, 1, gain=1.0) for s in range(cfg.num_stages))
        self.act = leaky_relu()

    def synthesis(self, ws: torch.Tensor, *, noise_mode: str = "const", stage: int | None = None,
                  alpha: float = 1.0) -> torch.Tensor:
        """[N, C, 4*2^stage, 4*2^stage]; stage None = the last one."""
        assert ws.ndim == 3 and ws.shape[2] == self.w_dim, f"ws must be [N, num_ws, {self.w_dim}], got {tuple(ws.shape)}"
        assert noise_mode in NOISE_MODES
        stage = self.num_stages - 1 if stage is None else int(stage)
        _check_growth(stage, alpha, self.num_stages)
        x = self.norm(ws[:, 0])                                        # [N, z_dim], unit RMS
        h = self.norm(self.act(self.dense(x)).view(x.shape[0], -1, 4, 4))  # [N, c0, 4, 4]
        if self.channels_last_on_cpu and h.device.type == "cpu":
            h = h.contiguous(memory_format=torch.channels_last)
        h = self.conv0(h)
        if stage == 0:
            return self.to_rgb[0](h)
        for block in self.blocks[:stage - 1]:
            h = block(h)
        new = self.to_rgb[stage](self.blocks[stage - 1](h))           # [N, C, r, r]
        if alpha >= 1.0:
            return new
        old = upsample2x(self.to_rgb[stage - 1](h))                   # [N, C, r, r]
        return torch.lerp(old, new, alpha)                            # alpha = 0: old path exactly

    def feature_layers(self) -> list[tuple[str, nn.Module]]:
        """The 4x4 conv, then each block's two convs (after activation and pixel norm); a stage runs the
        blocks up to its own."""
        out: list[tuple[str, nn.Module]] = [("b4.conv", self.conv0)]
        for s, block in enumerate(self.blocks, start=1):
            r = stage_resolution(s)
            out += [(f"b{r}.conv0", block[2]), (f"b{r}.conv1", block[5])]
        return out

    def forward(self, z: torch.Tensor, *, stage: int | None = None, alpha: float = 1.0,
                truncation_psi: float = 1.0) -> torch.Tensor:
        return self.synthesis(self.mapping(z, truncation_psi=truncation_psi), stage=stage, alpha=alpha)


class _DBlock(nn.Sequential):
    """Two 3x3 convs with LeakyReLU, then 0.5x average pooling."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__(EqualConv2d(c_in, c_in, 3), leaky_relu(), EqualConv2d(c_in, c_out, 3), leaky_relu())

    def forward(self, x):
        return downsample2x(super().forward(x))


class ProGANDiscriminator(nn.Module):
    def __init__(self, cfg: ProGANConfig):
        super().__init__()
        self.cfg = cfg
        self.num_stages = cfg.num_stages
        self.from_rgb = nn.ModuleList(EqualConv2d(cfg.channels, cfg.width(s), 1) for s in range(cfg.num_stages))
        # blocks[s - 1] takes stage s's resolution down to stage s - 1's.
        self.blocks = nn.ModuleList(_DBlock(cfg.width(s), cfg.width(s - 1)) for s in range(1, cfg.num_stages))
        c0 = cfg.width(0)
        self.mbstd = MinibatchStd(cfg.mbstd_group) if cfg.mbstd_group else None
        self.conv0 = EqualConv2d(c0 + (1 if self.mbstd else 0), c0, 3)
        self.dense0 = EqualLinear(c0 * 16, c0)      # the paper's 4x4 'valid' conv, as a dense layer
        self.out = EqualLinear(c0, 1, gain=1.0)
        self.act = leaky_relu()

    def forward(self, img: torch.Tensor, *, stage: int | None = None, alpha: float = 1.0) -> torch.Tensor:
        """[N] scores; stage defaults to the one the image's resolution belongs to."""
        assert img.ndim == 4 and img.shape[1] == self.cfg.channels, f"D expects [N, {self.cfg.channels}, r, r]"
        inferred = int(math.log2(img.shape[-1])) - 2
        stage = inferred if stage is None else int(stage)
        _check_growth(stage, alpha, self.num_stages)
        assert img.shape[-2:] == (stage_resolution(stage),) * 2, \
            f"stage {stage} expects {stage_resolution(stage)}x{stage_resolution(stage)} images, got {tuple(img.shape[-2:])}"
        h = self.act(self.from_rgb[stage](img))
        if stage > 0:
            h = self.blocks[stage - 1](h)
            if alpha < 1.0:
                old = self.act(self.from_rgb[stage - 1](downsample2x(img)))
                h = torch.lerp(old, h, alpha)
            for block in reversed(self.blocks[:stage - 1]):
                h = block(h)
        if self.mbstd is not None:
            h = self.mbstd(h)                                          # [N, c0 + 1, 4, 4]
        h = self.act(self.conv0(h))
        h = self.act(self.dense0(h.flatten(1)))
        return self.out(h).flatten()                                   # [N]


def reals_at_stage(img: torch.Tensor, stage: int, alpha: float) -> torch.Tensor:
    """Real images as D sees them at (stage, alpha): average-pooled to the stage's resolution and,
    during a fade-in, blended with their own upsampled half-resolution version (Sec. A.1)."""
    r = stage_resolution(stage)
    if img.shape[-1] != r:
        img = torch.nn.functional.avg_pool2d(img, img.shape[-1] // r)
    if stage > 0 and alpha < 1.0:
        img = torch.lerp(upsample2x(downsample2x(img)), img, alpha)
    return img
