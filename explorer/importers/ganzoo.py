"""PyTorch GAN Zoo PGAN checkpoints (torch files with 'config', 'netG' and usually 'avgG') -> our ProGAN.

The zoo's layers compute c * (W x + b) with He's constant c = sqrt(2 / fan_in) on every layer; ours
compute (c' W) x + b' with c' = sqrt(2) / 4 / sqrt(fan_in) for the dense 4x4 layer and 1 / sqrt(fan_in) for
toRGB. With W' = W c / c' and b' = c b every layer computes exactly the zoo's function. Growth: the zoo's
alpha weighs the old, upsampled path, ours the new layer, so alpha = 1 - zoo alpha at the last stage.
The generator used is avgG (the zoo's weight average) when the file has it, else netG."""

from __future__ import annotations

import math
import re

import torch

from .errors import unreadable, unsupported


class ZooConfig:
    """Stands in for models.utils.config.BaseConfig while the checkpoint is unpickled: attributes only."""


def _fields(cfg) -> dict:
    if isinstance(cfg, dict):
        return cfg
    if isinstance(cfg, ZooConfig):
        return dict(vars(cfg))
    raise unreadable("The checkpoint's 'config' is neither a dict nor a GAN Zoo config; the file is damaged.")


def convert(ckpt: dict) -> tuple[dict, dict[str, torch.Tensor], dict, dict]:
    """(our ProGANConfig fields, our state dict, train block (stage, alpha), notes for the JSON)."""
    cfg = _fields(ckpt.get("config"))
    which = "avgG" if isinstance(ckpt.get("avgG"), dict) else "netG"
    t = ckpt.get(which)
    if not isinstance(t, dict) or not all(isinstance(v, torch.Tensor) for v in t.values()):
        raise unreadable(f"'{which}' in this checkpoint is not a state dict of tensors; the file is damaged.")
    if "formatLayer.module.weight" not in t or "groupScale0.0.module.weight" not in t:
        kind = "StyleGAN" if any(k.startswith("mapping") for k in t) else "non-PGAN"
        raise unsupported(f"This GAN Zoo checkpoint holds a {kind} generator; only PGAN (ProGAN) is supported yet.")
    if cfg.get("perChannelNormalization", True) is not True:
        raise unsupported("This PGAN was trained without pixel normalisation, which our ProGAN always applies.")
    if float(cfg.get("leakyReluLeak", 0.2)) != 0.2:
        raise unsupported(f"This PGAN uses a LeakyReLU slope of {cfg['leakyReluLeak']}; our ProGAN uses 0.2.")
    if int(cfg.get("categoryVectorDim", 0) or 0) > 0:
        raise unsupported("This is a conditional (AC-GAN) PGAN; only unconditional ones are supported yet.")
    if cfg.get("lossCriterion", "WGANGP") in ("MSE", "DCGAN"):
        raise unsupported(f"This PGAN was trained with the {cfg['lossCriterion']} loss, whose generator ends in tanh; "
                          "our ProGAN has linear outputs, so only WGANGP and Logistic PGANs are supported yet.")
    equalized = bool(cfg.get("equalizedlR", True))
    n_scales = len([k for k in t if re.fullmatch(r"toRGBLayers\.\d+\.module\.weight", k)])
    depths = [t["groupScale0.0.module.weight"].shape[0]] + [
        t[f"scaleLayers.{i}.0.module.weight"].shape[0] for i in range(n_scales - 1)]
    z_dim = t["formatLayer.module.weight"].shape[1]
    channels = t["toRGBLayers.0.module.weight"].shape[0]
    fmap = fit_fmap(depths)
    config = {"res": 4 * 2 ** (n_scales - 1), "channels": channels, "z_dim": z_dim, **fmap}

    sd: dict[str, torch.Tensor] = {}
    used: set[str] = set()

    def layer(zoo: str, ours: str, gain_ours: float):
        w, b = t.get(f"{zoo}.module.weight"), t.get(f"{zoo}.module.bias")
        if w is None or b is None:
            raise unreadable(f"'{which}' has no {zoo}; the checkpoint is incomplete.")
        used.update((f"{zoo}.module.weight", f"{zoo}.module.bias"))
        fan_in = w[0].numel()
        c_zoo = math.sqrt(2.0 / fan_in) if equalized else 1.0
        c_ours = gain_ours / math.sqrt(fan_in)
        sd[f"{ours}.weight"] = w.float() * (c_zoo / c_ours)
        sd[f"{ours}.bias"] = b.float() * c_zoo

    layer("formatLayer", "dense", math.sqrt(2) / 4)
    layer("groupScale0.0", "conv0.0", math.sqrt(2))
    for i in range(n_scales - 1):
        layer(f"scaleLayers.{i}.0", f"blocks.{i}.0", math.sqrt(2))
        layer(f"scaleLayers.{i}.1", f"blocks.{i}.3", math.sqrt(2))
    for s in range(n_scales):
        layer(f"toRGBLayers.{s}", f"to_rgb.{s}", 1.0)
    left = sorted(set(t) - used)
    if left:
        raise unsupported(f"'{which}' has tensors our ProGAN has no place for: {left[:4]}.")
    zoo_alpha = float(cfg.get("alpha", 0.0) or 0.0)
    train = {"stage": n_scales - 1, "alpha": 1.0 - zoo_alpha if n_scales > 1 else 1.0}
    notes = {"generator": which, "zoo_alpha": zoo_alpha, "depths": depths}
    return config, sd, train, notes


def fit_fmap(depths: list[int]) -> dict:
    """fmap_base/fmap_max/fmap_min whose rule min(max(base / 2^(s+1), min), max) gives exactly `depths`."""
    lo, hi = min(depths), max(depths)
    for base in sorted({d * 2 ** (s + 1) for s, d in enumerate(depths)}):
        if [int(min(max(base / 2 ** (s + 1), lo), hi)) for s in range(len(depths))] == depths:
            return {"fmap_base": base, "fmap_max": hi, "fmap_min": lo}
    raise unsupported(f"The PGAN's widths per scale {depths} do not halve the way our ProGAN's do "
                      "(min(max(fmap_base / 2^(stage+1), fmap_min), fmap_max)); not supported yet.")
