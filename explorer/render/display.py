"""How pictures are sized for the page and for files people keep: whole-number nearest-neighbour
enlargement, grids and growth strips."""

from __future__ import annotations

import numpy as np

from .. import images


DISPLAY_PX = 256  # files people keep (strips, exports): each image enlarged (nearest) to about this many pixels
# Live renders go to the page small and the browser enlarges them (CSS image-rendering: pixelated,
# ui/app.py): PNG encoding grows with the pixels, and four 256 px tiles cost the server more than
# rendering them (46 ms vs 26 ms for a ProGAN grid; bench/load_app.py reports CPU per request).
# Only pictures under LIVE_PX are enlarged here, so a 4x4 stage's grid gaps stay thin.
LIVE_PX = 64


def display_factor(res: int, display_px: int = DISPLAY_PX) -> int:
    """Whole-number nearest-neighbour enlargement that brings `res` pixels to about `display_px`."""
    return max(1, display_px // res)


def enlarge(pictures: np.ndarray, factor: int) -> np.ndarray:
    """uint8 [N, H, W, C] -> [N, H*factor, W*factor, C], each pixel a factor x factor block (nearest)."""
    assert pictures.ndim == 4, f"expected [N, H, W, C], got {pictures.shape}"
    return pictures if factor == 1 else pictures.repeat(factor, axis=1).repeat(factor, axis=2)


def display_grid(pictures: np.ndarray, display_px: int = LIVE_PX, cols: int | None = None) -> np.ndarray:
    """uint8 grid of `pictures` [N, r, r, C], each enlarged (nearest) to about display_px; the page
    enlarges the whole grid further (nearest too), so even a 4x4 stage is seen as its pixels."""
    return images.make_grid(enlarge(pictures, display_factor(pictures.shape[1], display_px)), cols=cols)


def growth_strip(panels: list[np.ndarray], display_px: int = DISPLAY_PX) -> np.ndarray:
    """One row of panels [r_s, r_s, C] of growing resolution, all enlarged (nearest) to one size."""
    size = max(p.shape[0] for p in panels)
    size *= display_factor(size, display_px)  # a multiple of every panel's power-of-two resolution
    return images.make_grid(np.stack([enlarge(p[None], size // p.shape[0])[0] for p in panels]),
                            cols=len(panels))
