"""The faces part segmenter: which part (background, skin, hair, eyes, mouth, glasses, freckles) each
pixel of a face picture shows, for pictures a generator drew, where no ground truth exists.

GAN Dissection (Bau et al. 2019) scores a generator's units against a segmentation of its own samples;
for real photographs that needs a segmenter trained on labelled photos. Ours is trained on the procedural
faces, whose part masks are exact (train/datasets/faces.render_face_parts), and measured on held-out
faces (per-part IoU in its card). Shipped as weights/classifiers/faces-parts.{safetensors,json}.

    seg = load_segmenter()          # eval mode, no grads
    seg.coverage(img)               # [N, P, H, W] probabilities per part (img [N, 3, H, W] in [-1, 1])

Train: python -m explorer.attributes.parts --out weights/classifiers/faces-parts"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save as st_save
from torch import nn

from ..fsutil import atomic_write_bytes
from .classifier import CLASSIFIER_DIR, read_card

FORMAT = 1
KIND = "part-segmenter"


@dataclass
class SegmenterConfig:
    res: int = 64                                                   # input size; images are resized to it
    widths: list[int] = field(default_factory=lambda: [16, 24, 32])  # channels per level; each halves H, W
    parts: list[str] = field(default_factory=list)                  # output classes, in order (faces.PARTS)


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                         nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class PartSegmenter(nn.Module):
    """A small U-Net (Ronneberger et al. 2015): two convs per level, max-pool down, nearest up with the
    skip concatenated, a 1x1 head with one logit per part."""

    def __init__(self, cfg: SegmenterConfig):
        super().__init__()
        if not cfg.parts:
            from ..train.datasets.faces import PARTS

            cfg.parts = list(PARTS)
        self.cfg = cfg
        w = cfg.widths
        self.down = nn.ModuleList(_block(c_in, c) for c_in, c in zip([3, *w[:-1]], w))
        self.up = nn.ModuleList(_block(w[i] + w[i + 1], w[i]) for i in reversed(range(len(w) - 1)))
        self.head = nn.Conv2d(w[0], len(cfg.parts), 1)

    def prepare(self, img: torch.Tensor) -> torch.Tensor:
        assert img.ndim == 4 and img.shape[1] in (1, 3), f"expected [N, 1 or 3, H, W], got {tuple(img.shape)}"
        x = img.float().expand(-1, 3, -1, -1) if img.shape[1] == 1 else img.float()
        if x.shape[-1] != self.cfg.res or x.shape[-2] != self.cfg.res:
            x = F.interpolate(x, size=(self.cfg.res, self.cfg.res), mode="bilinear", antialias=True, align_corners=False)
        return x

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        """[N, 3, H, W] in [-1, 1] -> logits [N, P, res, res]."""
        x, skips = self.prepare(img), []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        for block, skip in zip(self.up, reversed(skips[:-1])):
            x = block(torch.cat([F.interpolate(x, scale_factor=2, mode="nearest"), skip], 1))
        return self.head(x)

    def coverage(self, img: torch.Tensor, size: int | None = None) -> torch.Tensor:
        """Each part's probability at each pixel, [N, P, size, size] (size: the image's own by default)."""
        p = self(img).softmax(1)
        size = size or img.shape[-1]
        return p if p.shape[-1] == size else F.interpolate(p, size=(size, size), mode="bilinear", align_corners=False)


def iou_per_part(pred: torch.Tensor, truth: torch.Tensor, parts: list[str]) -> dict[str, float]:
    """IoU of argmax labels [N, H, W] against the true ones, per part, over all pixels together."""
    out = {}
    for i, name in enumerate(parts):
        a, b = pred == i, truth == i
        union = (a | b).sum().item()
        out[name] = round((a & b).sum().item() / union, 4) if union else float("nan")
    return out


def _data(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Faces at 64 px, uint8 [n, 3, 64, 64], and their part coverage float16 [n, P, 64, 64]."""
    from ..train.datasets.faces import make_face_parts, make_faces

    imgs, _ = make_faces(n, 64, seed=seed)
    return torch.from_numpy(imgs).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(make_face_parts(n, 64, seed=seed)).half()


def train_segmenter(*, n_train: int = 4000, n_test: int = 500, epochs: int = 8, batch: int = 64, seed: int = 1,
                    log=print) -> tuple[PartSegmenter, dict]:
    """Train on faces of seed `seed` (the GAN training set is seed 0), test on seed + 100."""
    torch.manual_seed(seed)
    x, y = _data(n_train, seed)
    x_test, y_test = _data(n_test, seed + 100)
    seg = PartSegmenter(SegmenterConfig())
    # Glasses rims and freckles cover under 1 % of the pixels: weighted by 1/sqrt(frequency), the loss
    # does not learn to call them skin (unweighted, their held-out IoU stayed at 0).
    freq = y.float().mean(dim=(0, 2, 3)).clamp_min(1e-4)                     # [P]
    weight = (freq.rsqrt() / freq.rsqrt().mean()).view(1, -1, 1, 1)
    opt = torch.optim.Adam(seg.parameters(), lr=3e-3)
    steps = epochs * (n_train // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    g = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    for epoch in range(epochs):
        seg.train()
        perm = torch.randperm(n_train, generator=g)
        for i in range(n_train // batch):
            idx = perm[i * batch:(i + 1) * batch]
            img = x[idx].float() / 127.5 - 1
            if torch.rand((), generator=g) < 0.5:  # mirrored faces are faces too
                img, target = img.flip(-1), y[idx].float().flip(-1)
            else:
                target = y[idx].float()
            loss = -(weight * target * seg(img).log_softmax(1)).sum(1).mean()   # weighted cross-entropy on the coverage
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        log(f"epoch {epoch + 1}/{epochs}: loss {loss.item():.4f}, {time.perf_counter() - t0:.0f} s")
    seg.eval().requires_grad_(False)
    return seg, evaluate(seg, x_test, y_test)


def evaluate(seg: PartSegmenter, x: torch.Tensor, y: torch.Tensor) -> dict:
    with torch.inference_mode():
        pred = torch.cat([seg(x[i:i + 100].float() / 127.5 - 1).argmax(1) for i in range(0, len(x), 100)])
    truth = y.float().argmax(1)
    return {"pixel_accuracy": round(float((pred == truth).float().mean()), 4),
            "iou": iou_per_part(pred, truth, seg.cfg.parts)}


def save_segmenter(path: str | os.PathLike, seg: PartSegmenter, train: dict) -> Path:
    stem = Path(path).with_suffix("")
    tensors = {k: (v.half() if v.is_floating_point() else v).detach().cpu().contiguous()
               for k, v in seg.state_dict().items()}
    meta = {"format": FORMAT, "kind": KIND, "config": asdict(seg.cfg), "train": train}
    atomic_write_bytes(stem.with_suffix(".safetensors"), st_save(tensors))
    atomic_write_bytes(stem.with_suffix(".json"), json.dumps(meta, indent=2).encode())
    return stem.with_suffix(".json")


def load_segmenter(path: str | os.PathLike | None = None, device: torch.device | str = "cpu") -> PartSegmenter:
    jp = Path(path or CLASSIFIER_DIR / "faces-parts.json").with_suffix(".json")
    meta, tensors = read_card(jp, KIND, FORMAT, "a part segmenter",
                              f"python -m explorer.attributes.parts --out {jp.with_suffix('')}")
    seg = PartSegmenter(SegmenterConfig(**meta["config"]))
    sd = seg.state_dict()
    seg.load_state_dict({k: v.to(sd[k].dtype) for k, v in tensors.items()}, strict=True)
    seg.card, seg.card_path = meta, jp
    return seg.to(device).eval().requires_grad_(False)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m explorer.attributes.parts", description="Train the faces part segmenter.")
    p.add_argument("--out", required=True, help="output stem, e.g. weights/classifiers/faces-parts")
    p.add_argument("--n-train", type=int, default=4000)
    p.add_argument("--n-test", type=int, default=500)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    seg, held_out = train_segmenter(n_train=a.n_train, n_test=a.n_test, epochs=a.epochs, seed=a.seed)
    command = "python -m explorer.attributes.parts " + " ".join(argv if argv is not None else sys.argv[1:])
    train = {"command": command, "data": "faces", "data_licence": "procedural faces generated by GAN Explorer",
             "n_train": a.n_train, "n_test": a.n_test, "epochs": a.epochs, "seed": a.seed,
             "cpu_minutes": round((time.perf_counter() - t0) / 60, 1), "held_out": held_out}
    print(json.dumps(held_out, indent=1))
    print(save_segmenter(a.out, seg, train))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
