"""StyleGAN3's low-pass filters and its filtered leaky ReLU (Karras et al. 2021, Sec. 3.2 and App. C-D), in
plain PyTorch and numpy.

A synthesis layer's nonlinearity runs at a higher sampling rate than its features: add the bias, upsample
(zero-stuff by `up`, pad, convolve with the separable Kaiser filter fu), multiply by the gain, leaky ReLU,
clamp, then low-pass again (fd: separable, or for StyleGAN3-R a radially symmetric jinc filter) and keep
every `down`-th sample. Two implementations:
- filtered_lrelu_ref: that sequence step by step, on the zero-stuffed signal (NVIDIA's reference order),
  for autograd and as the check;
- filtered_lrelu_fast: the same sums in fewer multiply-adds. Upsampling is a depthwise transposed conv of
  stride `up` per axis (polyphase: only the 1/up non-zero taps per output are multiplied), the gain rides
  on the filter (lrelu(a x) = a lrelu(x) for a > 0), the activation and clamp run in place, and the
  downsampling is a depthwise conv of stride `down` per axis (only the kept samples are computed), all in
  channels-last, which mkldnn's depthwise kernels run 3-10x faster than NCHW here (bench/stylegan3_speed.py).
tests/unit/test_stylegan3.py checks the two agree to 1e-5 on every layer geometry StyleGAN3 uses.

The filter design matches scipy.signal.firwin(numtaps, cutoff, width=width, fs=fs) and NVIDIA's jinc design
(scipy.special.j1), recomputed here with numpy so the models need no scipy; an imported checkpoint carries
its own filters as buffers anyway."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F


# ----------------------------------------------------------------------------- filter design
def kaiser_atten(numtaps: int, width: float) -> float:
    """Attenuation (dB) of a Kaiser FIR filter of `numtaps` and transition `width` (fraction of Nyquist)."""
    return 2.285 * (numtaps - 1) * np.pi * width + 7.95


def kaiser_beta(a: float) -> float:
    """Kaiser window beta for attenuation a dB (Kaiser's empirical formula, as scipy.signal.kaiser_beta)."""
    if a > 50:
        return 0.1102 * (a - 8.7)
    if a > 21:
        return 0.5842 * (a - 21) ** 0.4 + 0.07886 * (a - 21)
    return 0.0


def firwin_lowpass(numtaps: int, cutoff: float, width: float, fs: float) -> np.ndarray:
    """scipy.signal.firwin(numtaps, cutoff, width=width, fs=fs): windowed sinc, unit DC gain. [numtaps] float64"""
    nyq = 0.5 * fs
    c = cutoff / nyq
    beta = kaiser_beta(kaiser_atten(numtaps, width / nyq))
    m = np.arange(numtaps) - 0.5 * (numtaps - 1)
    h = c * np.sinc(c * m) * np.kaiser(numtaps, beta)
    return h / h.sum()


def bessel_j1(x: np.ndarray) -> np.ndarray:
    """J1(x) = 1/(2 pi) int_0^{2 pi} cos(t - x sin t) dt by the trapezoid rule, which converges geometrically
    for a periodic integrand: 256 nodes give float64 precision for |x| < 100 (the jinc filters need < 30)."""
    t = np.arange(256) * (2 * np.pi / 256)
    return np.cos(t - np.asarray(x, dtype=np.float64)[..., None] * np.sin(t)).mean(-1)


def jinc_lowpass(numtaps: int, cutoff: float, width: float, fs: float) -> np.ndarray:
    """StyleGAN3-R's radially symmetric low-pass: a jinc times a separable Kaiser window. [numtaps, numtaps]"""
    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = np.hypot(*np.meshgrid(x, x))
    f = bessel_j1(2 * cutoff * (np.pi * r)) / (np.pi * r)
    w = np.kaiser(numtaps, kaiser_beta(kaiser_atten(numtaps, width / (fs / 2))))
    f = f * np.outer(w, w)
    return f / f.sum()


def design_lowpass(numtaps: int, cutoff: float, width: float, fs: float, radial: bool = False) -> torch.Tensor | None:
    """A layer's filter as NVIDIA designs it: None for one tap (identity), [numtaps] separable or
    [numtaps, numtaps] radial, float32."""
    if numtaps == 1:
        return None
    f = jinc_lowpass(numtaps, cutoff, width, fs) if radial else firwin_lowpass(numtaps, cutoff, width, fs)
    return torch.as_tensor(f, dtype=torch.float32)


# ----------------------------------------------------------------------------- reference path
def upfirdn2d_ref(x: torch.Tensor, f: torch.Tensor | None, up: int = 1, down: int = 1,
                  padding: tuple[int, int, int, int] = (0, 0, 0, 0), gain: float = 1.0) -> torch.Tensor:
    """Zero-stuff by `up`, pad (negative: crop) by (x0, x1, y0, y1), convolve with f (separable [K] or 2-D
    [K, K], times gain), keep every `down`-th sample. x [N, C, H, W]."""
    n, c, h, w = x.shape
    if f is None:
        f = torch.ones(1, 1)
    f = f.to(x)
    x = x.reshape(n, c, h, 1, w, 1)
    x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1]).reshape(n, c, h * up, w * up)               # zero-stuffed
    x = F.pad(x, list(padding))
    f = (f * gain ** (f.ndim / 2)).flip(list(range(f.ndim)))                                # convolution
    if f.ndim == 2:
        x = F.conv2d(x, f[None, None].repeat(c, 1, 1, 1), groups=c)
    else:
        x = F.conv2d(x, f.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
        x = F.conv2d(x, f.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)
    return x[:, :, ::down, ::down]


def filtered_lrelu_ref(x: torch.Tensor, fu: torch.Tensor | None, fd: torch.Tensor | None, b: torch.Tensor,
                       up: int, down: int, padding: tuple[int, int, int, int], gain: float, slope: float,
                       clamp: float | None) -> torch.Tensor:
    """bias -> upsample (gain up^2) -> lrelu(slope) * gain -> clamp -> downsample, step by step."""
    x = x + b[None, :, None, None]
    x = upfirdn2d_ref(x, fu, up=up, padding=padding, gain=up**2)
    x = F.leaky_relu(x, slope) * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return upfirdn2d_ref(x, fd, down=down)


# ----------------------------------------------------------------------------- fast path
def _crop_or_pad(z: torch.Tensor, dim: int, start: int, length: int) -> torch.Tensor:
    """z[start : start + length] along dim, zeros where that runs outside z (a view when it does not)."""
    size = z.shape[dim]
    if start >= 0 and start + length <= size:
        return z.narrow(dim, start, length)
    lo, hi = max(-start, 0), max(start + length - size, 0)
    pad = [0, 0] * (z.ndim - 1 - dim) + [lo, hi]
    return F.pad(z.narrow(dim, max(start, 0), min(size, start + length) - max(start, 0)), pad)


def up_kernels(fu: torch.Tensor, c: int, up: int, gain: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The transposed-conv weights of the separable upsampling filter per axis ([C, 1, 1, K] along x,
    [C, 1, K, 1] along y), with the upsampling gain up per axis and the activation's gain on the y pass."""
    k = fu.numel()
    kx = (fu * up).view(1, 1, 1, k).expand(c, 1, 1, k).contiguous()
    ky = (fu * (up * gain)).view(1, 1, k, 1).expand(c, 1, k, 1).contiguous()
    return kx, ky


def down_kernels(fd: torch.Tensor, c: int) -> tuple[torch.Tensor, ...]:
    """Correlation weights of the downsampling filter: ([C, 1, 1, K], [C, 1, K, 1]) separable, or
    ([C, 1, K, K],) radial (NVIDIA's filters convolve, so they are flipped; the designs are symmetric anyway)."""
    if fd.ndim == 2:
        return (fd.flip(0, 1)[None, None].expand(c, 1, *fd.shape).contiguous(memory_format=torch.channels_last),)
    k = fd.numel()
    f = fd.flip(0)
    return f.view(1, 1, 1, k).expand(c, 1, 1, k).contiguous(), f.view(1, 1, k, 1).expand(c, 1, k, 1).contiguous()


def _up_axis(n: int, pad_lo: int, pad_hi: int, up: int, taps: int) -> tuple[int, int, int, int]:
    """Along one axis of length n: (first input sample, input samples, offset into their full transposed conv,
    output length) of the padded 'valid' convolution of the zero-stuffed signal, reading only the inputs
    whose taps reach the output."""
    start, length = taps - 1 - pad_lo, n * up + pad_lo + pad_hi - taps + 1
    lo = min(max(0, -(-(start - taps + 1) // up)), n)
    hi = max(min(n, (start + length - 1) // up + 1), lo)
    return lo, hi - lo, start - lo * up, length


def filtered_lrelu_fast(x: torch.Tensor, up_k: tuple[torch.Tensor, torch.Tensor] | None,
                        down_k: tuple[torch.Tensor, ...] | None, b: torch.Tensor | None, up: int, down: int,
                        padding: tuple[int, int, int, int], gain: float, slope: float, clamp: float | None,
                        taps_up: int) -> torch.Tensor:
    """filtered_lrelu_ref with the filters pre-laid out by up_kernels/down_kernels (None: identity), as
    polyphase transposed convs and strided convs. b None: the caller has added the bias. The gain must be
    inside up_k (up_kernels puts it there) unless there is no upsampling filter. x [N, C, H, W].
    The upsampled grid is never cropped or copied: the crop the padding asks for is folded into which
    inputs are read and which outputs of the strided conv are kept (zero taps in front of the downsampling
    filter align the crop's start with the stride), so the activation and clamp run in place."""
    if b is not None:
        x = x + b[None, :, None, None]
    c, h, w = x.shape[1:]
    px0, px1, py0, py1 = padding
    if up_k is None:  # identity upsampling (ToRGB): only the padding, gain and activation
        assert up == 1
        x = _crop_or_pad(_crop_or_pad(x, 3, -px0, w + px0 + px1), 2, -py0, h + py0 + py1)
        if gain != 1:
            x = x * gain
        if slope != 1:
            x = F.leaky_relu(x, slope)
        return x if clamp is None else x.clamp(-clamp, clamp)
    x_lo, x_n, x_start, x_len = _up_axis(w, px0, px1, up, taps_up)
    y_lo, y_n, y_start, y_len = _up_axis(h, py0, py1, up, taps_up)
    x = x[:, :, y_lo:y_lo + y_n, x_lo:x_lo + x_n].contiguous(memory_format=torch.channels_last)
    # The full convolution of the zero-stuffed signal with fu is a transposed conv of stride `up`.
    z = F.conv_transpose2d(x, up_k[0], stride=(1, up), groups=c)                        # [N, C, h', (w'-1)up+K]
    z = F.conv_transpose2d(z, up_k[1], stride=(up, 1), groups=c)                        # [N, C, (h'-1)up+K, ...]
    if min(x_start, y_start) < 0 or x_start + x_len > z.shape[3] or y_start + y_len > z.shape[2]:
        z = _crop_or_pad(_crop_or_pad(z, 3, x_start, x_len), 2, y_start, y_len)         # zeros the padding adds
        x_start = y_start = 0
    if slope != 1:
        z = F.leaky_relu_(z, slope)
    if clamp is not None:
        z = z.clamp_(-clamp, clamp)
    if down_k is None:
        assert down == 1
        return z[:, :, y_start:y_start + y_len, x_start:x_start + x_len]
    rx, ry = x_start % down, y_start % down
    if len(down_k) == 1:                                                                 # radial: one 2-D pass
        k2 = F.pad(down_k[0], (rx, 0, ry, 0)) if rx or ry else down_k[0]
        taps = down_k[0].shape[-1]
        y = F.conv2d(z, k2, stride=down, groups=c)
    else:
        kx = F.pad(down_k[0], (rx, 0)) if rx else down_k[0]
        ky = F.pad(down_k[1], (0, 0, ry, 0)) if ry else down_k[1]
        taps = down_k[0].shape[-1]
        y = F.conv2d(F.conv2d(z, kx, stride=(1, down), groups=c), ky, stride=(down, 1), groups=c)
    out_w, out_h = (x_len - taps) // down + 1, (y_len - taps) // down + 1
    return y[:, :, (y_start - ry) // down:(y_start - ry) // down + out_h, (x_start - rx) // down:(x_start - rx) // down + out_w]


def conv_cost(c_in: int, c_out: int, k: int, size: int) -> int:
    """Multiply-adds of a k x k 'full' convolution (padding k - 1) of a size x size input."""
    return c_in * c_out * k * k * (size + k - 1) ** 2


def filter_cost(c: int, size_in: int, up: int, down: int, taps_up: int, taps_down: int, radial: bool,
                size_out: int) -> int:
    """Multiply-adds of filtered_lrelu_fast on a [c, size_in, size_in] input (the polyphase passes multiply
    taps/up per output; the strided ones compute only the kept samples)."""
    if taps_up == 1 and taps_down == 1:
        return 0
    t = size_out * down + taps_down - 1                       # the upsampled grid the activation runs on
    ups = size_in * t * (taps_up // up) + t * t * (taps_up // up)
    downs = taps_down * taps_down * size_out**2 if radial else t * size_out * taps_down + size_out**2 * taps_down
    return c * (ups + downs)


def log2_round(x: float) -> int:
    """The power of two nearest to x in log scale."""
    return 2 ** int(math.floor(math.log2(x) + 0.5))
