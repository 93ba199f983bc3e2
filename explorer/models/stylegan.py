"""StyleGAN (Karras et al. 2019) and its StyleGAN2 "modulated conv" variant (Karras et al. 2020),
behind one generator contract.

Mapping: z -> normalise -> MLP (lr multiplier 0.01) -> w, broadcast to num_ws; w_avg is a moving
average of w used by truncation. Synthesis: a learned 4x4 constant, then one *layer* per entry of
ws. variant="adain" (v1): conv -> noise -> bias + LeakyReLU -> AdaIN(style(w)); one toRGB at the
end. variant="modulated" (v2): modulated/demodulated conv -> noise -> bias + LeakyReLU, and a
modulated toRGB per resolution summed as skip connections. Either way synthesis is a list of
layers that each read one w, so style mixing, per-layer noise and incremental re-rendering all
index the same list. Noise never comes from a hidden RNG: "const" uses stored maps, "random"
needs the caller's torch.Generator, "none" adds nothing.

Upsampling (cfg.upsample): "bilinear" (bilinear 2x, then a 3x3 conv; the skip image bilinear, edge-clamped)
is what checkpoints trained before the option had; "fir" is NVIDIA's and rosinality's order (a stride-2
transposed 3x3 conv, then the [1,3,3,1] filter, zero-padded; the skip image through the same filter), which
imported checkpoints need and which runs the channel mixing at the input resolution."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .classes import check_classes, one_hot
from .layers import NOISE_MODES, Capabilities, EqualConv2d, EqualLinear, MinibatchStd, downsample2x

VARIANTS = ("adain", "modulated")
UPSAMPLES = ("bilinear", "fir")
# Weights here use gain 1/sqrt(fan_in) and the activations carry the He factor: lrelu(x) * sqrt(2)
# (as in the official code), so no layer applies sqrt(2) twice.
SQRT2 = math.sqrt(2.0)


@dataclass
class StyleGANConfig:
    res: int = 64                # output resolution in pixels; a power of two in [8, 1024]
    channels: int = 3            # image channels: 1 = grayscale, 3 = RGB
    variant: str = "modulated"   # "adain" (StyleGAN) or "modulated" (StyleGAN2)
    z_dim: int = 128             # latent size
    w_dim: int = 128             # intermediate latent size
    mapping_layers: int = 8      # MLP depth of the mapping network
    mapping_lr_mul: float = 0.01  # learning-rate multiplier of the mapping network (Sec. C of the paper)
    # Widths sized for CPU training (64 channels up to 32x32); the paper's FFHQ model is
    # channel_base=32768, channel_max=512, z_dim=w_dim=512.
    channel_base: int = 2048     # width at resolution r = channel_base / r, clamped to channel_max
    channel_max: int = 64        # widest synthesis/discriminator layer
    w_avg_beta: float = 0.995    # decay of the moving average of w that truncation pulls towards
    fast_inference: bool = True  # without autograd, render through the fused path (same images; False = reference ops)
    mbstd_group: int = 4         # D's minibatch-stddev group size (0 = off)
    # 2x upsampling: "bilinear" = bilinear (edge-clamped) then a 3x3 conv; "fir" = a stride-2 transposed 3x3
    # conv then the [1,3,3,1] filter, zero-padded (NVIDIA's and rosinality's order; the skip image likewise).
    upsample: str = "bilinear"
    conv_clamp: float | None = None  # clamp each layer's activations and toRGB output to +-this; None = no clamp
    c_dim: int = 0               # classes of a conditional model (0 = unconditional); see models/classes.py
    class_names: list[str] | None = None  # each class's name (None: shown as its index)

    def __post_init__(self):
        check_classes(self.c_dim, self.class_names)
        if self.res < 8 or self.res > 1024 or self.res & (self.res - 1):
            raise ValueError(f"StyleGAN res must be a power of two between 8 and 1024, got {self.res}")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {self.channels}")
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {self.variant!r}")
        if self.mapping_layers < 1:
            raise ValueError("mapping_layers must be at least 1")
        if self.upsample not in UPSAMPLES:
            raise ValueError(f"upsample must be one of {UPSAMPLES}, got {self.upsample!r}")
        if self.conv_clamp is not None and not self.conv_clamp > 0:
            raise ValueError(f"conv_clamp must be positive or None, got {self.conv_clamp}")

    @property
    def resolutions(self) -> list[int]:
        return [2**k for k in range(2, int(math.log2(self.res)) + 1)]  # 4, 8, ..., res

    def width(self, r: int) -> int:
        return int(min(self.channel_base // r, self.channel_max))


# A tiny CPU config that builds in milliseconds: the contract tests (tests/unit/test_contract.py) build every
# family from it.
TINY = {"res": 16, "channels": 3, "z_dim": 8, "w_dim": 8, "mapping_layers": 2, "channel_base": 128,
        "channel_max": 16}


# ----------------------------------------------------------------------------- mapping
def truncate(ws: torch.Tensor, w_avg: torch.Tensor, psi: float, cutoff: int | None = None) -> torch.Tensor:
    """ws [N, num_ws, w_dim] with its first `cutoff` entries (None = all) pulled towards w_avg, in place:
    w' = w_avg + psi (w - w_avg) (Karras et al. 2019, Sec. 4 / App. B). psi = 1 leaves ws as it is."""
    if psi != 1.0:
        cutoff = ws.shape[1] if cutoff is None else int(cutoff)
        ws[:, :cutoff] = w_avg.lerp(ws[:, :cutoff], psi)
    return ws


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


class MappingNetwork(nn.Module):
    """z -> normalise -> MLP -> w. A conditional one (c_dim > 0, StyleGAN2-ADA's) also embeds the one-hot
    class by a linear layer to w_dim features, normalises them the same way, and feeds [z, embedding]."""

    def __init__(self, z_dim: int, w_dim: int, num_layers: int, lr_mul: float, c_dim: int = 0):
        super().__init__()
        self.c_dim = c_dim
        self.embed = EqualLinear(c_dim, w_dim, gain=1.0) if c_dim else None
        dims = [z_dim + (w_dim if c_dim else 0)] + [w_dim] * num_layers
        self.fcs = nn.ModuleList(EqualLinear(a, b, lr_mul=lr_mul, gain=1.0) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        x = normalize_2nd_moment(z)
        if self.embed is not None:
            x = torch.cat([x, normalize_2nd_moment(self.embed(one_hot(c, self.c_dim, len(z)).to(z)))], dim=1)
        for fc in self.fcs:
            x = F.leaky_relu(fc(x), 0.2) * SQRT2  # gain sqrt(2) keeps unit variance through lrelu
        return x  # [N, w_dim]


# ----------------------------------------------------------------------------- synthesis primitives
def adain(x: torch.Tensor, ys: torch.Tensor, yb: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """AdaIN(x, y) = ys * (x - mu(x)) / sigma(x) + yb per channel (Karras et al. 2019, Eq. 1)."""
    x = x - x.mean(dim=(2, 3), keepdim=True)
    x = x * (x.square().mean(dim=(2, 3), keepdim=True) + eps).rsqrt()
    return x * ys[:, :, None, None] + yb[:, :, None, None]


def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, demodulate: bool = True,
                     eps: float = 1e-8, up: bool = False) -> torch.Tensor:
    """StyleGAN2's modulated convolution (Karras et al. 2020, Eqs. 1-3) computed by scaling the
    activations instead of the weights: conv(x * s) * d equals conv with w'_ijk = s_i w_ijk / d_j,
    and one shared-weight conv is far cheaper on CPU than a grouped conv of per-sample weights.
    x [N, I, H, W], weight [O, I, k, k] (already scaled), styles [N, I] -> [N, O, H, W] (2H, 2W with up:
    fir_up_conv3x3, defined below)."""
    x = x * styles[:, :, None, None]
    x = fir_up_conv3x3(x, weight) if up else F.conv2d(x, weight, padding=weight.shape[-1] // 2)
    if demodulate:
        d = (styles.square() @ weight.square().sum(dim=(2, 3)).t() + eps).rsqrt()  # [N, O]
        x = x * d[:, :, None, None]
    return x


# ----------------------------------------------------------------------------- inference fast path
_BILINEAR_FIR = torch.tensor([1.0, 3.0, 3.0, 1.0]) / 4  # 2x bilinear = this filter on a zero-stuffed signal


def up_conv3x3(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """conv3x3(bilinear_2x(x)) with zero padding, as the reference layer computes it, in 4x fewer
    multiply-adds: conv * FIR * zero-stuffing = FIR * (conv * zero-stuffing) = FIR * conv_transpose,
    so the channel mixing runs at the input resolution and only a depthwise 4x4 filter at the
    output's (StyleGAN2's own order, Karras et al. 2020, App. B). Bilinear's edge clamping is a
    replicate pad of x. The orders differ only on the outermost ring of output pixels, where the
    reference's zero padding hides the ring just outside the upsampled image (its edge pixels,
    replicated); their contribution, four 1-D convs with the kernel's edge taps, is subtracted.
    x [N, I, n, n], weight [O, I, 3, 3], bias [O] -> [N, O, 2n, 2n]"""
    b_, c_in, n = x.shape[0], x.shape[1], x.shape[-1]
    c = weight.shape[0]
    w_t = weight.flip(2, 3).transpose(0, 1).contiguous(memory_format=torch.channels_last)  # [I, O, 3, 3]
    y = F.conv_transpose2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), w_t, stride=2, padding=1)  # [N, O, 2n+3, 2n+3]
    f = _BILINEAR_FIR.to(x)  # taps sum to 2 per axis: the gain a zero-stuffed signal needs (not the bias's)
    fir = (f[:, None] * f[None, :]).expand(c, 1, 4, 4).contiguous(memory_format=torch.channels_last)
    y = F.conv2d(y, fir, bias, groups=c)                                               # [N, O, 2n, 2n]
    # The upsampled image's top, bottom, left and right edges, each extended by one pixel.
    e = torch.stack([x[:, :, 0], x[:, :, -1], x[:, :, :, 0], x[:, :, :, -1]], 1).reshape(b_, 4 * c_in, n)
    e = F.pad(F.interpolate(e, scale_factor=2, mode="linear", align_corners=False), (1, 1), mode="replicate")
    e = e.view(b_, 4, c_in, 2 * n + 2)
    e[:, 2:, :, 0], e[:, 2:, :, -1] = 0, 0  # the corners belong to the rows' share
    k = torch.stack([weight[:, :, 0], weight[:, :, 2], weight[:, :, :, 0], weight[:, :, :, 2]])  # [4, O, I, 3]
    r = F.conv1d(e.view(b_, 4 * c_in, 2 * n + 2), k.reshape(4 * c, c_in, 3), groups=4).view(b_, 4, c, 2 * n)
    y[:, :, 0] -= r[:, 0]
    y[:, :, -1] -= r[:, 1]
    y[:, :, :, 0] -= r[:, 2]
    y[:, :, :, -1] -= r[:, 3]
    return y


def _fir_kernel(c: int, like: torch.Tensor) -> torch.Tensor:
    """[C, 1, 4, 4] depthwise [1,3,3,1] x [1,3,3,1] / 16, times 4: the gain a zero-stuffed signal needs."""
    f = _BILINEAR_FIR.to(like)
    return (f[:, None] * f[None, :]).expand(c, 1, 4, 4).contiguous(memory_format=torch.channels_last)


def fir_upsample2x(x: torch.Tensor) -> torch.Tensor:
    """2x upsampling with the [1,3,3,1] filter, zero outside the image (NVIDIA's upfirdn2d.upsample2d):
    bilinear inside, but the outermost ring blends with zeros instead of the clamped edge.
    x [N, C, n, n] -> [N, C, 2n, 2n]"""
    c = x.shape[1]
    return F.conv_transpose2d(x, _fir_kernel(c, x), stride=2, padding=1, groups=c)


def fir_up_conv3x3(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """StyleGAN2's upsampling conv (Karras et al. 2020, App. B): a stride-2 transposed 3x3 conv, so the
    channel mixing runs at the input resolution, then the [1,3,3,1] filter with one pixel of zero padding.
    It equals conv3x3 of the zero-stuffed x, then the filter; `weight` correlates as in F.conv2d (NVIDIA's
    and rosinality's upsampling weights are its spatial flip). x [N, I, n, n], weight [O, I, 3, 3] -> [N, O, 2n, 2n]"""
    return fir_up_conv3x3_t(x, transposed_weight(weight), _fir_kernel(weight.shape[0], x), bias)


def transposed_weight(weight: torch.Tensor) -> torch.Tensor:
    """[O, I, 3, 3] correlation weights -> the [I, O, 3, 3] (channels-last) that conv_transpose2d convolves with."""
    return weight.flip(2, 3).transpose(0, 1).contiguous(memory_format=torch.channels_last)


def fir_up_conv3x3_t(x: torch.Tensor, w_t: torch.Tensor, fir: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """fir_up_conv3x3 with its weight-only work done: w_t from transposed_weight, fir from _fir_kernel."""
    y = F.conv_transpose2d(x, w_t, stride=2)                                                  # [N, O, 2n+1, 2n+1]
    return F.conv2d(y, fir, bias, padding=1, groups=w_t.shape[1])                             # [N, O, 2n, 2n]


def upsample_image(img: torch.Tensor, mode: str) -> torch.Tensor:
    """The skip image's 2x upsampling: bilinear (edge-clamped) or the zero-padded FIR."""
    if mode == "fir":
        return fir_upsample2x(img)
    return F.interpolate(img, scale_factor=2, mode="bilinear", align_corners=False)


class SynthesisLayer(nn.Module):
    """One style input: [upsample] conv (plain for adain, modulated for v2) -> noise -> bias + act
    [-> AdaIN]. The first adain layer has no conv: it styles the constant input."""

    def __init__(self, c_in: int, c_out: int, w_dim: int, res: int, variant: str, up: bool, conv: bool = True,
                 upsample: str = "bilinear", clamp: float | None = None):
        super().__init__()
        self.variant, self.up, self.res = variant, up, res
        self.upsample, self.clamp = upsample, clamp
        self.conv = EqualConv2d(c_in, c_out, 3, bias=False, gain=1.0) if conv else None
        if variant == "modulated":
            self.affine = EqualLinear(w_dim, c_in, gain=1.0, bias_init=1.0)     # w -> s (per input channel)
        else:
            self.affine = EqualLinear(w_dim, 2 * c_out, gain=1.0)                # w -> (ys, yb)
            with torch.no_grad():
                self.affine.bias[:c_out] = 1.0                                  # ys starts at 1
        self.noise_strength = nn.Parameter(torch.zeros(c_out))                  # learned per-channel scale
        self.register_buffer("noise_const", torch.randn(1, 1, res, res))
        self.bias = nn.Parameter(torch.zeros(c_out))
        self._prepared_for, self._prepared = None, None  # forward_fast's weight-only tensors, and their key

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor | None, fast: bool = False) -> torch.Tensor:
        if fast:
            return self.forward_fast(x, w, noise)
        fir = self.up and self.upsample == "fir"
        if self.up and not fir:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)  # low-pass 2x
        if self.variant == "modulated":
            x = modulated_conv2d(x, self.conv.weight * self.conv.scale, self.affine(w), up=fir)
        elif fir:
            x = fir_up_conv3x3(x, self.conv.weight * self.conv.scale)
        elif self.conv is not None:
            x = self.conv(x)
        if noise is not None:
            x = x + noise * self.noise_strength[None, :, None, None]
        x = F.leaky_relu(x + self.bias[None, :, None, None], 0.2) * SQRT2
        if self.clamp is not None:
            x = x.clamp(-self.clamp, self.clamp)
        if self.variant == "adain":
            ys, yb = self.affine(w).chunk(2, dim=1)
            x = adain(x, ys, yb)
        return x

    @torch.no_grad()
    def forward_fast(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        """forward() without autograd, in fewer passes over x (tests/unit/test_stylegan_fast.py checks
        they agree). The lrelu gain sqrt(2) moves into the weights and bias (lrelu(a x) = a lrelu(x) for
        a > 0); v2's style and demodulation go into the weights at batch 1, else into one
        multiply-add after a shared-weight conv; AdaIN is two means and one multiply-add; up
        layers use fir_up_conv3x3 in "fir" mode, and from 16x16 up_conv3x3 in "bilinear" mode (below 16x16 its
        border ring costs more than it saves)."""
        if x.device.type == "cpu":  # mkldnn's faster layout here (bench/compare_stylegan2_nvidia.py)
            x = x.contiguous(memory_format=torch.channels_last)
        b = self.bias * SQRT2
        fir_up = self.up and self.upsample == "fir"
        if fir_up:
            conv = fir_up_conv3x3
        elif self.up and x.shape[-1] >= 16:
            conv = up_conv3x3
        else:
            if self.up:
                x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            conv = lambda x, weight, bias: F.conv2d(x, weight, bias, padding=1)  # noqa: E731
        weight, weight_sq_t, w_t, fir = self._weight_prep(x) if self.conv is not None else (None,) * 4
        if self.variant == "modulated":
            s = self.affine(w)                                                        # [N, I]
            d = (s.square() @ weight_sq_t + 1e-8).rsqrt() * SQRT2                      # [N, O]
            if x.shape[0] == 1 and fir_up:  # the style and demodulation scale the transposed weight in place
                x = fir_up_conv3x3_t(x, w_t * (s[0, :, None] * d[0, None, :])[:, :, None, None], fir, b)
            elif x.shape[0] == 1:  # O*I*9 multiplies on the weights instead of two passes over x
                x = conv(x, weight * (d[0, :, None] * s[0, None, :])[:, :, None, None], b)
            else:
                x = torch.addcmul(b[None, :, None, None], conv(x * s[:, :, None, None], weight, None), d[:, :, None, None])
        elif weight is not None:
            x = conv(x, weight * SQRT2, b)
        else:  # the first AdaIN layer styles the constant itself
            x = x * SQRT2 + b[None, :, None, None]
        if noise is not None:
            x.addcmul_(noise, (self.noise_strength * SQRT2)[None, :, None, None])
        x = F.leaky_relu_(x, 0.2)
        if self.clamp is not None:
            x.clamp_(-self.clamp, self.clamp)
        if self.variant == "adain":  # Eq. 1, Karras et al. 2019, as ys / sigma * x + (yb - ys * mu / sigma)
            ys, yb = self.affine(w).chunk(2, dim=1)
            mu = x.mean(dim=(2, 3))                                                    # [N, C]
            var = (x.square().mean(dim=(2, 3)) - mu.square()).clamp_min(0)  # E[x^2] - E[x]^2: var_mean is 15x slower
            a = ys * (var + 1e-8).rsqrt()
            x = torch.addcmul((yb - a * mu)[:, :, None, None], x, a[:, :, None, None])
        return x

    def _weight_prep(self, like: torch.Tensor) -> tuple:
        """forward_fast's weight-only tensors, (weight [O, I, 3, 3] with its gain, sum of squares [I, O] for
        demodulation, fir mode's transposed weight and filter), recomputed only when the weight changes:
        its version counter moves with every in-place update (optimiser steps, load_state_dict) and its
        storage with .to(); at batch 1 they were a tenth of a render. Weights made under inference_mode
        (the app's model cache) have no version counter: they change only by replacing the model."""
        p = self.conv.weight
        key = (None if p.is_inference() else p._version, p.data_ptr(), p.dtype, p.device, like.dtype)
        if self._prepared_for != key:
            weight = (p * self.conv.scale).to(like.dtype)
            w_t = transposed_weight(weight) if self.up and self.upsample == "fir" else None
            fir = _fir_kernel(weight.shape[0], weight) if w_t is not None else None
            self._prepared = (weight, weight.square().sum(dim=(2, 3)).t().contiguous(), w_t, fir)
            self._prepared_for = key
        return self._prepared


class ToRGB(nn.Module):
    """1x1 conv to image channels; modulated by w (no demodulation) in the v2 variant."""

    def __init__(self, c_in: int, channels: int, w_dim: int, modulated: bool, clamp: float | None = None):
        super().__init__()
        self.clamp = clamp
        self.conv = EqualConv2d(c_in, channels, 1, bias=False, gain=1.0)
        self.affine = EqualLinear(w_dim, c_in, gain=1.0, bias_init=1.0) if modulated else None
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor | None) -> torch.Tensor:
        if self.affine is not None:
            x = modulated_conv2d(x, self.conv.weight * self.conv.scale, self.affine(w), demodulate=False)
        else:
            x = self.conv(x)
        x = x + self.bias[None, :, None, None]
        return x if self.clamp is None else x.clamp(-self.clamp, self.clamp)

    @torch.no_grad()
    def forward_fast(self, x: torch.Tensor, w: torch.Tensor | None) -> torch.Tensor:
        """forward() as one (batched) matmul, with the style in per-sample weights [N, C_img, I]."""
        n, c, h, wd = x.shape
        weight = (self.conv.weight[:, :, 0, 0] * self.conv.scale)[None]                # [1, C_img, I]
        if self.affine is not None:
            weight = weight * self.affine(w)[:, None, :]                               # [N, C_img, I]
        weight = weight.expand(n, -1, -1)
        if x.is_contiguous():
            y = torch.baddbmm(self.bias[None, :, None], weight, x.flatten(2)).view(n, -1, h, wd)
        else:
            y = torch.baddbmm(self.bias, x.permute(0, 2, 3, 1).reshape(n, h * wd, c), weight.transpose(1, 2))  # [N, HW, C_img]
            y = y.view(n, h, wd, -1).permute(0, 3, 1, 2)                             # channels-last [N, C_img, H, W]
        return y if self.clamp is None else y.clamp_(-self.clamp, self.clamp)


# ----------------------------------------------------------------------------- generator
class StyleGANGenerator(nn.Module):
    capabilities = Capabilities(mixing=True, noise=True, truncation=True, progressive=False)

    def __init__(self, cfg: StyleGANConfig):
        super().__init__()
        self.cfg = cfg
        self.z_dim, self.w_dim = cfg.z_dim, cfg.w_dim
        self.img_channels, self.img_resolution = cfg.channels, cfg.res
        v2 = cfg.variant == "modulated"
        self.c_dim = cfg.c_dim
        self.mapping_net = MappingNetwork(cfg.z_dim, cfg.w_dim, cfg.mapping_layers, cfg.mapping_lr_mul, cfg.c_dim)
        self.register_buffer("w_avg", torch.zeros(cfg.w_dim))
        c4 = cfg.width(4)
        self.const = nn.Parameter(torch.randn(1, c4, 4, 4))
        layers, to_rgb = [], []
        # Which w each layer reads, and each toRGB (v2: a toRGB shares the next block's first w).
        self.layer_w, self.rgb_w, self.rgb_after = [], [], []
        kw = dict(upsample=cfg.upsample, clamp=cfg.conv_clamp)
        if v2:
            layers.append(SynthesisLayer(c4, c4, cfg.w_dim, 4, cfg.variant, up=False, **kw))
        else:  # v1: style the constant, then a conv, at 4x4
            layers += [SynthesisLayer(c4, c4, cfg.w_dim, 4, cfg.variant, up=False, conv=False, **kw),
                       SynthesisLayer(c4, c4, cfg.w_dim, 4, cfg.variant, up=False, **kw)]
        for r in cfg.resolutions[1:]:
            c_in, c_out = cfg.width(r // 2), cfg.width(r)
            if v2:
                to_rgb.append(ToRGB(c_in, cfg.channels, cfg.w_dim, modulated=True, clamp=cfg.conv_clamp))
                self.rgb_after.append(len(layers) - 1)
            layers += [SynthesisLayer(c_in, c_out, cfg.w_dim, r, cfg.variant, up=True, **kw),
                       SynthesisLayer(c_out, c_out, cfg.w_dim, r, cfg.variant, up=False, **kw)]
        to_rgb.append(ToRGB(cfg.width(cfg.res), cfg.channels, cfg.w_dim, modulated=v2, clamp=cfg.conv_clamp))
        self.rgb_after.append(len(layers) - 1)
        self.layers, self.to_rgb = nn.ModuleList(layers), nn.ModuleList(to_rgb)
        if v2:  # layer i reads w_i; the toRGB after layer i reads w_{i+1}
            self.layer_w = list(range(len(layers)))
            self.rgb_w = [i + 1 for i in self.rgb_after]
        else:   # layer i reads w_i; the single toRGB reads no w
            self.layer_w = list(range(len(layers)))
            self.rgb_w = [None]
        self.num_ws = max(self.layer_w + [i for i in self.rgb_w if i is not None]) + 1
        assert self.num_ws == 2 * len(cfg.resolutions), self.num_ws

    # --------------------------------------------------------------- contract
    @property
    def num_layers(self) -> int:
        """Synthesis layers, each with one noise input."""
        return len(self.layers)

    def ws_resolutions(self) -> list[int]:
        """The resolution each entry of ws acts at (for coarse/middle/fine presets and labels)."""
        res = [0] * self.num_ws
        for i, k in enumerate(self.layer_w):
            res[k] = max(res[k], self.layers[i].res)
        for after, k in zip(self.rgb_after, self.rgb_w):
            if k is not None:
                res[k] = max(res[k], self.layers[after].res)
        return res

    def noise_resolutions(self) -> list[int]:
        return [layer.res for layer in self.layers]

    def feature_layers(self) -> list[tuple[str, nn.Module]]:
        """Every synthesis layer: conv0 (the upsampling one) and conv1 per resolution; at 4x4 the styled
        constant of StyleGAN (const) and conv1."""
        out: list[tuple[str, nn.Module]] = []
        for layer in self.layers:
            part = "const" if layer.conv is None else "conv0" if layer.up else "conv1"
            out.append((f"b{layer.res}.{part}", layer))
        return out

    def mapping(self, z: torch.Tensor, c: torch.Tensor | None = None, *, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None) -> torch.Tensor:
        """z [N, z_dim] (and for a conditional model c: class indices [N] or one-hot [N, c_dim]; None = the
        classes in turn, for statistics) -> ws [N, num_ws, w_dim]; truncation pulls the first `cutoff` ws
        towards w_avg: w' = w_avg + psi (w - w_avg) (Karras et al. 2019, Sec. 4 / App. B)."""
        assert z.ndim == 2 and z.shape[1] == self.z_dim, f"z must be [N, {self.z_dim}], got {tuple(z.shape)}"
        w = self.mapping_net(z, c)                                           # [N, w_dim]
        return truncate(w.unsqueeze(1).repeat(1, self.num_ws, 1), self.w_avg, truncation_psi, truncation_cutoff)

    @torch.no_grad()
    def update_w_avg(self, ws: torch.Tensor) -> None:
        """Track the moving average of w during training (beta = cfg.w_avg_beta per call)."""
        self.w_avg.copy_(ws[:, 0].detach().mean(dim=0).lerp(self.w_avg, self.cfg.w_avg_beta))

    def make_noise(self, n: int, noise_mode: str, generator: torch.Generator | None,
                   strength: list[float] | None = None) -> list[torch.Tensor | None]:
        """One noise map [n, 1, r, r] (or None) per layer, times an optional per-layer strength."""
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        if strength is not None and len(strength) != self.num_layers:
            raise ValueError(f"noise strength needs one value per layer ({self.num_layers}), got {len(strength)}")
        if noise_mode == "random" and generator is None:
            raise ValueError("noise_mode='random' needs a torch.Generator (pass noise_generator=...)")
        out = []
        for i, layer in enumerate(self.layers):
            s = 1.0 if strength is None else float(strength[i])
            if noise_mode == "none":
                out.append(None)
                continue
            if noise_mode == "const":
                noise = layer.noise_const
            else:  # drawn even at strength 0, so one layer's slider never shifts the others' noise
                noise = torch.randn(n, 1, layer.res, layer.res, generator=generator, device=generator.device)
                noise = noise.to(layer.noise_const.device)
            out.append(None if s == 0.0 else noise if s == 1.0 else noise * s)
        return out

    def synthesis(self, ws: torch.Tensor, *, noise_mode: str = "const", noise_generator: torch.Generator | None = None,
                  noise_strength: list[float] | None = None) -> torch.Tensor:
        assert ws.ndim == 3 and ws.shape[1:] == (self.num_ws, self.w_dim), \
            f"ws must be [N, {self.num_ws}, {self.w_dim}], got {tuple(ws.shape)}"
        noise = self.make_noise(ws.shape[0], noise_mode, noise_generator, noise_strength)
        state = self.initial_state(ws.shape[0])
        for i in range(self.num_layers):
            state = self.run_layer(i, state, ws, noise[i])
        return self.finish(state, ws)

    # Incremental rendering builds on these three steps: a state after layer i depends only on
    # ws[:, :layer i's w] and noise[:i + 1], so a control that acts at layer k re-runs k onwards.
    def initial_state(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.const.expand(n, -1, -1, -1), None  # (features [N, C, 4, 4], skip image or None)

    def run_layer(self, i: int, state, ws: torch.Tensor, noise: torch.Tensor | None):
        x, img = state
        fast = self.fast()
        x = self.layers[i](x, ws[:, self.layer_w[i]], noise, fast)
        if self.cfg.variant == "modulated" and i in self.rgb_after:
            j = self.rgb_after.index(i)
            if j < len(self.to_rgb) - 1:  # every toRGB but the last: accumulate the skip image
                rgb = self.to_rgb[j]
                y = (rgb.forward_fast if fast else rgb)(x, ws[:, self.rgb_w[j]])
                img = y if img is None else upsample_image(img, self.cfg.upsample) + y
        return x, img

    def fast(self) -> bool:
        """Whether synthesis runs the fused inference path: asked for, and no autograd needed."""
        return self.cfg.fast_inference and not torch.is_grad_enabled()

    def finish(self, state, ws: torch.Tensor) -> torch.Tensor:
        x, img = state
        k, rgb = self.rgb_w[-1], self.to_rgb[-1]
        y = (rgb.forward_fast if self.fast() else rgb)(x, ws[:, k] if k is not None else None)
        if img is not None:
            y = y + upsample_image(img, self.cfg.upsample)
        return y  # [N, C, res, res], nominally [-1, 1]

    def forward(self, z: torch.Tensor, *, truncation_psi: float = 1.0, noise_mode: str = "const",
                noise_generator: torch.Generator | None = None) -> torch.Tensor:
        return self.synthesis(self.mapping(z, truncation_psi=truncation_psi), noise_mode=noise_mode,
                              noise_generator=noise_generator)


# ----------------------------------------------------------------------------- discriminator
class _DBlock(nn.Module):
    """Residual block: two 3x3 convs and a 0.5x downsample, plus a 1x1 skip, scaled by 1/sqrt(2)
    (Karras et al. 2020, Fig. 7). The downsample is a 2x2 average after the second conv's activation;
    the reference blurs with [1, 3, 3, 1] and uses a stride-2 conv instead (a slightly wider low-pass
    before the stride). Kept so: trained discriminators are not shipped, and it is cheaper on a CPU."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv0 = EqualConv2d(c_in, c_in, 3, gain=1.0)
        self.conv1 = EqualConv2d(c_in, c_out, 3, gain=1.0)
        self.skip = EqualConv2d(c_in, c_out, 1, bias=False, gain=1.0)

    def forward(self, x):
        y = F.leaky_relu(self.conv0(x), 0.2) * SQRT2
        y = downsample2x(F.leaky_relu(self.conv1(y), 0.2) * SQRT2)
        return (y + self.skip(downsample2x(x))) / SQRT2


# The conditional D's class mapping (StyleGAN2-ADA's projection discriminator, Miyato & Koyama 2018): the
# one-hot class embedded to cmap_dim features (cmap_dim = the 4x4 width, NVIDIA's default), normalised, then a
# short MLP at the mapping network's lr multiplier. NVIDIA uses 8 layers there; 2 suffice to map a handful of
# classes, and keep D's cost where the images are.
D_MAPPING_LAYERS = 2
D_MAPPING_LR_MUL = 0.01


class _ClassMapping(nn.Module):
    """One-hot class c [N, c_dim] -> cmap [N, cmap_dim], the vector D's features are projected on."""

    def __init__(self, c_dim: int, cmap_dim: int):
        super().__init__()
        self.c_dim = c_dim
        self.embed = EqualLinear(c_dim, cmap_dim, gain=1.0)
        self.fcs = nn.ModuleList(EqualLinear(cmap_dim, cmap_dim, lr_mul=D_MAPPING_LR_MUL, gain=1.0)
                                 for _ in range(D_MAPPING_LAYERS))

    def forward(self, c: torch.Tensor, n: int) -> torch.Tensor:
        x = self.embed(one_hot(c, self.c_dim, n).to(self.embed.weight))  # [N, cmap_dim]
        x = x * (x.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()    # unit second moment
        for fc in self.fcs:
            x = F.leaky_relu(fc(x), 0.2) * SQRT2
        return x                                                          # [N, cmap_dim]


class StyleGANDiscriminator(nn.Module):
    """StyleGAN2's residual D (Karras et al. 2020, Fig. 7c). With cfg.c_dim > 0 it is conditional as in
    StyleGAN2-ADA: the last layer gives cmap_dim features instead of one logit, and the logit is their dot
    product with the class's mapping, (features . cmap) / sqrt(cmap_dim). With c_dim = 0 its parameters,
    state-dict keys and outputs are those it always had (the new modules exist only when c_dim > 0, built
    after the others, so the same seed draws the same shared weights)."""

    def __init__(self, cfg: StyleGANConfig):
        super().__init__()
        self.cfg = cfg
        self.c_dim = int(getattr(cfg, "c_dim", 0) or 0)
        self.from_rgb = EqualConv2d(cfg.channels, cfg.width(cfg.res), 1, gain=1.0)
        self.blocks = nn.Sequential(*[_DBlock(cfg.width(r), cfg.width(r // 2)) for r in reversed(cfg.resolutions[1:])])
        c4 = cfg.width(4)
        self.mbstd = MinibatchStd(cfg.mbstd_group) if cfg.mbstd_group else None
        self.conv = EqualConv2d(c4 + (1 if self.mbstd else 0), c4, 3, gain=1.0)
        self.fc = EqualLinear(c4 * 16, c4, gain=1.0)
        self.cmap_dim = c4 if self.c_dim else 0
        self.out = EqualLinear(c4, self.cmap_dim or 1, gain=1.0)
        self.mapping = _ClassMapping(self.c_dim, self.cmap_dim) if self.c_dim else None

    def forward(self, img: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """img [N, C, res, res] (and for a conditional D its classes c: indices [N] or one-hot [N, c_dim])
        -> logits [N]."""
        cfg = self.cfg
        assert img.ndim == 4 and img.shape[1:] == (cfg.channels, cfg.res, cfg.res), \
            f"D expects [N, {cfg.channels}, {cfg.res}, {cfg.res}], got {tuple(img.shape)}"
        if (c is None) != (self.mapping is None):
            raise ValueError(f"this discriminator is conditional on {self.c_dim} classes: give each image's class"
                             if c is None else "this discriminator is unconditional: it takes no classes")
        x = F.leaky_relu(self.from_rgb(img), 0.2) * SQRT2
        x = self.blocks(x)                                                   # [N, c4, 4, 4]
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = F.leaky_relu(self.conv(x), 0.2) * SQRT2
        x = F.leaky_relu(self.fc(x.flatten(1)), 0.2) * SQRT2
        x = self.out(x)                                                      # [N, 1] or [N, cmap_dim]
        if self.mapping is not None:
            cmap = self.mapping(c, len(img)).to(x.device)                    # [N, cmap_dim]
            x = (x * cmap).sum(dim=1) / math.sqrt(self.cmap_dim)             # projection (StyleGAN2-ADA)
        return x.flatten()                                                   # [N]
