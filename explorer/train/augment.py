"""Differentiable augmentation (Zhao et al. 2020, "DiffAugment"): colour, translation, cutout.

D sees only augmented images, real and fake alike, and G's gradient flows through the same
augmentation, so D cannot overfit a small dataset and G does not learn the augmentation.
Every random parameter is drawn from the caller's torch.Generator: the same generator state
gives the same augmentation, which is how real and fake get identical ones when asked
(Trainer with augment_shared) and how a run stays reproducible."""

from __future__ import annotations

import torch

POLICIES = ("color", "translation", "cutout")
RATIOS = {"translation": 0.125, "cutout": 0.5}  # DiffAugment's defaults, as a fraction of the image side


def parse_policy(policy: str) -> tuple[tuple[str, float | None], ...]:
    """"color,translation,cutout=0.2" -> (("color", None), ("translation", 0.125), ("cutout", 0.2)): each
    augmentation with its ratio (translation: the largest shift, cutout: the square's side, both as a
    fraction of the image side; DiffAugment's defaults when not given). "" -> (); unknown names, a ratio
    for colour and ratios outside (0, 1] are errors."""
    out = []
    for part in (p.strip() for p in policy.split(",") if p.strip()):
        name, sep, value = (s.strip() for s in part.partition("="))
        if name not in POLICIES:
            raise ValueError(f"unknown augmentation {name!r}; choose from {', '.join(POLICIES)} (comma-separated, "
                             "e.g. color,translation,cutout=0.2)")
        if sep and name not in RATIOS:
            raise ValueError(f"{name} takes no ratio; only {' and '.join(RATIOS)} do (e.g. cutout=0.2)")
        try:
            ratio = float(value) if sep else RATIOS.get(name)
        except ValueError:
            raise ValueError(f"the {name} ratio must be a number, got {value!r}") from None
        if ratio is not None and not 0 < ratio <= 1:
            raise ValueError(f"the {name} ratio is a fraction of the image side in (0, 1], got {value}")
        out.append((name, ratio))
    return tuple(out)


def _rand(n: int, g: torch.Generator, x: torch.Tensor) -> torch.Tensor:
    return torch.rand(n, 1, 1, 1, generator=g).to(device=x.device, dtype=x.dtype)


def color(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Brightness +U(-0.5, 0.5), saturation xU(0, 2) around the pixel's channel mean, contrast
    xU(0.5, 1.5) around the image mean, per sample (DiffAugment's values for images in [-1, 1])."""
    n = x.shape[0]
    x = x + (_rand(n, g, x) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand(n, g, x) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand(n, g, x) + 0.5) + mean


def translation(x: torch.Tensor, g: torch.Generator, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to ratio * size pixels in x and y, filling with zeros."""
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ty = torch.randint(-sh, sh + 1, (n, 1, 1), generator=g).to(x.device)
    tx = torch.randint(-sw, sw + 1, (n, 1, 1), generator=g).to(x.device)
    gy = (torch.arange(h, device=x.device)[None, :, None] + ty + 1).clamp(0, h + 1)  # [N, H, 1] into the padded image
    gx = (torch.arange(w, device=x.device)[None, None, :] + tx + 1).clamp(0, w + 1)  # [N, 1, W]
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))                                # a zero ring
    idx = torch.arange(n, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[idx, gy, gx].permute(0, 3, 1, 2)               # [N, C, H, W]


def cutout(x: torch.Tensor, g: torch.Generator, ratio: float = 0.5) -> torch.Tensor:
    """Zero one square of ratio * size per image, at a random place (it may overhang the border)."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    oy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), generator=g).to(x.device) - ch // 2  # top edge
    ox = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), generator=g).to(x.device) - cw // 2
    ys = torch.arange(h, device=x.device)[None, :, None]
    xs = torch.arange(w, device=x.device)[None, None, :]
    hole = (ys >= oy) & (ys < oy + ch) & (xs >= ox) & (xs < ox + cw)                  # [N, H, W]
    return x * (~hole).unsqueeze(1).to(x.dtype)


def diff_augment(x: torch.Tensor, policy: str | tuple[tuple[str, float | None], ...],
                 generator: torch.Generator) -> torch.Tensor:
    """x [N, C, H, W] -> augmented x, differentiable in x; policy "color,translation,cutout=0.2", a subset,
    or parse_policy's result."""
    ratios = dict(parse_policy(policy) if isinstance(policy, str) else policy)
    for name in POLICIES:  # a fixed order, whatever the policy string's
        if name == "color" and name in ratios:
            x = color(x, generator)
        elif name in ratios:
            x = {"translation": translation, "cutout": cutout}[name](x, generator, ratios[name])
    return x
