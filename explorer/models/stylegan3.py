"""StyleGAN3, the alias-free generator (Karras et al. 2021), -T and -R, behind the generator contract.

Mapping: as StyleGAN2's (z -> normalise -> MLP with lr multiplier 0.01 -> w, w_avg for truncation), here
2 layers by default. Synthesis: Fourier features (SynthesisInput: random frequencies in a disc, rotated and
translated by an affine of w[0] and by the user's transform) instead of a learned constant, then
cfg.num_layers modulated convs, each followed by the filtered leaky ReLU (sg3_filters.py), then a ToRGB
layer; per-layer sizes, sampling rates, cutoffs and widths follow the paper's geometric schedule
(layer_specs). -T: 3x3 convs, separable Kaiser filters. -R (conv_kernel=1, use_radial_filters=True):
1x1 convs and radially symmetric downsampling filters (rotation equivariance). Each layer's input is
scaled by its magnitude EMA's rsqrt (tracked during training), and clamped at conv_clamp. There is no
per-pixel noise.

API for the explorer (beyond the generator contract):
    G = build_generator("stylegan3", config)        # ARCHITECTURES["stylegan3"], title "StyleGAN3"
    G.capabilities                                  # mixing, truncation; noise=False: no noise controls
    G.cfg.variant                                   # "stylegan3-t" or "stylegan3-r"
    T = G.input_transform(tx, ty, angle)            # [3, 3]: translate by (tx, ty) image widths, rotate
                                                    #   by `angle` degrees counter-clockwise (NVIDIA's
                                                    #   gen_images.py --translate/--rotate)
    img = G.synthesis(ws, transform=T)              # T [3, 3] or [N, 3, 3]; None = the stored identity
    img = G(z, truncation_psi=0.7, transform=T)
Layer by layer (the StyleRenderer): state = G.initial_state(n, transform=T); state = G.run_layer(i, state,
ws, None) for i < G.num_layers; img = G.finish(state, ws). Layer 0 is the Fourier input (reads ws[0]),
layers 1.. the synthesis layers; the ToRGB (ws[num_ws - 1]) runs in finish. The transform enters at
layer 0 only, so a cache of layer states must be keyed by it: a moved translate/rotate slider re-runs
every layer. Nothing is random at render time: the frequencies and phases are buffers.

Speed: without autograd (cfg.fast_inference) layers run the fused path: modulation as one activation scale
and a shared-weight conv, demodulation and bias in one multiply-add, polyphase filtered lrelu in
channels-last (and fp16 convs on CUDA for the layers the checkpoint marks, as NVIDIA's code does).
With autograd, or fast_inference=False, the reference path (per-sample grouped conv, zero-stuffed filters)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import sg3_filters as filt
from .classes import check_classes
from .layers import NOISE_MODES, Capabilities, EqualLinear
from .stylegan import MappingNetwork, truncate


@dataclass
class StyleGAN3Config:
    res: int = 64                # output resolution in pixels; a power of two in [16, 1024]
    channels: int = 3            # image channels: 1 = grayscale, 3 = RGB
    z_dim: int = 128             # latent size
    w_dim: int = 128             # intermediate latent size
    mapping_layers: int = 2      # MLP depth of the mapping network (NVIDIA's StyleGAN3 default)
    mapping_lr_mul: float = 0.01  # learning-rate multiplier of the mapping network
    w_avg_beta: float = 0.998    # decay of the moving average of w that truncation pulls towards
    # Widths: channels at cutoff f_c = channel_base / 2 / f_c, at most channel_max (the paper: 32768, 512;
    # -R doubles both).
    channel_base: int = 8192     # overall multiplier of the number of channels
    channel_max: int = 128       # widest synthesis layer
    num_layers: int = 14         # synthesis layers, not counting the Fourier input and the ToRGB
    num_critical: int = 2        # critically sampled layers at the end
    first_cutoff: float = 2.0    # cutoff frequency of the first layer (f_c,0), cycles per image
    first_stopband: float = 2**2.1     # minimum stopband of the first layer (f_t,0)
    last_stopband_rel: float = 2**0.3  # minimum stopband of the last layer, relative to its cutoff
    margin_size: int = 10        # pixels computed outside the image on each side
    output_scale: float = 0.25   # the image is the ToRGB output times this
    num_fp16_res: int = 4        # layers whose sampling rate is within this many octaves of res run fp16 (CUDA only)
    conv_kernel: int = 3         # 3 = StyleGAN3-T, 1 = StyleGAN3-R (the ToRGB is always 1x1)
    filter_size: int = 6         # low-pass taps per lower-resolution sample when resampling
    lrelu_upsampling: int = 2    # how much higher than the features' the activation's sampling rate is
    use_radial_filters: bool = False  # radially symmetric downsampling filters (StyleGAN3-R)
    conv_clamp: float | None = 256.0  # clamp each layer's activations to +-this; None = no clamp
    c_dim: int = 0               # classes of a conditional model (0 = unconditional); see models/classes.py
    class_names: list[str] | None = None  # each class's name (None: shown as its index)
    magnitude_ema_beta: float = 0.999  # decay of the moving average of each layer's input magnitude
    fast_inference: bool = True  # without autograd, render through the fused path (same images; False = reference)
    mbstd_group: int = 4         # D's minibatch-stddev group size (0 = off); D is StyleGAN2's

    def __post_init__(self):
        check_classes(self.c_dim, self.class_names)
        if self.res < 16 or self.res > 1024 or self.res & (self.res - 1):
            raise ValueError(f"StyleGAN3 res must be a power of two between 16 and 1024, got {self.res}")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {self.channels}")
        if self.conv_kernel not in (1, 3):
            raise ValueError(f"conv_kernel must be 3 (StyleGAN3-T) or 1 (StyleGAN3-R), got {self.conv_kernel}")
        if self.num_layers < 2 or not 0 <= self.num_critical < self.num_layers:
            raise ValueError("num_layers must be at least 2 and num_critical below it")
        if self.mapping_layers < 1:
            raise ValueError("mapping_layers must be at least 1")
        if self.conv_clamp is not None and not self.conv_clamp > 0:
            raise ValueError(f"conv_clamp must be positive or None, got {self.conv_clamp}")

    @property
    def variant(self) -> str:
        """"stylegan3-r" (1x1 convs) or "stylegan3-t", NVIDIA's --cfg names."""
        return "stylegan3-r" if self.conv_kernel == 1 else "stylegan3-t"

    # StyleGAN2's discriminator (which NVIDIA trains StyleGAN3 with) reads these two.
    @property
    def resolutions(self) -> list[int]:
        return [2**k for k in range(2, int(math.log2(self.res)) + 1)]

    def width(self, r: int) -> int:
        return int(min(self.channel_base // r, self.channel_max))


# forward_fast's tile on a CPU: samples x output channels whose upsampled grid holds about this many values.
TILE_ELEMENTS = 1 << 21

# A tiny CPU config that builds in milliseconds (tests/unit/test_contract.py).
TINY = {"res": 16, "channels": 3, "z_dim": 8, "w_dim": 8, "channel_base": 64, "channel_max": 8, "num_layers": 4,
        "num_critical": 1, "margin_size": 2}


@dataclass(frozen=True)
class LayerSpec:
    """One synthesis layer's geometry (NVIDIA's SynthesisNetwork.__init__, which the importer checks)."""

    is_torgb: bool
    is_critically_sampled: bool
    use_fp16: bool
    in_channels: int
    out_channels: int
    in_size: int
    out_size: int
    in_sampling_rate: int
    out_sampling_rate: int
    in_cutoff: float
    out_cutoff: float
    in_half_width: float
    out_half_width: float

    @property
    def name(self) -> str:
        return f"{self.out_size}_{self.out_channels}"


def layer_specs(cfg: StyleGAN3Config) -> tuple[dict, list[LayerSpec]]:
    """(the Fourier input's channels/size/sampling_rate/bandwidth, one LayerSpec per layer incl. the ToRGB):
    cutoffs and stopbands grow geometrically to res / 2 (Karras et al. 2021, Sec. 3.2 / Fig. 4), computed
    in float64 exactly as NVIDIA's code does, so imported filters and paddings line up."""
    res, n = cfg.res, cfg.num_layers
    last_cutoff = res / 2
    last_stopband = last_cutoff * cfg.last_stopband_rel
    exponents = np.minimum(np.arange(n + 1) / (n - cfg.num_critical), 1)
    cutoffs = cfg.first_cutoff * (last_cutoff / cfg.first_cutoff) ** exponents
    stopbands = cfg.first_stopband * (last_stopband / cfg.first_stopband) ** exponents
    rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, res))))
    half_widths = np.maximum(stopbands, rates / 2) - cutoffs
    sizes = rates + cfg.margin_size * 2
    sizes[-2:] = res
    channels = np.rint(np.minimum((cfg.channel_base / 2) / cutoffs, cfg.channel_max))
    channels[-1] = cfg.channels
    inp = {"channels": int(channels[0]), "size": int(sizes[0]), "sampling_rate": float(rates[0]),
           "bandwidth": float(cutoffs[0])}
    specs = []
    for i in range(n + 1):
        p = max(i - 1, 0)
        specs.append(LayerSpec(i == n, i >= n - cfg.num_critical, bool(rates[i] * 2**cfg.num_fp16_res > res),
                               int(channels[p]), int(channels[i]), int(sizes[p]), int(sizes[i]), int(rates[p]),
                               int(rates[i]), float(cutoffs[p]), float(cutoffs[i]), float(half_widths[p]),
                               float(half_widths[i])))
    return inp, specs


# ----------------------------------------------------------------------------- synthesis input
class SynthesisInput(nn.Module):
    """Fourier features: sin(2 pi (<f_c, xy> + phase_c)) for `channels` random frequencies f_c in a disc of
    radius `bandwidth`, sampled on a size x size grid at `sampling_rate`, then mixed by a learned matrix.
    An affine of w gives a rotation and a translation of the features; the user's transform follows them."""

    def __init__(self, w_dim: int, channels: int, size: int, sampling_rate: float, bandwidth: float):
        super().__init__()
        self.channels, self.size, self.sampling_rate, self.bandwidth = channels, size, sampling_rate, bandwidth
        freqs = torch.randn(channels, 2)
        radii = freqs.square().sum(dim=1, keepdim=True).sqrt()
        freqs /= radii * radii.square().exp().pow(0.25)            # uniform in the disc (NVIDIA's draw)
        freqs *= bandwidth
        self.weight = nn.Parameter(torch.randn(channels, channels))
        self.affine = EqualLinear(w_dim, 4, gain=1.0)              # w -> (r_c, r_s, t_x, t_y)
        with torch.no_grad():
            self.affine.weight.zero_()
            self.affine.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0]))
        self.register_buffer("transform", torch.eye(3))             # the stored user transform (identity)
        self.register_buffer("freqs", freqs)                        # [C, 2] cycles per image
        self.register_buffer("phases", torch.rand(channels) - 0.5)  # [C] cycles

    def grid(self, like: torch.Tensor) -> torch.Tensor:
        """[1, size, size, 2] sample positions, image units (the image spans sampling_rate samples)."""
        theta = torch.eye(2, 3, device=like.device, dtype=like.dtype)
        theta[0, 0] = theta[1, 1] = 0.5 * self.size / self.sampling_rate
        return F.affine_grid(theta[None], [1, 1, self.size, self.size], align_corners=False)

    def forward(self, w: torch.Tensor, transform: torch.Tensor | None = None) -> torch.Tensor:
        n = w.shape[0]
        user = self.transform if transform is None else transform.to(w)
        user = user.expand(n, 3, 3) if user.ndim == 2 else user                       # [N, 3, 3]
        t = self.affine(w)                                                            # [N, 4]
        t = t / t[:, :2].norm(dim=1, keepdim=True)
        m_r = torch.eye(3, device=w.device, dtype=w.dtype).repeat(n, 1, 1)           # inverse rotation
        m_r[:, 0, 0], m_r[:, 0, 1], m_r[:, 1, 0], m_r[:, 1, 1] = t[:, 0], -t[:, 1], t[:, 1], t[:, 0]
        m_t = torch.eye(3, device=w.device, dtype=w.dtype).repeat(n, 1, 1)           # inverse translation
        m_t[:, 0, 2], m_t[:, 1, 2] = -t[:, 2], -t[:, 3]
        m = m_r @ m_t @ user                          # rotate the image, then translate, then the user's
        phases = self.phases[None] + (self.freqs[None] @ m[:, :2, 2:]).squeeze(2)     # [N, C]
        freqs = self.freqs[None] @ m[:, :2, :2]                                       # [N, C, 2]
        # Frequencies a user transform pushed out of band fade out instead of aliasing.
        amp = (1 - (freqs.norm(dim=2) - self.bandwidth) / (self.sampling_rate / 2 - self.bandwidth)).clamp(0, 1)
        grid = self.grid(w)                                                           # [1, H, W, 2]
        x = (grid.unsqueeze(3) @ freqs.permute(0, 2, 1).unsqueeze(1).unsqueeze(2)).squeeze(3)  # [N, H, W, C]
        x = torch.sin((x + phases[:, None, None]) * (2 * np.pi)) * amp[:, None, None]
        x = x @ (self.weight / math.sqrt(self.channels)).t()
        return x.permute(0, 3, 1, 2)                  # [N, C, H, W] (channels-last in memory)


# ----------------------------------------------------------------------------- synthesis layer
class SynthesisLayer(nn.Module):
    """Modulated conv (Karras et al. 2021, App. D: weights and styles pre-normalised, input scaled by the
    magnitude EMA) -> filtered leaky ReLU. The ToRGB is one of these: 1x1, not demodulated, linear."""

    def __init__(self, spec: LayerSpec, cfg: StyleGAN3Config):
        super().__init__()
        self.spec = spec
        self.is_torgb = spec.is_torgb
        self.use_fp16 = spec.use_fp16
        self.in_channels, self.out_channels = spec.in_channels, spec.out_channels
        self.in_size, self.out_size = spec.in_size, spec.out_size
        self.conv_kernel = 1 if spec.is_torgb else cfg.conv_kernel
        self.conv_clamp = cfg.conv_clamp
        self.magnitude_ema_beta = cfg.magnitude_ema_beta
        tmp_rate = max(spec.in_sampling_rate, spec.out_sampling_rate) * (1 if spec.is_torgb else cfg.lrelu_upsampling)
        self.affine = EqualLinear(cfg.w_dim, spec.in_channels, gain=1.0, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(spec.out_channels, spec.in_channels, self.conv_kernel, self.conv_kernel))
        self.bias = nn.Parameter(torch.zeros(spec.out_channels))
        self.register_buffer("magnitude_ema", torch.ones([]))
        self.up_factor = int(np.rint(tmp_rate / spec.in_sampling_rate))
        self.up_taps = cfg.filter_size * self.up_factor if self.up_factor > 1 and not spec.is_torgb else 1
        self.register_buffer("up_filter", filt.design_lowpass(self.up_taps, spec.in_cutoff, spec.in_half_width * 2,
                                                              tmp_rate))
        self.down_factor = int(np.rint(tmp_rate / spec.out_sampling_rate))
        self.down_taps = cfg.filter_size * self.down_factor if self.down_factor > 1 and not spec.is_torgb else 1
        self.down_radial = cfg.use_radial_filters and not spec.is_critically_sampled
        self.register_buffer("down_filter", filt.design_lowpass(self.down_taps, spec.out_cutoff,
                                                                spec.out_half_width * 2, tmp_rate, self.down_radial))
        # Padding of the upsampled signal so the output has out_size samples, centred (App. C.3).
        total = (spec.out_size - 1) * self.down_factor + 1
        total -= (spec.in_size + self.conv_kernel - 1) * self.up_factor
        total += self.up_taps + self.down_taps - 2
        lo = (total + self.up_factor) // 2
        self.padding = (lo, total - lo, lo, total - lo)
        self.gain, self.slope = (1.0, 1.0) if spec.is_torgb else (math.sqrt(2), 0.2)
        self._prepared_for, self._prepared = None, None

    def styles(self, w: torch.Tensor) -> torch.Tensor:
        s = self.affine(w)                                                          # [N, I]
        return s / math.sqrt(self.in_channels * self.conv_kernel**2) if self.is_torgb else s

    @torch.no_grad()
    def update_magnitude_ema(self, x: torch.Tensor) -> None:
        self.magnitude_ema.copy_(x.detach().float().square().mean().lerp(self.magnitude_ema, self.magnitude_ema_beta))

    def forward(self, x: torch.Tensor, w: torch.Tensor, fast: bool = False) -> torch.Tensor:
        assert x.shape[1:] == (self.in_channels, self.in_size, self.in_size), tuple(x.shape)
        return self.forward_fast(x, w) if fast else self.forward_ref(x, w)

    def forward_ref(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """Per-sample modulated weights in a grouped conv, then the step-by-step filtered lrelu."""
        n, k = x.shape[0], self.conv_kernel
        s = self.styles(w)
        weight = self.weight[None]                                                  # [1, O, I, k, k]
        if not self.is_torgb:  # pre-normalise, modulate, demodulate (per sample: NVIDIA's batch-wide
            weight = weight * weight.square().mean([2, 3, 4], keepdim=True).rsqrt()  # style norm differs by eps only)
            s = s * s.square().mean(dim=1, keepdim=True).rsqrt()
        weight = weight * s[:, None, :, None, None]                                 # [N, O, I, k, k]
        if not self.is_torgb:
            weight = weight * (weight.square().sum(dim=[2, 3, 4], keepdim=True) + 1e-8).rsqrt()
        weight = weight * self.magnitude_ema.rsqrt()
        y = F.conv2d(x.reshape(1, -1, *x.shape[2:]), weight.reshape(-1, self.in_channels, k, k), padding=k - 1,
                     groups=n).reshape(n, self.out_channels, *[d + k - 1 for d in x.shape[2:]])
        return filt.filtered_lrelu_ref(y, self.up_filter, self.down_filter, self.bias, self.up_factor,
                                       self.down_factor, self.padding, self.gain, self.slope, self.conv_clamp)

    def _weight_prep(self, like: torch.Tensor) -> tuple:
        """forward_fast's weight-only tensors (normalised weight, its squared sums, filter kernels), kept until
        the weights change (their version counter and storage, as in StyleGAN2's SynthesisLayer)."""
        p = self.weight
        key = (None if p.is_inference() else p._version, p.data_ptr(), p.device, like.dtype)
        if self._prepared_for != key:
            weight = p.float()
            if not self.is_torgb:
                weight = weight * weight.square().mean([1, 2, 3], keepdim=True).rsqrt()
            sq = weight.square().sum(dim=(2, 3)).t().contiguous()                  # [I, O]
            weight = weight.to(like.dtype).contiguous(memory_format=torch.channels_last)
            c = self.out_channels
            up_k = None if self.up_filter is None else \
                tuple(k.to(like.dtype) for k in filt.up_kernels(self.up_filter.float(), c, self.up_factor, self.gain))
            down_k = None if self.down_filter is None else \
                tuple(k.to(like.dtype) for k in filt.down_kernels(self.down_filter.float(), c))
            self._prepared, self._prepared_for = (weight, sq, up_k, down_k), key
        return self._prepared

    @torch.no_grad()
    def forward_fast(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """forward_ref without autograd, in fewer passes: conv(x * s * g, W) * d = the modulated conv, the
        demodulation d and the bias in one multiply-add, the filters as polyphase/strided depthwise convs
        (tests/unit/test_stylegan3.py checks they agree). Run in tiles of samples x output channels whose
        upsampled grid holds at most TILE_ELEMENTS values: the activation runs at 4x the features' pixels,
        and tensors that big are fresh pages from the OS on every call (3-5x slower than reused memory
        measured here); tiles that size are recycled by the allocator. The conv runs whole (in tiles of
        output channels it would re-read its input once per tile)."""
        half = self.use_fp16 and x.device.type == "cuda"
        dtype = torch.float16 if half else torch.float32
        weight, sq, up_k, down_k = self._weight_prep(torch.empty(0, dtype=dtype, device=x.device))
        s = self.styles(w).float()
        if not self.is_torgb:
            s = s * s.square().mean(dim=1, keepdim=True).rsqrt()
        a = s * self.magnitude_ema.rsqrt()                                           # [N, I]
        x = (x * a[:, :, None, None].to(x.dtype)).to(dtype).contiguous(memory_format=torch.channels_last)
        d = None if self.is_torgb else (s.square() @ sq + 1e-8).rsqrt().to(dtype)    # [N, O] demodulation
        b = self.bias.to(dtype)
        n, c, k = x.shape[0], self.out_channels, self.conv_kernel
        if k == 1:  # one GEMM over the pixels (channels-last): F.conv2d takes a slow im2col path for 1x1 here
            h = x.shape[-1]
            y = (x.permute(0, 2, 3, 1).reshape(-1, x.shape[1]) @ weight[:, :, 0, 0].t()).view(n, h, h, c)
            y = y.permute(0, 3, 1, 2)                                                # [N, O, H, W] channels-last
        else:
            y = F.conv2d(x, weight, padding=k - 1)                                   # [N, O, H + k - 1, W + k - 1]
        y = y.add_(b[None, :, None, None]) if d is None else \
            torch.addcmul(b[None, :, None, None], y, d[:, :, None, None], out=y)
        grid = y.shape[-1] ** 2 * self.up_factor**2                                  # per sample and channel
        cs = c if x.device.type != "cpu" else min(c, max(8, TILE_ELEMENTS // grid))
        ns = n if x.device.type != "cpu" else max(1, min(n, TILE_ELEMENTS // (grid * cs)))
        rows = []
        for i in range(0, n, ns):
            tiles = []
            for j in range(0, c, cs):
                uk = None if up_k is None else tuple(t[j:j + cs] for t in up_k)
                dk = None if down_k is None else tuple(t[j:j + cs] for t in down_k)
                tiles.append(filt.filtered_lrelu_fast(y[i:i + ns, j:j + cs], uk, dk, None, self.up_factor,
                                                      self.down_factor, self.padding,
                                                      1.0 if uk is not None else self.gain, self.slope,
                                                      self.conv_clamp, self.up_taps))
            rows.append(tiles[0] if len(tiles) == 1 else torch.cat(tiles, 1))
        y = rows[0] if len(rows) == 1 else torch.cat(rows, 0)
        return y.float() if half else y


# ----------------------------------------------------------------------------- generator
class StyleGAN3Generator(nn.Module):
    capabilities = Capabilities(mixing=True, noise=False, truncation=True, progressive=False)

    def __init__(self, cfg: StyleGAN3Config):
        super().__init__()
        self.cfg = cfg
        self.z_dim, self.w_dim = cfg.z_dim, cfg.w_dim
        self.img_channels, self.img_resolution = cfg.channels, cfg.res
        self.c_dim = cfg.c_dim
        self.mapping_net = MappingNetwork(cfg.z_dim, cfg.w_dim, cfg.mapping_layers, cfg.mapping_lr_mul, cfg.c_dim)
        self.register_buffer("w_avg", torch.zeros(cfg.w_dim))
        inp, specs = layer_specs(cfg)
        self.specs = specs
        # Our layer 0 is the Fourier input, 1.. the synthesis layers; the ToRGB is to_rgb[0].
        self.layers = nn.ModuleList([SynthesisInput(cfg.w_dim, **inp)] + [SynthesisLayer(s, cfg) for s in specs[:-1]])
        self.to_rgb = nn.ModuleList([SynthesisLayer(specs[-1], cfg)])
        self.num_ws = cfg.num_layers + 2
        self.layer_w = list(range(cfg.num_layers + 1))
        self.rgb_after, self.rgb_w = [cfg.num_layers], [cfg.num_layers + 1]
        self._res = [filt.log2_round(2 * inp["bandwidth"])] + [filt.log2_round(2 * s.out_cutoff) for s in specs]

    @property
    def input(self) -> SynthesisInput:
        return self.layers[0]

    # --------------------------------------------------------------- contract
    @property
    def num_layers(self) -> int:
        """The Fourier input and the synthesis layers (the ToRGB runs in finish)."""
        return len(self.layers)

    def ws_resolutions(self) -> list[int]:
        """Per ws entry: twice its layer's cutoff frequency, rounded to a power of two: the finest detail
        (in pixels across the image) the layer shapes, so coarse/middle/fine fall as in StyleGAN2."""
        return list(self._res)

    def noise_resolutions(self) -> list[int]:
        """Per layer, as ws_resolutions (StyleGAN3 has no noise inputs; the labels only)."""
        return self._res[: self.num_layers]

    def feature_layers(self) -> list[tuple[str, nn.Module]]:
        """The Fourier input and every synthesis layer, named as NVIDIA names them (L{i}_{size}_{channels})."""
        out: list[tuple[str, nn.Module]] = [("input", self.input)]
        for i, layer in enumerate(self.layers[1:]):
            out.append((f"L{i}_{layer.spec.name}", layer))
        return out

    def mapping(self, z: torch.Tensor, c: torch.Tensor | None = None, *, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None) -> torch.Tensor:
        """z [N, z_dim] (and c for a conditional model, as StyleGANGenerator.mapping takes it) -> ws
        [N, num_ws, w_dim], the first `cutoff` pulled towards w_avg by psi."""
        assert z.ndim == 2 and z.shape[1] == self.z_dim, f"z must be [N, {self.z_dim}], got {tuple(z.shape)}"
        ws = self.mapping_net(z, c).unsqueeze(1).repeat(1, self.num_ws, 1)      # [N, num_ws, w_dim]
        return truncate(ws, self.w_avg, truncation_psi, truncation_cutoff)

    @torch.no_grad()
    def update_w_avg(self, ws: torch.Tensor) -> None:
        self.w_avg.copy_(ws[:, 0].detach().mean(dim=0).lerp(self.w_avg, self.cfg.w_avg_beta))

    def make_noise(self, n: int, noise_mode: str, generator: torch.Generator | None,
                   strength: list[float] | None = None) -> list[None]:
        """StyleGAN3 has no noise inputs: None per layer, whatever the mode."""
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        if strength is not None and len(strength) != self.num_layers:
            raise ValueError(f"noise strength needs one value per layer ({self.num_layers}), got {len(strength)}")
        return [None] * self.num_layers

    @staticmethod
    def input_transform(tx: float = 0.0, ty: float = 0.0, angle: float = 0.0) -> torch.Tensor:
        """The [3, 3] transform that translates the image by (tx, ty) image widths and rotates it by `angle`
        degrees: the inverse of gen_images.py's make_transform(translate, rotate), as NVIDIA's tools set
        G.synthesis.input.transform."""
        a = math.radians(angle)
        m = torch.tensor([[math.cos(a), math.sin(a), tx], [-math.sin(a), math.cos(a), ty], [0.0, 0.0, 1.0]],
                         dtype=torch.float64)
        return torch.linalg.inv(m).float()

    def _check_transform(self, transform: torch.Tensor | None, n: int) -> None:
        if transform is not None:
            assert transform.shape in ((3, 3), (n, 3, 3)), f"transform must be [3, 3] or [{n}, 3, 3]"

    def synthesis(self, ws: torch.Tensor, *, noise_mode: str = "const", noise_generator: torch.Generator | None = None,
                  noise_strength: list[float] | None = None, transform: torch.Tensor | None = None,
                  update_emas: bool = False) -> torch.Tensor:
        """ws [N, num_ws, w_dim] -> image [N, C, res, res]; transform as initial_state's. The noise arguments are
        accepted for the renderers' sake and change nothing; update_emas tracks the magnitude EMAs (training)."""
        assert ws.ndim == 3 and ws.shape[1:] == (self.num_ws, self.w_dim), \
            f"ws must be [N, {self.num_ws}, {self.w_dim}], got {tuple(ws.shape)}"
        self.make_noise(ws.shape[0], noise_mode, noise_generator, noise_strength)
        state = self.initial_state(ws.shape[0], transform=transform)
        for i in range(self.num_layers):
            state = self.run_layer(i, state, ws, None, update_emas=update_emas)
        return self.finish(state, ws, update_emas=update_emas)

    def initial_state(self, n: int, transform: torch.Tensor | None = None):
        """(features or None, n, transform): transform [3, 3] or [n, 3, 3] (input_transform's), None = stored."""
        self._check_transform(transform, n)
        return None, n, transform

    def fast(self) -> bool:
        return self.cfg.fast_inference and not torch.is_grad_enabled()

    def run_layer(self, i: int, state, ws: torch.Tensor, noise: torch.Tensor | None = None, *,
                  update_emas: bool = False):
        x, n, transform = state
        w = ws[:, self.layer_w[i]].float()
        if i == 0:
            return self.input(w, transform), n, transform
        layer = self.layers[i]
        if update_emas:
            layer.update_magnitude_ema(x)
        return layer(x, w, self.fast()), n, transform

    def finish(self, state, ws: torch.Tensor, *, update_emas: bool = False) -> torch.Tensor:
        x, _, _ = state
        rgb = self.to_rgb[0]
        if update_emas:
            rgb.update_magnitude_ema(x)
        img = rgb(x, ws[:, self.rgb_w[0]].float(), self.fast())
        return (img * self.cfg.output_scale).contiguous()  # [N, C, res, res], nominally [-1, 1]

    def forward(self, z: torch.Tensor, *, truncation_psi: float = 1.0, truncation_cutoff: int | None = None,
                noise_mode: str = "const", noise_generator: torch.Generator | None = None,
                transform: torch.Tensor | None = None) -> torch.Tensor:
        ws = self.mapping(z, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, noise_mode=noise_mode, noise_generator=noise_generator, transform=transform)
