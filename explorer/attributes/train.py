"""Training an attribute classifier on a labelled built-in data set, and its held-out evaluation."""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

from .classifier import AttributeClassifier, ClassifierConfig, split_outputs


def labelled_data(dataset: str, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 images [n, C, H, W] and labels [n, F] (faces) or [n] int64 (mnist) from a built-in set.

    faces: rendered half at 64 px, half at 32 px (the shipped models' sizes), so the classifier
    learns through its own resize from both. Seeds differ from the GAN training set's (seed 0).
    mnist: the 5,000 digits, shuffled by `seed`; n is ignored (the caller splits them)."""
    if dataset == "faces":
        from ..train.datasets.faces import make_faces

        halves = [make_faces(n - n // 2, 64, seed=seed), make_faces(n // 2, 32, seed=seed + 1)]
        imgs = [torch.from_numpy(x).permute(0, 3, 1, 2) for x, _ in halves]
        imgs = [imgs[0], F.interpolate(imgs[1].float(), scale_factor=2, mode="nearest").round().to(torch.uint8)]
        return torch.cat(imgs), torch.from_numpy(np.concatenate([y for _, y in halves]))
    from ..train.datasets import load_mnist

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
