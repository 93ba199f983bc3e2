"""2-D real distributions, seeded sampling, drawn/uploaded points, and the mixture mode-coverage metric.

Everything lives on one fixed plane, [-EXTENT, EXTENT]^2 in plane units, so every view and
every metric of every distribution shares a frame. The built-in sets fit in [-1.2, 1.2]^2.
Sampling takes a numpy Generator (PCG64): a seed alone reproduces the points.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

EXTENT = 1.5        # half-width of the plane in plane units: views and metrics cover [-EXTENT, EXTENT]^2
MIN_POINTS = 8      # fewest real points a playground takes (drawn or sampled)
MAX_POINTS = 5000   # most real points a playground takes (drawn or sampled)


@dataclass(frozen=True)
class Distribution:
    sample: Callable[[int, np.random.Generator], np.ndarray]  # (n, rng) -> float32 [n, 2]
    description: str                                           # one line for the UI
    centers: np.ndarray | None = None                          # [K, 2] mode centres of a Gaussian mixture; None = not a mixture
    std: float = 0.0                                           # per-axis std of each mixture component, plane units


def _mixture(centers: np.ndarray, std: float) -> Callable[[int, np.random.Generator], np.ndarray]:
    def sample(n: int, rng: np.random.Generator) -> np.ndarray:
        k = rng.integers(0, len(centers), size=n)               # [n] component of each point
        return (centers[k] + std * rng.standard_normal((n, 2))).astype(np.float32)
    return sample


def _moons(n: int, rng: np.random.Generator) -> np.ndarray:
    upper = rng.random(n) < 0.5                                 # [n] which moon
    t = math.pi * rng.random(n)
    x = np.where(upper, np.cos(t), 1.0 - np.cos(t))
    y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
    pts = np.stack([x - 0.5, y - 0.25], 1) * 0.8                # centred, within about [-1.2, 1.2] x [-0.6, 0.6]
    return (pts + 0.04 * rng.standard_normal((n, 2))).astype(np.float32)


def _spiral(n: int, rng: np.random.Generator) -> np.ndarray:
    t = np.sqrt(rng.random(n))                                  # denser towards the outside, even along the arm
    a = 3.0 * math.pi * t
    pts = np.stack([np.cos(a), np.sin(a)], 1) * (0.1 + 1.0 * t)[:, None]
    return (pts + 0.03 * rng.standard_normal((n, 2))).astype(np.float32)


def _line(n: int, rng: np.random.Generator) -> np.ndarray:
    t = rng.random(n) * 2.0 - 1.0                               # a 1-D support: no noise, so it has no area
    return np.stack([t, 0.5 * t], 1).astype(np.float32)


def _square(n: int, rng: np.random.Generator) -> np.ndarray:
    return (rng.random((n, 2)) * 2.0 - 1.0).astype(np.float32)


_RING = np.stack([np.cos(np.arange(8) * math.pi / 4), np.sin(np.arange(8) * math.pi / 4)], 1)  # [8, 2]
_GRID = np.stack(np.meshgrid(np.linspace(-1, 1, 5), np.linspace(-1, 1, 5)), -1).reshape(-1, 2)   # [25, 2]
_PAIR = np.array([[-0.75, 0.0], [0.75, 0.0]])                                                     # [2, 2]

DISTRIBUTIONS: dict[str, Distribution] = {
    "ring": Distribution(_mixture(_RING, 0.05), "8 Gaussians (std 0.05) on a circle of radius 1", _RING, 0.05),
    "grid": Distribution(_mixture(_GRID, 0.03), "25 Gaussians (std 0.03) on a 5 x 5 grid, spacing 0.5", _GRID, 0.03),
    "moons": Distribution(_moons, "two interleaved half circles with noise 0.04"),
    "spiral": Distribution(_spiral, "one arm winding 1.5 turns out to radius 1.1"),
    "line": Distribution(_line, "a segment from (-1, -0.5) to (1, 0.5) with no thickness"),
    "pair": Distribution(_mixture(_PAIR, 0.1), "two Gaussians (std 0.1) 1.5 apart", _PAIR, 0.1),
    "square": Distribution(_square, "uniform on the square [-1, 1]^2"),
}


def sample(name: str, n: int, seed: int) -> np.ndarray:
    """n points of a built-in distribution, float32 [n, 2]; the same (name, n, seed) gives the same points."""
    if name not in DISTRIBUTIONS:
        raise ValueError(f"Unknown distribution {name!r}; choose one of {', '.join(DISTRIBUTIONS)}.")
    if not MIN_POINTS <= n <= MAX_POINTS:
        raise ValueError(f"The sample count must be from {MIN_POINTS} to {MAX_POINTS}, got {n}.")
    pts = DISTRIBUTIONS[name].sample(int(n), np.random.default_rng(seed))
    assert pts.shape == (n, 2) and pts.dtype == np.float32
    return pts


def check_points(points, *, rescale: bool = False) -> np.ndarray:
    """Validate drawn points ([[x, y], ...] in plane units) into float32 [N, 2].

    rescale=True centres them and scales the largest coordinate to 1 instead of refusing points
    outside the plane."""
    try:
        arr = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("Points must be pairs of numbers [[x, y], ...].") from None
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"Points must be pairs [x, y]; got an array of shape {arr.shape}.")
    n = len(arr)
    if n < MIN_POINTS:
        raise ValueError(f"Only {n} point(s); draw or upload at least {MIN_POINTS}.")
    if n > MAX_POINTS:
        raise ValueError(f"{n} points is more than the {MAX_POINTS} the playground takes; thin them out.")
    bad = ~np.isfinite(arr).all(1)
    if bad.any():
        raise ValueError(f"Point {int(np.argmax(bad)) + 1} is not finite (nan or inf); remove it.")
    if rescale:
        arr = arr - arr.mean(0)
        scale = np.abs(arr).max()
        arr = arr / scale if scale > 0 else arr
    out = np.abs(arr) > EXTENT
    if out.any():
        i = int(np.argmax(out.any(1)))
        raise ValueError(f"Point {i + 1} ({arr[i, 0]:g}, {arr[i, 1]:g}) lies outside the plane "
                         f"[-{EXTENT:g}, {EXTENT:g}]^2; rescale the data (rescale=True fits it to [-1, 1]).")
    return arr.astype(np.float32)


def parse_csv(text: str | bytes, *, rescale: bool = False) -> np.ndarray:
    """Points from CSV text: one "x,y" per line (comma, semicolon, tab or spaces), an optional
    header line, blank lines and '#' comments skipped. Returns float32 [N, 2]; raises ValueError
    naming the line at fault."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValueError("The file is not UTF-8 text; upload a CSV of 'x,y' lines.") from None
    rows: list[tuple[float, float]] = []
    first_data = True
    for lineno, raw in enumerate(io.StringIO(text), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if len(rows) > MAX_POINTS:
            raise ValueError(f"More than {MAX_POINTS} points; the playground takes at most {MAX_POINTS}, thin them out.")
        delim = next((c for c in ",;\t" if c in line), None)
        cells = next(csv.reader([line], delimiter=delim)) if delim else line.split()
        cells = [c.strip() for c in cells]
        if len(cells) != 2:
            raise ValueError(f"Line {lineno} has {len(cells)} column(s); each line must be 'x,y' (two numbers).")
        try:
            x, y = float(cells[0]), float(cells[1])
        except ValueError:
            if first_data and not any(_is_number(c) for c in cells):
                first_data = False
                continue  # a header such as "x,y"
            word = next(c for c in cells if not _is_number(c))
            raise ValueError(f"Line {lineno}: {word!r} is not a number; each line must be two numbers 'x,y'.") from None
        first_data = False
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ValueError(f"Line {lineno} holds a non-finite value (nan or inf); remove it.")
        rows.append((x, y))
    if not rows:
        raise ValueError("The CSV holds no points; each line must be two numbers 'x,y'.")
    return check_points(rows, rescale=rescale)


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def mode_coverage(points: np.ndarray, centers: np.ndarray, std: float, min_share: float | None = None) -> dict:
    """How well points [M, 2] cover a Gaussian mixture's modes (Metz et al. 2017, Srivastava et al. 2017).

    A point is high quality when it lies within 3 std of some mode centre; a mode is covered
    when it holds at least `min_share` of all points (default: a fifth of the share each mode
    would get if the points were spread evenly, 1 / (5 K)).
    Returns {"covered": int, "modes": K, "hq_share": float, "counts": list[int] per mode}."""
    assert points.ndim == 2 and points.shape[1] == 2 and centers.ndim == 2 and centers.shape[1] == 2
    k = len(centers)
    if min_share is None:
        min_share = 1.0 / (5 * k)
    d2 = ((points[:, None, :].astype(np.float64) - centers[None]) ** 2).sum(-1)  # [M, K]
    nearest = d2.argmin(1)                                                    # [M]
    near = d2[np.arange(len(points)), nearest] <= (3.0 * std) ** 2            # [M] within 3 std
    counts = np.bincount(nearest[near], minlength=k)                          # [K]
    m = max(len(points), 1)
    return {"covered": int((counts >= min_share * m).sum()), "modes": k,
            "hq_share": float(near.sum() / m), "counts": counts.tolist()}
