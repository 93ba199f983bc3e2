"""The metrics as small pure functions over features (torch/numpy only; float64 where it matters).

- fid: Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017).
- kid: unbiased squared MMD with a cubic polynomial kernel (Bińkowski et al. 2018).
- precision_recall: k-NN manifold estimates (Kynkäänniemi et al. 2019).
- pyramid_distance: the perceptual distance behind path length (Karras et al. 2019, Sec. 4.1),
  on a feature pyramid with unit-normalised channels and equal weights (LPIPS without its learned
  linear heads, whose VGG/AlexNet backbones cannot be had offline).
- separability: conditional entropy H(Y|X) of an attribute Y given a linear classifier's
  side X in latent space (Karras et al. 2019, Sec. 4.2).
"""

from __future__ import annotations

import math

import numpy as np
import torch


class SampleCountError(ValueError):
    """Too few samples for a metric to be defined; the message says what to use instead."""


# ---------------------------------------------------------------- FID

def feature_stats(feats: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(mu [D], sigma [D, D]) in float64; sigma is the unbiased sample covariance."""
    f = np.asarray(feats, dtype=np.float64)
    assert f.ndim == 2, f"features must be [N, D], got {f.shape}"
    return f.mean(0), np.cov(f, rowvar=False)


def check_fid_samples(n: int, dim: int, net: str = "this network") -> None:
    """A D-dimensional sample covariance from n samples has rank <= n - 1: FID needs n > D."""
    if n <= dim:
        raise SampleCountError(
            f"FID on {net} ({dim} features) needs more than {dim} samples per set, got {n}: with fewer the "
            f"feature covariance is singular and FID is not defined. Use --n {max(2 * dim, 1000)} or more, or "
            "KID (unbiased at any sample count), or a feature network with fewer features (domain).")


def _sqrtm_psd(a: np.ndarray) -> np.ndarray:
    """Square root of a symmetric PSD matrix via its eigendecomposition (negative round-off clipped)."""
    vals, vecs = np.linalg.eigh((a + a.T) / 2)
    return (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)).

    tr (S1 S2)^(1/2) = tr (S1^(1/2) S2 S1^(1/2))^(1/2): the second matrix is symmetric PSD, so its
    eigenvalues are real and >= 0 and no complex sqrtm is needed."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1_half = _sqrtm_psd(np.asarray(sigma1, np.float64))
    m = s1_half @ np.asarray(sigma2, np.float64) @ s1_half
    tr_covmean = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum()
    diff = mu1 - mu2
    return float(max(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean, 0.0))


def fid(real: np.ndarray | torch.Tensor, fake: np.ndarray | torch.Tensor, net: str = "this network") -> float:
    """FID between two feature sets [N, D]; refuses N <= D (singular covariance)."""
    for f in (real, fake):
        check_fid_samples(len(f), f.shape[1], net)
    return frechet_distance(*feature_stats(real), *feature_stats(fake))


# ---------------------------------------------------------------- KID

def _poly_kernel(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (x @ y.T / x.shape[1] + 1) ** 3  # k(x, y) = (x.y / D + 1)^3


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor) -> float:
    """Unbiased MMD^2: the within-set means leave out the diagonal k(x_i, x_i):
    sum_{i != j} k(x_i, x_j) / (m (m - 1)) + (same for y) - 2 mean_{i, j} k(x_i, y_j)."""
    m, n = len(x), len(y)
    kxx, kyy, kxy = _poly_kernel(x, x), _poly_kernel(y, y), _poly_kernel(x, y)
    return float((kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
                 + (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1)) - 2 * kxy.mean())


def kid(real: np.ndarray | torch.Tensor, fake: np.ndarray | torch.Tensor, *, subset_size: int = 1000,
        subsets: int = 100, seed: int = 0) -> tuple[float, float]:
    """(mean, std) of the unbiased MMD^2 over random subsets of min(subset_size, N) per set; one
    subset of everything when the sets are no larger than that. Defined from 2 samples up."""
    x, y = (torch.as_tensor(np.asarray(f), dtype=torch.float64) for f in (real, fake))
    m = min(subset_size, len(x), len(y))
    if m < 2:
        raise SampleCountError("KID needs at least 2 samples in each set; use --n 2 or more (100+ for a "
                               "useful estimate).")
    if m == len(x) == len(y):
        return mmd2_unbiased(x, y), 0.0
    g = torch.Generator().manual_seed(seed)
    vals = [mmd2_unbiased(x[torch.randperm(len(x), generator=g)[:m]], y[torch.randperm(len(y), generator=g)[:m]])
            for _ in range(subsets)]
    return float(np.mean(vals)), float(np.std(vals))


# ---------------------------------------------------------------- precision / recall

def _kth_nn_radius(x: torch.Tensor, k: int, chunk: int = 1024) -> torch.Tensor:
    """[N] distance from each point to its k-th nearest neighbour in x, itself excluded."""
    out = []
    for i in range(0, len(x), chunk):
        d = torch.cdist(x[i:i + chunk], x)  # [B, N]
        out.append(d.kthvalue(k + 1, dim=1).values)  # +1: the point itself is at distance 0
    return torch.cat(out)


def _coverage(manifold: torch.Tensor, radii: torch.Tensor, probes: torch.Tensor, chunk: int = 1024) -> float:
    """Fraction of probes inside at least one ball B(manifold_i, radii_i)."""
    inside = []
    for i in range(0, len(probes), chunk):
        d = torch.cdist(probes[i:i + chunk], manifold)  # [B, M]
        inside.append((d <= radii[None]).any(1))
    return float(torch.cat(inside).float().mean())


def precision_recall(real: np.ndarray | torch.Tensor, fake: np.ndarray | torch.Tensor, k: int = 3
                     ) -> tuple[float, float]:
    """Improved precision and recall: precision = share of fakes inside the real manifold (the union
    of balls reaching each real point's k-th nearest real neighbour); recall = the converse."""
    x, y = (torch.as_tensor(np.asarray(f), dtype=torch.float32) for f in (real, fake))
    if min(len(x), len(y)) <= k:
        raise SampleCountError(f"Precision/recall with k = {k} needs more than {k} samples per set; use --n 100 "
                               "or more.")
    precision = _coverage(x, _kth_nn_radius(x, k), y)
    recall = _coverage(y, _kth_nn_radius(y, k), x)
    return precision, recall


# ---------------------------------------------------------------- path length

def pyramid_distance(maps_a: list[torch.Tensor], maps_b: list[torch.Tensor]) -> torch.Tensor:
    """[N]: sum over levels of the spatial mean of ||a_hat - b_hat||^2, a_hat = a / ||a|| over
    channels at each pixel (LPIPS' normalisation; equal weights instead of its learned ones)."""
    total = 0
    for a, b in zip(maps_a, maps_b):
        a = a / (a.norm(dim=1, keepdim=True) + 1e-10)
        b = b / (b.norm(dim=1, keepdim=True) + 1e-10)
        total = total + ((a - b) ** 2).sum(1).mean((1, 2))
    return total


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation of [N, D] latents at t [N, 1] (the z-space path of Karras et al.)."""
    a_n, b_n = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    omega = torch.acos((a_n * b_n).sum(-1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def path_length(distances: np.ndarray | torch.Tensor, epsilon: float) -> float:
    """PPL = E[d(t, t + eps) / eps^2], the mean taken between the 1st and 99th percentiles
    (Karras et al. 2019 discard those outliers)."""
    d = np.asarray(distances, dtype=np.float64) / epsilon**2
    lo, hi = np.percentile(d, [1, 99])
    kept = d[(d >= lo) & (d <= hi)]
    return float(kept.mean()) if len(kept) else float(d.mean())


# ---------------------------------------------------------------- linear separability

def conditional_entropy(y: np.ndarray, x: np.ndarray) -> float:
    """H(Y|X) in bits for two binary variables: sum_x p(x) H(Y | X = x)."""
    y, x = np.asarray(y, bool), np.asarray(x, bool)
    h = 0.0
    for side in (False, True):
        sel = x == side
        if sel.any():
            p = y[sel].mean()
            if 0 < p < 1:
                h += sel.mean() * -(p * math.log2(p) + (1 - p) * math.log2(1 - p))
    return h


def _fit_logistic(x: torch.Tensor, y: torch.Tensor, l2: float = 1e-3, steps: int = 100) -> torch.Tensor:
    """Weights [D + 1] of an L2-regularised logistic regression, full-batch L-BFGS."""
    xb = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], 1)
    w = torch.zeros(xb.shape[1], dtype=x.dtype, requires_grad=True)
    opt = torch.optim.LBFGS([w], max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(xb @ w, y) + l2 * (w[:-1] ** 2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    return w.detach()


def separability(latents: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor,
                 confidence: np.ndarray | torch.Tensor | None = None, keep: float = 0.5,
                 with_prior: bool = False) -> float | tuple[float, float]:
    """H(Y|X) in bits: 0 when a hyperplane in latent space splits the attribute exactly, 1 when
    it tells nothing. As in Karras et al. 2019, only the `keep` most confident labels count;
    unlike their SVM scored on its own training points, X here is 2-fold out-of-sample (each half
    classified by a logistic regression fitted on the other), so a D-dimensional latent cannot
    score well by memorising a few thousand labels. with_prior: also return H(Y) of the kept labels,
    the most H(Y|X) can be (below 1 bit for an unbalanced attribute)."""
    x = torch.as_tensor(np.asarray(latents), dtype=torch.float64).flatten(1)
    y = torch.as_tensor(np.asarray(labels)).bool()
    if confidence is not None and keep < 1:
        idx = torch.as_tensor(np.asarray(confidence)).argsort(descending=True)[:max(2, int(len(y) * keep))]
        x, y = x[idx], y[idx]
    if len(y) < 20:
        raise SampleCountError("Linear separability needs at least 40 samples (20 kept); use --n 1000 or more.")
    x = (x - x.mean(0)) / (x.std(0) + 1e-8)
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    halves = perm[: len(y) // 2], perm[len(y) // 2:]
    side = torch.zeros(len(y), dtype=torch.bool)
    for fit_idx, eval_idx in (halves, halves[::-1]):
        if y[fit_idx].all() or not y[fit_idx].any():  # one class only: the constant classifier
            side[eval_idx] = bool(y[fit_idx][0])
            continue
        w = _fit_logistic(x[fit_idx], y[fit_idx].double())
        side[eval_idx] = (x[eval_idx] @ w[:-1] + w[-1]) > 0
    h = conditional_entropy(y.numpy(), side.numpy())
    return (h, conditional_entropy(y.numpy(), np.zeros(len(y), bool))) if with_prior else h
