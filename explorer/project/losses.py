"""What a projection minimises: a perceptual distance on a feature network that ships with the
project (no LPIPS/VGG download), pixel MSE, and NVIDIA's noise regulariser.

The perceptual distance is LPIPS's recipe without its learned per-channel weights (Zhang et al.
2018, Eq. 1 with w_l = 1): at every level of a feature pyramid, each location's channel vector
is scaled to unit length, and the squared distance between the two images' vectors is averaged
over locations; the levels are averaged. Two pyramids can be had offline:

    lite0    EfficientNet-Lite0 (ImageNet; the metrics' network): stem + 4 stages, at `res` px
    domain   the model's own data set's attribute classifier (faces, mnist): its stages, at its res
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

NETS = ("auto", "lite0", "domain", "none")  # auto: domain where the data set has a classifier, else lite0
EPS = 1e-10


def unit_channels(f: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] -> the same with every location's channel vector of length 1 (LPIPS's normalise)."""
    return f / (f.square().sum(dim=1, keepdim=True) + EPS).sqrt()


def pyramid_distance(fa: list[torch.Tensor], fb: list[torch.Tensor]) -> torch.Tensor:
    """[N]: mean over levels of mean over locations of |unit(a) - unit(b)|^2 (each term in [0, 4])."""
    terms = [(unit_channels(a) - unit_channels(b)).square().sum(dim=1).mean(dim=(1, 2)) for a, b in zip(fa, fb)]
    return torch.stack(terms).mean(dim=0)


@dataclass
class Perceptual:
    """A frozen feature pyramid and the target's features on it, computed once."""

    name: str                                         # "lite0" | "domain:faces" | ...
    pyramid: Callable[[torch.Tensor], list[torch.Tensor]]  # [N, C, H, W] in [-1, 1] -> [[N, C_l, H_l, W_l]]

    def features(self, img: torch.Tensor) -> list[torch.Tensor]:
        return self.pyramid(img)

    def distance(self, img: torch.Tensor, target_features: list[torch.Tensor]) -> torch.Tensor:
        """[N] distances of img to the target (whose features were computed by self.features)."""
        return pyramid_distance(self.pyramid(img), [t.expand(img.shape[0], -1, -1, -1) for t in target_features])


def perceptual_net(name: str, dataset: str | None, res: int, device: torch.device) -> Perceptual | None:
    """The pyramid named (None for "none"); ValueError with a sentence when it cannot be had."""
    from ..metrics.features import FeatureNetError, domain, lite0

    if name == "none":
        return None
    if name == "auto":
        name = "domain" if dataset in ("faces", "mnist") else "lite0"
    try:
        if name == "lite0":
            net = lite0(res=res, device=device)
        elif name == "domain":
            if dataset not in ("faces", "mnist"):
                raise ValueError(f"The domain network exists for models of the built-in faces and mnist data; this "
                                 f"one was trained on {dataset or 'other data'!r}. Use lite0.")
            net = domain(dataset, device=device)
        else:
            raise ValueError(f"Unknown feature network {name!r}; choose one of {', '.join(NETS)}.")
    except FeatureNetError as e:
        raise ValueError(str(e)) from None
    return Perceptual(net.name, net.pyramid)


def pixel_mse(img: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """[N]: mean squared error in [-1, 1] units (PSNR in dB = 10 log10(4 / mse))."""
    return (img - target).square().mean(dim=(1, 2, 3))


def psnr(img: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """[N] in dB, for images in [-1, 1] (peak-to-peak 2)."""
    return 10 * torch.log10(4.0 / pixel_mse(img, target).clamp_min(1e-12))


def noise_regularizer(maps: list[torch.Tensor]) -> torch.Tensor:
    """NVIDIA's multi-scale noise regulariser (StyleGAN2, App. D): the squared autocorrelation of each
    map with itself shifted by one pixel, across and down, summed over a pyramid of 2x average-pooled
    copies down to 8x8. Keeps the optimised noise maps from carrying the image."""
    reg = torch.zeros((), device=maps[0].device)
    for noise in maps:                                              # [1, 1, r, r]
        while True:
            reg = reg + (noise * noise.roll(1, dims=3)).mean().square() + (noise * noise.roll(1, dims=2)).mean().square()
            if noise.shape[2] <= 8:
                break
            noise = F.avg_pool2d(noise, 2)
    return reg


@torch.no_grad()
def normalise_noise(maps: list[torch.Tensor]) -> None:
    """Each map to zero mean, unit variance, in place (after every optimiser step, as NVIDIA's projector)."""
    for n in maps:
        n.sub_(n.mean()).div_(n.square().mean().sqrt().clamp_min(1e-8))
