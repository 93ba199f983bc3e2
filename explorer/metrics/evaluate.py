"""Run metrics on a checkpoint: sample G, extract features, compare with cached real statistics,
and append the results to the checkpoint's JSON card. No UI here; the CLI and the Metrics tab call it.

A result row (what goes into the card's "metrics" list, newest last):
    {"metric": "fid", "value": 12.3, "net": "lite0", "n_real": 5000, "n_fake": 5000,
     "kimg": 32.3, "date": "2025-...Z", "seconds": 81.2, "details": {...}}
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..fsutil import atomic_write_bytes
from ..models.contract import trained_growth
from . import maths
from .features import FeatureNet, FeatureNetError, load_feature_net

METRICS = {  # name -> what it reports
    "fid": "Fréchet distance of feature Gaussians (lower is better)",
    "kid": "unbiased kernel inception distance, cubic kernel (lower is better; fine for small n)",
    "pr": "improved precision and recall, k = 3 (higher is better)",
    "ppl": "perceptual path length in z and w, feature-pyramid distance (lower is smoother)",
    "sep": "linear separability of the attributes in z and w, H(Y|X) bits (lower is more disentangled)",
}
CACHE_ENV = "GAN_EXPLORER_CACHE"   # folder for real-data statistics; default ~/.cache/gan-explorer
PPL_EPSILON = 1e-4                 # Karras et al. 2019, Sec. 4.1
Progress = Callable[[float, str], None]


class MetricError(ValueError):
    """A metric run that cannot go ahead; the message says what to do."""


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "gan-explorer") / "metrics"


def is_projected(meta: dict) -> bool:
    """Projected GAN discriminators see ImageNet features: their ImageNet-feature FID flatters them."""
    text = f"{meta.get('arch', '')} {meta.get('train', {}).get('recipe', '')}".lower()
    return "projected" in text or "fastgan" in text


def default_nets(meta: dict, inception_path: str | None = None) -> list[str]:
    """inception if its file is given, else lite0; plus domain for projected models on built-in data."""
    nets = ["inception" if inception_path or os.environ.get("GAN_EXPLORER_INCEPTION") else "lite0"]
    if is_projected(meta) and meta.get("train", {}).get("data") in ("faces", "mnist"):
        nets.append("domain")
    return nets


# ---------------------------------------------------------------- sampling

def quantize(img: torch.Tensor) -> torch.Tensor:
    """[-1, 1] floats -> the values images.to_uint8 stores -> back to [-1, 1], as dataset batches are."""
    return (img * 127.5 + 128).clamp(0, 255).floor() / 127.5 - 1

def _synthesis_kwargs(G, meta: dict, noise: torch.Generator | None) -> dict:
    kw = {}
    if G.capabilities.noise:
        kw = {"noise_mode": "random", "noise_generator": noise} if noise is not None else {"noise_mode": "const"}
    if G.capabilities.progressive:
        kw["stage"], kw["alpha"] = trained_growth(G, meta)
    return kw


@torch.inference_mode()
def generated(G, meta: dict, n: int, fn: Callable[..., object], *, batch: int = 64, seed: int = 0,
              progress: Progress | None = None, what: str = "") -> list:
    """Call fn(images [B, C, H, W], ws [B, num_ws, w_dim], z [B, z_dim]) for n samples z ~ N(0, I) from `seed`, with
    per-sample random noise where the family has it; returns fn's results, one per batch. The images
    are quantized as a saved picture would be (uint8, so values outside [-1, 1] are clipped), as the
    real ones are: ProGAN and StyleGAN outputs are linear and overshoot."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.Generator().manual_seed(seed + 1)
    out = []
    for i in range(0, n, batch):
        z = torch.randn(min(batch, n - i), G.z_dim, generator=g)
        ws = G.mapping(z)
        img = G.synthesis(ws, **_synthesis_kwargs(G, meta, noise))
        out.append(fn(quantize(img), ws, z))
        if progress:
            progress(min(i + batch, n) / n, what)
    return out


def fake_features(G, meta: dict, net: FeatureNet, n: int, **kw) -> np.ndarray:
    """[n, D] features of n generated images (public: what a benchmark needs for kid())."""
    return np.concatenate(generated(G, meta, n, lambda img, ws, z: net.features(img).numpy(),
                                    batch=net.batch, **kw))


# ---------------------------------------------------------------- real data, cached

def _data_key(spec: str) -> str:
    from ..train.datasets import BUILTIN

    if spec in BUILTIN:
        return spec
    p = Path(spec)
    if not p.exists():
        raise MetricError(f"The model was trained on {spec!r}, which is not here; metrics need that data.")
    stamp = f"{p.resolve()}:{p.stat().st_mtime_ns}:{p.stat().st_size}"
    return "data-" + hashlib.sha256(stamp.encode()).hexdigest()[:16]


def _real_cache(spec: str, res: int, channels: int, net_key: str, n: int) -> tuple[Path, Path | None]:
    """(where n real features are cached, the cached file that holds them or None): that file, or a larger
    cached set's, whose first n serve, since image i of a data set is the same whatever the count."""
    # "order2": subsets spread over the whole set (explorer.train.datasets.load_dataset), not its first images.
    stem = f"{_data_key(spec)}-{res}px-{channels}ch-{net_key}-order2"
    path = cache_dir() / f"{stem}-n{n}.npy"
    if path.is_file():
        return path, path
    for other in sorted(cache_dir().glob(f"{stem}-n*.npy")):
        count = other.stem.rsplit("-n", 1)[1]
        if count.isdigit() and int(count) > n:
            return path, other
    return path, None


@torch.inference_mode()
def real_features(spec: str, res: int, channels: int, net: FeatureNet, n: int,
                  progress: Progress | None = None) -> np.ndarray:
    """[n_real, D] features of the model's training data at its resolution, cached per dataset,
    resolution, channels, feature network (its weights' hash) and count. faces: the same images
    (seed 0) a model trained on them saw; mnist has 5,000 in all, so n_real <= 5,000."""
    path, cached = _real_cache(spec, res, channels, net.key, n)
    if cached is not None:
        return np.load(cached)[:n]
    from ..train.datasets import DatasetError, load_dataset

    try:
        ds = load_dataset(spec, res, channels=channels, size=n)
    except DatasetError as e:
        raise MetricError(str(e)) from None
    feats = []
    for i in range(0, len(ds), net.batch):
        feats.append(net.features(ds.batch(torch.arange(i, min(i + net.batch, len(ds))))).numpy())
        if progress:
            progress(min(i + net.batch, len(ds)) / len(ds), f"real images through {net.name}")
    feats = np.concatenate(feats).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp.npy")
    np.save(tmp, feats)
    os.replace(tmp, path)
    return feats


# ---------------------------------------------------------------- path length and separability

@torch.inference_mode()
def path_lengths(G, meta: dict, net: FeatureNet, n: int, space: str, *, batch: int = 16, seed: int = 0,
                 progress: Progress | None = None) -> np.ndarray:
    """[n] d(G(p(t)), G(p(t + eps))) along random paths: slerp in z, lerp in w (Karras et al. 2019,
    Eq. 2 and 3), t ~ U(0, 1), both images of a pair with the same (const) noise."""
    if net.pyramid is None:
        raise MetricError(f"Path length needs a feature pyramid, which {net.name} does not offer; use --net lite0 "
                          "or domain.")
    g = torch.Generator().manual_seed(seed)
    kw = _synthesis_kwargs(G, meta, None)
    out = []
    for i in range(0, n, batch):
        b = min(batch, n - i)
        z0, z1 = torch.randn(b, G.z_dim, generator=g), torch.randn(b, G.z_dim, generator=g)
        t = torch.rand(b, 1, generator=g)
        if space == "z":
            ws = G.mapping(torch.cat([maths.slerp(z0, z1, t), maths.slerp(z0, z1, t + PPL_EPSILON)]))
        else:
            w0, w1 = G.mapping(z0), G.mapping(z1)  # [b, num_ws, w_dim]
            t3 = t[:, :, None]
            ws = torch.cat([torch.lerp(w0, w1, t3), torch.lerp(w0, w1, t3 + PPL_EPSILON)])
        maps = net.pyramid(G.synthesis(ws, **kw))
        out.append(maths.pyramid_distance([m[:b] for m in maps], [m[b:] for m in maps]).numpy())
        if progress:
            progress(min(i + b, n) / n, f"path length in {space}")
    return np.concatenate(out)


def separability_scores(G, meta: dict, n: int, classifier_dir=None, progress: Progress | None = None,
                        seed: int = 0) -> dict[str, dict[str, float]]:
    """{"z": {attribute: H(Y|X) bits}, "w": {...}, "prior": {attribute: H(Y) bits, the most H(Y|X) can be}}
    from samples labelled by the dataset's attribute classifier. Families without a mapping network
    have w = z, so their two rows agree."""
    from ..attributes import ClassifierError, binarize, load_classifier

    data = meta.get("train", {}).get("data")
    try:
        clf = load_classifier(data if data in ("faces", "mnist") else "", classifier_dir)
    except ClassifierError:
        raise MetricError(f"Linear separability needs attribute labels: there are attribute classifiers for the "
                          f"built-in datasets faces and mnist, not for {data!r}.") from None
    batches = generated(G, meta, n, lambda img, ws, z: (z, ws[:, 0], clf.predict(img)), seed=seed,
                        progress=progress, what="labelling samples")
    z, w = torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])
    preds = {k: torch.cat([b[2][k] for b in batches]) for k in batches[0][2]}
    out = {"z": {}, "w": {}, "prior": {}}
    for name, (label, conf) in binarize(preds).items():
        for space, lat in (("z", z), ("w", w)):
            h, prior = maths.separability(lat, label, conf, with_prior=True)
            out[space][name], out["prior"][name] = round(h, 4), round(prior, 4)
    return out


# ---------------------------------------------------------------- the run

@dataclass
class Job:
    checkpoint: str                     # the model's .json card
    metrics: tuple[str, ...]            # subset of METRICS
    n: int = 5000                       # generated samples (and real ones, when the data has that many)
    nets: tuple[str, ...] = ()          # feature networks; () = default_nets()
    inception_path: str | None = None   # local Inception TorchScript file
    classifier_dir: str | None = None   # attribute classifiers; None = weights/classifiers
    seed: int = 0                       # latent and noise seed


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def run(job: Job, progress: Progress | None = None, G=None) -> list[dict]:
    """Compute the job's metrics; returns result rows (see the module docstring). Checks every
    sample count before any image is made, so a refused run costs nothing."""
    from ..weights import CheckpointError, load_generator

    unknown = [m for m in job.metrics if m not in METRICS]
    if unknown or not job.metrics:
        raise MetricError(f"Unknown metric(s) {unknown}; choose from {', '.join(METRICS)}.")
    if job.n < 2:
        raise MetricError("Give at least 2 samples (--n); 5000 for FID.")
    try:
        loaded, meta = load_generator(job.checkpoint) if G is None else (G, json.loads(Path(job.checkpoint).read_text()))
    except CheckpointError as e:
        raise MetricError(str(e)) from None
    train = meta.get("train", {})
    res, channels = loaded.img_resolution, loaded.img_channels
    data = train.get("data")
    if not data and set(job.metrics) & {"fid", "kid", "pr"}:
        raise MetricError(f"{job.checkpoint} does not say which data it was trained on (train.data); FID, KID "
                          "and precision/recall need it.")
    nets = [load_feature_net(name, dataset=data, inception_path=job.inception_path,
                             classifier_dir=job.classifier_dir)
            for name in (job.nets or default_nets(meta, job.inception_path))] if set(job.metrics) - {"sep"} else []
    n_real = min(job.n, 5000) if data == "mnist" else job.n
    if "fid" in job.metrics:
        for net in nets:
            maths.check_fid_samples(min(job.n, n_real), net.dim, net.name)
    progress = progress or (lambda f, s: None)
    rows, base = [], {"kimg": train.get("kimg"), "date": _now()}

    def add(metric, value, net, n_r, n_f, t0, **details):
        rows.append({"metric": metric, "value": round(float(value), 6), "net": net, "n_real": n_r, "n_fake": n_f,
                     **base, "seconds": round(time.perf_counter() - t0, 1), "details": details})

    for net in nets:
        t0 = time.perf_counter()
        if set(job.metrics) & {"fid", "kid", "pr"}:
            real = real_features(data, res, channels, net, n_real, progress)
            fake = fake_features(loaded, meta, net, job.n, seed=job.seed, progress=progress,
                                 what=f"generated images through {net.name}")
            if "fid" in job.metrics:
                add("fid", maths.fid(real, fake, net.name), net.name, len(real), len(fake), t0)
                t0 = time.perf_counter()
            if "kid" in job.metrics:
                mean, std = maths.kid(real, fake)
                add("kid", mean, net.name, len(real), len(fake), t0, std=round(std, 6))
                t0 = time.perf_counter()
            if "pr" in job.metrics:
                precision, recall = maths.precision_recall(real, fake)
                add("precision", precision, net.name, len(real), len(fake), t0, k=3)
                add("recall", recall, net.name, len(real), len(fake), t0, k=3)
        if "ppl" in job.metrics:
            for space in ("z", "w"):
                t0 = time.perf_counter()
                d = path_lengths(loaded, meta, net, job.n, space, seed=job.seed, progress=progress)
                add(f"ppl_{space}", maths.path_length(d, PPL_EPSILON), f"{net.name} feature-pyramid distance (not LPIPS)",
                    0, job.n, t0, epsilon=PPL_EPSILON)
    if "sep" in job.metrics:
        t0 = time.perf_counter()
        scores = separability_scores(loaded, meta, job.n, job.classifier_dir, progress, job.seed)
        prior = scores.pop("prior")
        for space, per_attr in scores.items():
            h = list(per_attr.values())
            # Karras et al. 2019 report exp(sum_i H(Y_i|X_i)) with H in nats; the value here is the
            # mean in bits (0 = every attribute linearly separable, 1 = none is).
            add(f"sep_{space}", np.mean(h), f"domain:{data} attribute classifier", 0, job.n, t0,
                per_attribute=per_attr, label_entropy=prior, paper_score=round(math.exp(sum(h) * math.log(2)), 4))
    return rows


# ---------------------------------------------------------------- how long a run takes

_SECONDS_PER_IMAGE: dict[tuple, float] = {}   # measured once per process: (what, key...) -> seconds per image
ESTIMATE_BATCH = 16                            # images timed per measurement (smaller batches flatter the rate)


def _rate(key: tuple, fn: Callable[[], object], batch: int = ESTIMATE_BATCH) -> float:
    """Seconds per image of fn() (one batch of `batch`), timed after a warm-up call, once per key."""
    if key not in _SECONDS_PER_IMAGE:
        fn()
        t0 = time.perf_counter()
        fn()
        _SECONDS_PER_IMAGE[key] = (time.perf_counter() - t0) / batch
    return _SECONDS_PER_IMAGE[key]


def real_cached(spec: str, res: int, channels: int, net_key: str, n: int) -> bool:
    """Whether real_features would read the n real features from the cache instead of computing them."""
    try:
        return _real_cache(spec, res, channels, net_key, n)[1] is not None
    except MetricError:
        return False


@torch.inference_mode()
def estimate(job: Job) -> tuple[float, str]:
    """(seconds, what they are spent on) for run(job) on this machine, before it starts: the generator's
    and each feature network's time per image, measured on one small batch (once per process and
    model), times the images the job makes and reads; real features already cached cost nothing.
    MetricError (the same sentence run() would give) when the job cannot run."""
    from ..weights import CheckpointError, load_generator

    try:
        G, meta = load_generator(job.checkpoint)
    except CheckpointError as e:
        raise MetricError(str(e)) from None
    data = meta.get("train", {}).get("data")
    res, channels = G.img_resolution, G.img_channels
    stamp = Path(job.checkpoint).stat().st_mtime_ns
    z = torch.randn(ESTIMATE_BATCH, G.z_dim, generator=torch.Generator().manual_seed(0))
    kw = _synthesis_kwargs(G, meta, None)
    g = _rate(("G", str(job.checkpoint), stamp), lambda: G.synthesis(G.mapping(z), **kw))
    seconds, parts = 1.0, []  # loading the model and the networks
    n_real = min(job.n, 5000) if data == "mnist" else job.n
    for name in (job.nets or tuple(default_nets(meta, job.inception_path))) if set(job.metrics) - {"sep"} else ():
        try:
            net = load_feature_net(name, dataset=data, inception_path=job.inception_path,
                                   classifier_dir=job.classifier_dir)
        except FeatureNetError as e:
            raise MetricError(str(e)) from None
        nb = min(net.batch, 32)  # the batch run() uses, as far as a quick measurement allows
        img = torch.rand(nb, channels, res, res) * 2 - 1
        f = _rate((net.key, res, channels), lambda: net.features(img), nb)
        if set(job.metrics) & {"fid", "kid", "pr"}:
            seconds += job.n * (g + f)
            parts.append(f"{job.n:,} generated images through {net.name}")
            if data and not real_cached(data, res, channels, net.key, n_real):
                seconds += n_real * f * 1.2  # and loading (or drawing) the real images
                parts.append(f"{n_real:,} real ones (cached after this run)")
        if "ppl" in job.metrics:
            seconds += 4 * job.n * (g + f)  # two spaces, two images a path, through the pyramid
            parts.append(f"path length over {2 * job.n:,} pairs")
    if "sep" in job.metrics:
        seconds += 2 * job.n * g + 2.0  # the samples, the classifier and a probe per attribute and space
        parts.append(f"separability over {job.n:,} samples")
    return seconds, "; ".join(parts)


# ---------------------------------------------------------------- the real-data floor

def reference(data: str, res: int, channels: int, metrics: tuple[str, ...], n: int, nets: list[FeatureNet],
              progress: Progress | None = None) -> list[dict]:
    """The same metrics between two disjoint halves of the real data, n images each (fewer when the
    data set has fewer than 2n): the value a perfect generator would get at this sample count, so a
    model's number reads against it. The halves interleave the data's order (even and odd images)."""
    rows = []
    for net in nets:
        t0 = time.perf_counter()
        feats = real_features(data, res, channels, net, 2 * n, progress)
        a, b = feats[0::2], feats[1::2]
        m = min(len(a), len(b))
        a, b = a[:m], b[:m]
        base = {"net": net.name, "n_real": m, "n_fake": m, "against": "real half vs real half", "date": _now()}

        def add(metric, value, **details):
            nonlocal t0
            rows.append({"metric": metric, "value": round(float(value), 6), **base,
                         "seconds": round(time.perf_counter() - t0, 1), "details": details})
            t0 = time.perf_counter()

        if "fid" in metrics:
            add("fid", maths.fid(a, b, net.name))
        if "kid" in metrics:
            mean, std = maths.kid(a, b)
            add("kid", mean, std=round(std, 6))
        if "pr" in metrics:
            precision, recall = maths.precision_recall(a, b)
            add("precision", precision, k=3)
            add("recall", recall, k=3)
    return rows


def reference_for(job: Job, progress: Progress | None = None) -> list[dict]:
    """reference() for the data, resolution and feature networks of the job's checkpoint."""
    from ..weights import CheckpointError, load_generator

    try:
        G, meta = load_generator(job.checkpoint)
    except CheckpointError as e:
        raise MetricError(str(e)) from None
    data = meta.get("train", {}).get("data")
    if not data:
        raise MetricError(f"{job.checkpoint} does not say which data it was trained on (train.data).")
    wanted = tuple(m for m in job.metrics if m in ("fid", "kid", "pr"))
    nets = [load_feature_net(name, dataset=data, inception_path=job.inception_path, classifier_dir=job.classifier_dir)
            for name in (job.nets or default_nets(meta, job.inception_path))]
    return reference(data, G.img_resolution, G.img_channels, wanted, job.n, nets, progress)


# ---------------------------------------------------------------- the card

def append_to_card(checkpoint: str | os.PathLike, rows: list[dict], key: str = "metrics") -> None:
    """Add rows to the card's "metrics" list (or "reference", the real-data floor), written
    atomically; every other field is kept as read."""
    path = Path(checkpoint).with_suffix(".json")
    meta = json.loads(path.read_text())
    meta.setdefault(key, []).extend(rows)
    atomic_write_bytes(path, json.dumps(meta, indent=2, sort_keys=True).encode())


def history(checkpoint: str | os.PathLike) -> list[dict]:
    """Rows of every snapshot of the checkpoint's run (or of the checkpoint alone), oldest first;
    each row gains "snapshot" (the card's file name)."""
    path = Path(checkpoint).with_suffix(".json")
    cards = sorted(path.parent.glob("*.json")) if path.parent.name == "snapshots" else [path]
    rows = []
    for card in cards:
        try:
            meta = json.loads(card.read_text())
        except (OSError, ValueError):
            continue
        for r in meta.get("metrics", []) if isinstance(meta, dict) else []:
            if isinstance(r, dict) and "metric" in r and "value" in r:
                rows.append({**r, "snapshot": card.stem})
    return rows
