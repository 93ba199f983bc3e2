"""A generator's layers as the Inspect tab names them, captured while it draws, and edited units.

Every family lists its layers in synthesis order (G.feature_layers(): key and the module whose output is
that layer's feature maps). A forward hook on each records its output; the same hook can replace the
output of one layer with some units (channels) ablated or forced, inside a region of the picture, so
the rest of the network runs on the edited features (Bau et al. 2019, Sec. 3.2: GAN Dissection)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

EDIT_MODES = ("zero", "mean", "insert")


@dataclass(frozen=True)
class Layer:
    key: str        # the model's own name for it, e.g. "b16.conv1"
    res: int        # feature map height = width, pixels
    channels: int   # units

    @property
    def label(self) -> str:
        return f"{self.key} · {self.res}×{self.res} · {self.channels} ch"


@dataclass(frozen=True)
class UnitEdit:
    """Units of one layer set to a value inside a region (Bau et al. 2019: ablation and insertion)."""

    layer: str                                   # Layer.key
    units: tuple[int, ...]                       # channel indices
    mode: str = "zero"                           # "zero" | "mean" (the unit's mean over the whole map of
                                                 # this image) | "insert" (1.5 x the unit's peak in it)
    strength: float = 1.0                        # 0 = no change, 1 = the full edit (a lerp in between)
    region: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)  # x0, y0, x1, y1 in [0, 1] of the image

    def __post_init__(self):
        if self.mode not in EDIT_MODES:
            raise ValueError(f"mode must be one of {EDIT_MODES}, got {self.mode!r}")
        x0, y0, x1, y1 = self.region
        if not (0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1):
            raise ValueError(f"region must be x0 < x1 and y0 < y1 within [0, 1], got {self.region}")


@dataclass
class Capture:
    image: torch.Tensor                  # [N, C, H, W] in [-1, 1], drawn with the edits applied
    features: dict[str, torch.Tensor]    # key -> [N, C, h, w] float32 of each captured layer (after edits)


def _modules(G) -> dict[str, torch.nn.Module]:
    return dict(G.feature_layers())


def list_layers(G, synthesize) -> list[Layer]:
    """The layers synthesize(ws) runs, with their sizes, from one dry run at batch 1 (a ProGAN stage
    lists only the blocks it uses). synthesize: ws [1, num_ws, w_dim] -> image."""
    ws = torch.zeros(1, G.num_ws, G.w_dim, device=next(G.parameters()).device)
    got = capture(G, synthesize, ws, keys=None)
    return [Layer(k, int(v.shape[-1]), int(v.shape[1])) for k, v in got.features.items()]


def _region_mask(region, h: int, w: int, device) -> torch.Tensor:
    """[1, 1, h, w] float: 1 on the feature pixels whose centres lie inside region (image fractions)."""
    x0, y0, x1, y1 = region
    ys = (torch.arange(h, device=device) + 0.5) / h
    xs = (torch.arange(w, device=device) + 0.5) / w
    inside = ((ys >= y0) & (ys <= y1))[:, None] & ((xs >= x0) & (xs <= x1))[None, :]
    if not inside.any():  # a region smaller than one feature pixel still edits the one under its centre
        inside[min(int((y0 + y1) / 2 * h), h - 1), min(int((x0 + x1) / 2 * w), w - 1)] = True
    return inside.to(torch.float32)[None, None]


def _apply(edit: UnitEdit, out: torch.Tensor) -> torch.Tensor:
    units = [u for u in edit.units if 0 <= u < out.shape[1]]
    if len(units) != len(edit.units):
        raise ValueError(f"layer {edit.layer} has units 0..{out.shape[1] - 1}; got {list(edit.units)}")
    if not units or edit.strength == 0:
        return out
    out = out.clone()
    sel = out[:, units]                                                     # [N, U, h, w]
    if edit.mode == "zero":
        target = torch.zeros_like(sel)
    elif edit.mode == "mean":
        target = sel.mean(dim=(2, 3), keepdim=True).expand_as(sel)
    else:  # insert: as strong as the unit's own strongest response in this image
        target = sel.amax(dim=(2, 3), keepdim=True).clamp_min(0).expand_as(sel) * 1.5
    m = _region_mask(edit.region, sel.shape[2], sel.shape[3], sel.device) * float(edit.strength)
    out[:, units] = sel + m * (target - sel)
    return out


def capture(G, synthesize, ws: torch.Tensor, keys: list[str] | None = None,
            edits: tuple[UnitEdit, ...] = ()) -> Capture:
    """Run synthesize(ws) and keep the outputs of the layers named in keys (None: every layer it runs),
    after applying edits to theirs. Unknown keys are an error naming the model's layers."""
    modules = _modules(G)
    wanted = list(modules) if keys is None else list(keys)
    for k in [*wanted, *(e.layer for e in edits)]:
        if k not in modules:
            raise ValueError(f"{k!r} is not a layer of this model; its layers are {', '.join(modules)}")
    by_layer: dict[str, list[UnitEdit]] = {}
    for e in edits:
        by_layer.setdefault(e.layer, []).append(e)
    features: dict[str, torch.Tensor] = {}

    def hook(key):
        def fn(_module, _inputs, out):
            for e in by_layer.get(key, ()):
                out = _apply(e, out)
            if key in wanted:
                features[key] = out.detach().float().clone()
            return out if key in by_layer else None
        return fn

    with contextlib.ExitStack() as stack:
        for k in set(wanted) | set(by_layer):
            h = modules[k].register_forward_hook(hook(k))
            stack.callback(h.remove)
        image = synthesize(ws)
    order = [k for k in modules if k in features]  # synthesis order, whatever order keys came in
    return Capture(image=image, features={k: features[k] for k in order})
