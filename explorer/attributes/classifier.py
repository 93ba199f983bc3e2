"""The attribute classifier: its factors per data set, the network, its outputs, and its checkpoint
(safetensors + JSON card) in weights/classifiers/."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from .. import paths
from ..fsutil import atomic_write_bytes
CLASSIFIER_DIR = paths.CLASSIFIERS
FORMAT = 1
KINDS = ("binary", "continuous", "class")


@dataclass(frozen=True)
class Attribute:
    name: str          # key in predict()'s dict
    kind: str          # "binary" (probability), "continuous" (value in [0, 1]) or "class" (probabilities)
    classes: int = 1   # outputs: 1, or the number of classes for kind "class"


def attributes_for(dataset: str) -> tuple[Attribute, ...]:
    """The attributes a classifier of a built-in dataset predicts, in output order."""
    if dataset == "faces":
        from ..train.datasets.faces import FACTORS

        return tuple(Attribute(f.name, f.kind) for f in FACTORS.values())
    if dataset == "mnist":
        return (Attribute("digit", "class", 10),)
    raise ValueError(f"No attribute classifier for dataset {dataset!r}; use 'faces' or 'mnist'.")


@dataclass
class ClassifierConfig:
    dataset: str = "faces"                                  # "faces" (15 factors) or "mnist" (10 digits)
    res: int = 32                                           # input size in pixels; images are resized to it
    channels: int = 3                                       # input channels; others are converted
    widths: list[int] = field(default_factory=lambda: [32, 64, 96])  # channels per stage; each stage halves H, W


class AttributeClassifier(nn.Module):
    """Stages of (3x3 conv, 3x3 stride-2 conv), BN + ReLU; global average pool; one linear head."""

    def __init__(self, cfg: ClassifierConfig):
        super().__init__()
        self.cfg = cfg
        self.attributes = attributes_for(cfg.dataset)
        stages, c = [], cfg.channels
        for w in cfg.widths:
            stages.append(nn.Sequential(
                nn.Conv2d(c, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
                nn.Conv2d(w, w, 3, 2, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)))
            c = w
        self.stages = nn.ModuleList(stages)
        self.head = nn.Linear(c, sum(a.classes for a in self.attributes))
        self.feature_dim = c

    def prepare(self, img: torch.Tensor) -> torch.Tensor:
        """[N, C, H, W] in [-1, 1] -> [N, channels, res, res]: gray<->RGB, then an antialiased resize."""
        assert img.ndim == 4 and img.shape[1] in (1, 3), f"expected [N, 1 or 3, H, W], got {tuple(img.shape)}"
        x = img.float()
        if x.shape[1] != self.cfg.channels:
            luma = torch.tensor([0.299, 0.587, 0.114], device=x.device).view(1, 3, 1, 1)
            x = x.repeat(1, 3, 1, 1) if x.shape[1] == 1 else (x * luma).sum(1, keepdim=True)  # ITU-R 601
        if x.shape[-2:] != (self.cfg.res, self.cfg.res):
            x = F.interpolate(x, size=(self.cfg.res, self.cfg.res), mode="bilinear", antialias=True,
                              align_corners=False)
        return x

    def feature_maps(self, img: torch.Tensor) -> list[torch.Tensor]:
        """One map per stage, [N, widths[i], res / 2^(i+1), res / 2^(i+1)]: the feature pyramid."""
        x, maps = self.prepare(img), []
        for stage in self.stages:
            x = stage(x)
            maps.append(x)
        return maps

    def features(self, img: torch.Tensor) -> torch.Tensor:
        """[N, D]: the last stage, average-pooled; what the head reads."""
        return self.feature_maps(img)[-1].mean((2, 3))

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(img))  # [N, outputs] logits

    def predict(self, img: torch.Tensor) -> dict[str, torch.Tensor]:
        """{name: [N] probability (binary) or value in [0, 1] (continuous), or [N, K] probabilities (class)}."""
        return split_outputs(self.attributes, self(img))


def split_outputs(attributes: tuple[Attribute, ...], logits: torch.Tensor) -> dict[str, torch.Tensor]:
    out, i = {}, 0
    for a in attributes:
        block = logits[:, i:i + a.classes]
        # Continuous factors are fitted with soft-target BCE, so sigmoid gives the value itself.
        out[a.name] = block.softmax(1) if a.kind == "class" else torch.sigmoid(block[:, 0])
        i += a.classes
    return out


def binarize(pred: dict[str, torch.Tensor]) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Binary attributes from predict(): {name: (label bool [N], confidence [N] in [0, 1])}.
    Binary and continuous values are split at 0.5 (continuous factors are uniform, so 0.5 is
    their median); a class output gives one-vs-rest attributes "name=k"."""
    out = {}
    for name, p in pred.items():
        if p.ndim == 2:
            for k in range(p.shape[1]):
                out[f"{name}={k}"] = (p[:, k] > 0.5, (2 * p[:, k] - 1).abs())
        else:
            out[name] = (p > 0.5, (2 * p - 1).abs())
    return out


# ---------------------------------------------------------------- save / load

class ClassifierError(ValueError):
    """A classifier that cannot be opened; the message says what to do."""


def save_classifier(path: str | os.PathLike, clf: AttributeClassifier, train: dict) -> Path:
    """path.safetensors (float16: half the size, predictions agree to ~1e-3) then path.json."""
    stem = Path(path).with_suffix("")
    tensors = {k: (v.half() if v.is_floating_point() else v).detach().cpu().contiguous()
               for k, v in clf.state_dict().items()}
    meta = {"format": FORMAT, "kind": "attribute-classifier", "config": asdict(clf.cfg),
            "attributes": [asdict(a) for a in clf.attributes], "train": train}
    atomic_write_bytes(stem.with_suffix(".safetensors"), st_save(tensors))
    atomic_write_bytes(stem.with_suffix(".json"), json.dumps(meta, indent=2).encode())
    return stem.with_suffix(".json")


def classifier_path(name: str, folder: str | os.PathLike | None = None) -> Path:
    """"faces" -> weights/classifiers/faces.json; a path to a .json is kept as it is."""
    p = Path(name)
    return p.with_suffix(".json") if p.suffix in (".json", ".safetensors") or p.parent != Path(".") \
        else Path(folder or CLASSIFIER_DIR) / f"{name}.json"


def read_card(jp: Path, kind: str, fmt: int, what: str, train_command: str) -> tuple[dict, dict]:
    """(the JSON card, the tensors) of a network saved as jp + .safetensors, checked to be `kind` of format
    `fmt`; a ClassifierError naming the command that makes one when it is missing or unreadable."""
    try:
        meta = json.loads(jp.read_text())
        if not isinstance(meta, dict) or meta.get("kind") != kind or meta.get("format") != fmt:
            raise ClassifierError(f"{jp} is not {what} of format {fmt}.")
        return meta, st_load(jp.with_suffix(".safetensors").read_bytes())
    except FileNotFoundError as e:
        raise ClassifierError(f"No {what.split(' ', 1)[1]} at {e.filename}; train one with {train_command}") from None
    except (ValueError, OSError, SafetensorError) as e:
        if isinstance(e, ClassifierError):
            raise
        raise ClassifierError(f"{jp} or its .safetensors is unreadable ({e}); retrain it.") from None


def load_classifier(name: str, folder: str | os.PathLike | None = None,
                    device: torch.device | str = "cpu") -> AttributeClassifier:
    """A shipped classifier by dataset name ("faces", "mnist") or a path; eval mode, no grads."""
    jp = classifier_path(name, folder)
    meta, tensors = read_card(jp, "attribute-classifier", FORMAT, "an attribute classifier",
                              f"python -m explorer.attributes --data {jp.stem} --out {jp.with_suffix('')}")
    clf = AttributeClassifier(ClassifierConfig(**meta["config"]))
    sd = clf.state_dict()
    clf.load_state_dict({k: v.to(sd[k].dtype) for k, v in tensors.items()}, strict=True)
    clf.card, clf.card_path = meta, jp  # the JSON card (training command, held-out accuracy) and its path
    return clf.to(device).eval().requires_grad_(False)


# ---------------------------------------------------------------- training
