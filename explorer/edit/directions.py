"""Latent directions: find them (SeFa, PCA, a supervised linear probe, difference of means), apply
them to ws, and keep them beside the model they were found on. PCA is GANSpace's: of w where there is
a mapping network, else of an early layer's activations, regressed back to z (find_pca).

A direction lives in the space the generator's styles are read from: w for families with a mapping
network, z for the others (their mapping is the identity, so ws holds z). Strengths are in standard
deviations of the sampled latents along the direction, so one slider range suits every model.

Storage: directions are found on the user's own checkpoint, so they are stored beside it, in a
folder named after the checkpoint's .json with ".directions" instead: weights/NAME.directions/ for
a shipped model, runs/RUN/snapshots/SNAP.directions/ for a run's snapshot (a new snapshot starts
with none, because its latent space has moved). Each direction is KEY.npy (the unit vector,
float32 [D]) plus KEY.json (method, layers, statistics)."""

from __future__ import annotations

import io
import json
import math
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from .. import limits
from ..fsutil import atomic_write_bytes
from ..models.dcgan import DCGANGenerator
from ..models.fastgan import FastGANGenerator
from ..models.progan import ProGANGenerator
from .latents import latents_for_seeds

METHODS = ("sefa", "pca", "supervised", "means")
SAMPLE_SEED0 = 1_000_000  # seeds of the latents sampled for PCA and strength units: 10^6, 10^6 + 1, ...
PCA_SAMPLES = 2000        # latents sampled for PCA (and activations of them, in z)
MAX_STRENGTH = limits.DIRECTION_STRENGTH.hi  # the strength sliders' range, in standard deviations


@dataclass
class Direction:
    """One unit direction in the latent space (w or z) and what is known about it."""

    name: str                              # what the UI lists ("sefa 0", "smile", ...)
    method: str                            # one of METHODS
    vector: np.ndarray                     # float32 [D], unit norm
    std: float = 1.0                       # std of sampled latents along `vector`: strength 1 moves this far
    layers: tuple[int, int] | None = None  # ws entries [lo, hi) it applies to by default; None = all
    space: str = "w"                       # "w" (after a mapping network) or "z"
    stats: dict = field(default_factory=dict)  # method-specific: eigenvalue, explained variance, accuracy...

    def __post_init__(self):
        v = np.asarray(self.vector, dtype=np.float32).reshape(-1)
        n = float(np.linalg.norm(v))
        if not math.isfinite(n) or n == 0.0:
            raise ValueError(f"direction {self.name!r} is zero or not finite")
        # Already unit (as loaded back, or from a recipe): kept bit for bit, so an edit reproduces exactly.
        self.vector = v if abs(n - 1.0) < 1e-6 else (v / n).astype(np.float32)

    def meta(self) -> dict:
        """Everything but the vector, JSON-serialisable."""
        d = asdict(self)
        d.pop("vector")
        d["layers"] = list(self.layers) if self.layers is not None else None
        d["dim"] = int(self.vector.shape[0])
        return d


# ----------------------------------------------------------------------------- the four methods
def sefa(weight: torch.Tensor, k: int = 10, normalize: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Closed-form factorisation (Shen & Zhou 2021, Eq. 5): the directions n maximising |A n|^2 for
    the weight A [out, D] that first reads the latent are the top eigenvectors of A^T A.
    normalize: each row of A scaled to unit norm first (as the paper's code does), so wide layers
    do not dominate a concatenation of several layers' weights.
    -> (vectors [k, D] unit rows, eigenvalues [k] descending)."""
    assert weight.ndim == 2, f"weight must be [out, D], got {tuple(weight.shape)}"
    a = weight.detach().double().cpu()
    if normalize:
        a = a / a.norm(dim=1, keepdim=True).clamp_min(1e-12)
    vals, vecs = torch.linalg.eigh(a.T @ a)          # ascending
    order = vals.argsort(descending=True)[:k]
    return _signed(vecs[:, order].T).float(), vals[order].float()


def _signed(rows: torch.Tensor) -> torch.Tensor:
    """Unit rows [k, D] each turned so its largest component is positive: an eigenvector's sign is
    arbitrary, and another LAPACK may pick the other one; fixed, a direction is the same everywhere."""
    top = rows.abs().argmax(dim=1, keepdim=True)
    return rows * torch.sign(rows.gather(1, top))


def pca(latents: torch.Tensor, k: int = 10) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Principal axes of samples [N, D]: latents, or a layer's flattened activations (Härkönen et al.
    2020, GANSpace). -> (vectors [k, D] unit rows, explained variance ratio [k], std along each [k])."""
    assert latents.ndim == 2 and latents.shape[0] > 1, f"need latents [N > 1, D], got {tuple(latents.shape)}"
    x = latents.detach().double().cpu()
    x = x - x.mean(dim=0)
    if x.shape[1] > x.shape[0]:
        # Wider than tall (a layer's 4096 activations of 2,000 samples): the eigenvectors u of the Gram
        # matrix x x^T [N, N] give the axes x^T u / s, 3x faster than the SVD of x on one thread.
        vals, u = torch.linalg.eigh(x @ x.T)         # ascending
        var = vals.flip(0).clamp_min(0) / (x.shape[0] - 1)
        k = min(k, x.shape[0] - 1)
        vh = torch.nn.functional.normalize((x.T @ u.flip(1)[:, :k]).T, dim=1)
    else:
        _, s, vh = torch.linalg.svd(x, full_matrices=False)
        var = s.square() / (x.shape[0] - 1)          # variance along each axis
        k = min(k, vh.shape[0])
    return _signed(vh[:k]).float(), (var[:k] / var.sum()).float(), var[:k].sqrt().float()


def regress_to_latent(latents: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """Directions in latent space that move coordinates [N, k] of the samples of latents [N, D] the
    most: the least-squares fit coords ~ latents @ M + b, column j of M [D, k] (the gradient of the
    best linear approximation of coordinate j), as unit rows [k, D]. GANSpace fits the other way
    round (latents from the coordinates); for isotropic z both point the same way on average, and
    this one does not also pick up the sample covariance of z (about sqrt(D / N) off the identity)."""
    assert latents.ndim == 2 and coords.ndim == 2 and coords.shape[0] == latents.shape[0] > latents.shape[1], \
        f"need latents [N > D, D] and coords [N, k], got {tuple(latents.shape)} and {tuple(coords.shape)}"
    x = latents.detach().double().cpu()
    y = coords.detach().double().cpu()
    m = torch.linalg.lstsq(x - x.mean(0), y - y.mean(0)).solution  # [D, k]
    return _signed(torch.nn.functional.normalize(m.T, dim=1)).float()


def fit_probe(latents: torch.Tensor, labels: torch.Tensor, l2: float = 0.1, steps: int = 200
              ) -> tuple[torch.Tensor, dict]:
    """A linear classifier separating latents [N, D] by a binary label [N] (InterFaceGAN, Shen et al.
    2020): L2-regularised logistic regression on standardised latents, fitted with L-BFGS. Its
    boundary's normal, mapped back to latent units, is the attribute direction (towards label 1).
    l2: 0.1, because a generator's attributes are seldom linearly separable in its 128-512 dims from
    the few hundred or thousand labelled samples there is time for, and a weak penalty fits noise:
    on the shipped StyleGAN2 with the tab's 500 samples, going from -2 to +2 std along the "smile"
    probe changed the smile classifier's mean output by -0.01 with 1e-3 and by 0.29 with 0.1, along
    "long hair" by 0.19 and 0.61 (64 seeds).
    -> (unit vector [D], {"accuracy": on the fitting set, "n": N, "positives": count})."""
    assert latents.ndim == 2 and labels.shape == latents.shape[:1], \
        f"need latents [N, D] and labels [N], got {tuple(latents.shape)} and {tuple(labels.shape)}"
    y = labels.detach().double().cpu()
    if not torch.all((y == 0) | (y == 1)):
        raise ValueError("labels must be 0 or 1")
    pos = int(y.sum())
    if pos == 0 or pos == len(y):
        raise ValueError(f"every sample has label {int(y[0])}: the attribute needs examples of both values")
    x = latents.detach().double().cpu()
    mu, sd = x.mean(0), x.std(0).clamp_min(1e-8)
    xs = (x - mu) / sd
    w = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(xs @ w + b, y) + l2 * w.square().sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    with torch.no_grad():
        acc = float(((xs @ w + b > 0).double() == y).double().mean())
        normal = w.detach() / sd                     # d(logit)/dx in latent units
    return (normal / normal.norm()).float(), {"accuracy": acc, "n": len(y), "positives": pos}


def condition(d: torch.Tensor, others: list[torch.Tensor]) -> torch.Tensor:
    """Conditional editing (InterFaceGAN, Sec. 2.3): d with its components along every other
    attribute's direction removed (projection onto the orthogonal complement of their span), so
    moving along it leaves those attributes' classifier scores unchanged. -> unit [D]."""
    if not others:
        return d / d.norm()
    q, _ = torch.linalg.qr(torch.stack([o.double() for o in others], dim=1))  # [D, m] orthonormal basis
    r = d.double() - q @ (q.T @ d.double())
    if r.norm() < 1e-6 * d.norm():
        raise ValueError("the direction lies in the span of the attributes to keep; keep fewer attributes")
    return (r / r.norm()).float()


def mean_difference(group_a: torch.Tensor, group_b: torch.Tensor) -> torch.Tensor:
    """Unit vector from the mean of group A's latents [Na, D] to group B's [Nb, D]."""
    assert group_a.ndim == 2 and group_b.ndim == 2 and group_a.shape[1] == group_b.shape[1]
    d = group_b.double().mean(0) - group_a.double().mean(0)
    if d.norm() < 1e-12:
        raise ValueError("the two groups have the same mean latent; pick different seeds for each group")
    return (d / d.norm()).float()


def apply(ws: torch.Tensor, d: torch.Tensor, strength: float, layers: tuple[int, int] | None = None) -> torch.Tensor:
    """ws [N, num_ws, D] moved by `strength` (already in latent units) along d [D] on the ws entries
    [lo, hi) only (None = all). A new tensor; entries outside the range are the very same values,
    so an incremental renderer re-runs only from the first edited layer."""
    assert ws.ndim == 3 and d.shape == ws.shape[2:], f"ws [N, num_ws, D] and d [D], got {ws.shape}, {d.shape}"
    lo, hi = (0, ws.shape[1]) if layers is None else layers
    if not 0 <= lo < hi <= ws.shape[1]:
        raise ValueError(f"layer range {lo}..{hi} is outside this model's {ws.shape[1]} style inputs")
    out = ws.clone()
    if strength != 0.0:
        out[:, lo:hi] = out[:, lo:hi] + strength * d.to(ws)
    return out


# ----------------------------------------------------------------------------- on a generator
def latent_space(G) -> str:
    """"w" when G has a mapping network (its ws differ from z), "z" otherwise."""
    return "w" if getattr(G.capabilities, "mixing", False) else "z"


@torch.inference_mode()
def sample_latents(G, n: int, seed0: int = SAMPLE_SEED0, device: torch.device | str = "cpu") -> torch.Tensor:
    """[n, D]: the untruncated w (or z) of seeds seed0 .. seed0 + n - 1."""
    z = latents_for_seeds(list(range(seed0, seed0 + n)), G.z_dim).to(device)
    return torch.cat([G.mapping(zb)[:, 0] for zb in z.split(256)]).cpu()


# The layer whose activations PCA decomposes in z, per family: (submodule, "input" or "output" of it).
# After the first nonlinearity, so the activations are not a linear image of z (whose principal axes
# would be the first weight's singular vectors, SeFa's answer), and at 4x4, so the axes are of the
# generator's layout rather than of one resolution's texture (GANSpace uses early layers for this).
# These layers are still nearly linear in z: on the shipped models each of the top 5 axes has |cos|
# 0.71-1.0 with one of SeFa's top 5 (0.94-1.0 for the first two), in SeFa's order but for a few swaps.
EARLY_LAYER: dict[type, tuple[str, str]] = {
    DCGANGenerator: ("net.2", "output"),      # 4x4 transposed conv -> batch norm -> activation (net[0] is
                                              # computed as a matmul in synthesis: no hook fires on it)
    ProGANGenerator: ("conv0", "output"),     # the 4x4 block: dense -> lrelu -> pixel norm -> conv 3x3 ->
                                              # lrelu -> pixel norm (the paper's first block)
    FastGANGenerator: ("blocks.0", "input"),  # init: 4x4 transposed conv -> batch norm -> GLU, as the
                                              # 8x8 block reads it (GLU is a function: no module to hook)
}


class _Reached(Exception):
    """Raised by the hook at the early layer: the rest of the generator is not needed."""

    def __init__(self, value: torch.Tensor):
        super().__init__("early layer reached")
        self.value = value


def early_layer(G) -> tuple[str, str]:
    for cls, where in EARLY_LAYER.items():
        if isinstance(G, cls):
            return where
    raise ValueError(f"no early layer is known for {type(G).__name__}; add it to EARLY_LAYER")


@torch.inference_mode()
def early_activations(G, z: torch.Tensor) -> torch.Tensor:
    """[N, F]: the flattened activations of G's early layer (EARLY_LAYER) for z [N, z_dim]. A forward
    hook reads them and stops the pass there; G (in eval mode, so batch norm does not update its
    statistics and each sample is its own) is left as it was."""
    if G.training:
        raise ValueError("put G in eval mode first: in training mode batch norm mixes the samples")
    name, where = early_layer(G)
    module = G.get_submodule(name)

    def grab(value):
        raise _Reached(value.detach().flatten(1).float().cpu())

    handle = (module.register_forward_hook(lambda m, args, out: grab(out)) if where == "output"
              else module.register_forward_pre_hook(lambda m, args: grab(args[0])))
    try:
        G.synthesis(G.mapping(z))
    except _Reached as reached:
        return reached.value
    finally:
        handle.remove()
    raise RuntimeError(f"{type(G).__name__}.synthesis never ran {name}")


def find_pca(G, k: int = 10, n: int = PCA_SAMPLES, device: torch.device | str = "cpu") -> list[Direction]:
    """The top k GANSpace directions of G, named "pca #0", ...: with a mapping network, the principal
    axes of n sampled w; otherwise the principal axes of the early layer's activations for n sampled
    z, each regressed back to z (GANSpace, Sec. 2: for BigGAN-like generators "the PCA basis in the
    activation space is transferred to the latent space by regression"); principal axes of z itself
    describe only its isotropic sampler. Stats: the fraction of variance each explains of what was
    decomposed (w, or the activations). Strength 1 is one std of the sampled latents along each."""
    space = latent_space(G)
    lat = sample_latents(G, n, device=device)                                             # [n, D]: w, or z
    if space == "w":
        vecs, ratio, std = pca(lat, k)
        extra = {}
    else:
        acts = torch.cat([early_activations(G, zb.to(device)) for zb in lat.split(256)])  # [n, F]
        axes, ratio, _ = pca(acts, k)
        coords = (acts.double() - acts.double().mean(0)) @ axes.double().T                 # [n, k]
        vecs = regress_to_latent(lat, coords)
        std = std_along(lat, vecs)
        extra = {"layer": early_layer(G)[0], "features": int(acts.shape[1])}
    return [Direction(f"pca #{i}", "pca", vecs[i].numpy(), float(std[i]), None, space,
                      {"explained_variance": float(ratio[i]), "rank": i, "samples": n, **extra})
            for i in range(len(ratio))]


def first_weights(G, layers: tuple[int, int] | None = None) -> torch.Tensor:
    """The weight [out, D] that first reads the latent, for SeFa. Style-based G: the affine (style)
    layers of the synthesis layers and toRGBs reading ws entries [lo, hi), stacked. Other families:
    the first weight with a dimension of size z_dim (DCGAN's 4x4 transposed conv, ProGAN's dense)."""
    if latent_space(G) == "w" and hasattr(G, "layers"):
        lo, hi = layers if layers is not None else (0, G.num_ws)
        mats = [G.layers[i].affine.weight for i, k in enumerate(G.layer_w) if lo <= k < hi]
        mats += [G.to_rgb[j].affine.weight for j, k in enumerate(G.rgb_w)
                 if k is not None and lo <= k < hi and G.to_rgb[j].affine is not None]
        if not mats:
            raise ValueError(f"no style layer reads ws entries {lo}..{hi}")
        return torch.cat([m.detach().float().cpu() for m in mats])
    for p in G.parameters():
        if p.ndim < 2:
            continue
        if p.shape[1] == G.z_dim and p.ndim == 2:   # Linear [out, z_dim]
            return p.detach().float().cpu()
        if p.shape[0] == G.z_dim:                    # ConvTranspose [z_dim, C, k, k]
            return p.detach().float().cpu().flatten(1).T
    raise ValueError("found no weight that reads the latent; SeFa needs a first linear layer")


def std_along(latents: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
    """[k]: standard deviation of latents [N, D] projected on each unit row of vectors [k, D]."""
    return (latents.double() @ vectors.double().T).std(dim=0).float()


# ----------------------------------------------------------------------------- storage beside the model
_KEY_OK = re.compile(r"[^a-z0-9_-]+")


def store_dir(checkpoint: str | os.PathLike) -> Path:
    """weights/NAME.json -> weights/NAME.directions (see the module docstring)."""
    p = Path(checkpoint)
    return p.with_name(p.stem + ".directions") if p.suffix in (".json", ".safetensors") else \
        p.with_name(p.name + ".directions")


def key_for(name: str) -> str:
    return _KEY_OK.sub("-", name.lower()).strip("-")[:64] or "direction"


def save_direction(checkpoint: str | os.PathLike, d: Direction) -> Path:
    """Write KEY.npy then KEY.json (the commit point) beside the checkpoint; replaces a same-named one."""
    folder = store_dir(checkpoint)
    folder.mkdir(parents=True, exist_ok=True)
    key = key_for(d.name)
    buf = io.BytesIO()
    np.save(buf, d.vector.astype(np.float32), allow_pickle=False)
    atomic_write_bytes(folder / f"{key}.npy", buf.getvalue())
    atomic_write_bytes(folder / f"{key}.json", json.dumps(d.meta(), indent=2, sort_keys=True).encode())
    return folder / f"{key}.json"


def load_directions(checkpoint: str | os.PathLike, dim: int | None = None) -> list[Direction]:
    """Every readable direction saved beside the checkpoint (of dimension `dim` when given), by name.
    Unreadable or mismatched files are skipped: a list is never blocked by one bad file."""
    folder = store_dir(checkpoint)
    out = []
    for jp in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            meta = json.loads(jp.read_text())
            vec = np.load(jp.with_suffix(".npy"), allow_pickle=False)
            layers = meta.get("layers")
            d = Direction(str(meta["name"]), str(meta["method"]), vec, float(meta.get("std", 1.0)),
                          tuple(layers) if layers else None, str(meta.get("space", "w")), dict(meta.get("stats", {})))
        except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError):
            continue
        if dim is None or d.vector.shape[0] == dim:
            out.append(d)
    return sorted(out, key=lambda d: d.name)


def delete_direction(checkpoint: str | os.PathLike, name: str) -> bool:
    folder, key = store_dir(checkpoint), key_for(name)
    found = (folder / f"{key}.json").exists()
    for suffix in (".json", ".npy"):
        (folder / f"{key}{suffix}").unlink(missing_ok=True)
    return found


def has_directions(checkpoint: str | os.PathLike) -> bool:
    """Whether any direction file lies beside the checkpoint (without reading it)."""
    folder = store_dir(checkpoint)
    return folder.is_dir() and any(folder.glob("*.npy"))


def first_choice(saved: list[Direction]) -> Direction | None:
    """The direction a tab opens on, so that a first drag of its strength moves the picture: the one
    measured to move its attribute most (stats "effect", as scripts/make_directions.py writes for
    the shipped models), else the first supervised one (named after what it changes), else the first."""
    measured = [d for d in saved if isinstance(d.stats.get("effect"), (int, float))]
    if measured:
        return max(measured, key=lambda d: d.stats["effect"])
    return next((d for d in saved if d.method == "supervised"), saved[0] if saved else None)
