"""The generator contract: what the explorer reads from a generator, written down once.

Three protocols, from the least to the most a family promises:
- Generator: every family. z -> ws by mapping(), ws -> image by synthesis(); the Renderer, the
  EditRenderer, the metrics and the Trainer need nothing more.
- LayeredGenerator: families that declare capabilities.mixing (StyleGAN). The StyleRenderer re-runs
  only the layers after a moved control, so it needs to know which ws entry each layer reads and to
  run synthesis one layer at a time; the Trainer tracks w_avg; SeFa reads the style layers.
- ProgressiveGenerator: families that declare capabilities.progressive (ProGAN): synthesis() takes
  stage and alpha, and a checkpoint records the (stage, alpha) it was trained to (trained_growth).

Each member's docstring says who reads it; check_generator(G) quotes it when G lacks the member, so
a new family that would break the explorer fails its contract test with the method named.
"""

from __future__ import annotations

import inspect
from typing import Protocol, runtime_checkable

import torch

from .layers import Capabilities


@runtime_checkable
class Generator(Protocol):
    """Every family's generator (GUIDE section 3)."""

    @property
    def z_dim(self) -> int:
        """the Renderer, the EditRenderer, the metrics and the Trainer use it to draw z [N, z_dim] from a seed"""

    @property
    def w_dim(self) -> int:
        """the Edit and Interpolate tabs use it to size directions and paths in ws [N, num_ws, w_dim]"""

    @property
    def num_ws(self) -> int:
        """the Edit tab, the StyleRenderer and style mixing use it to address the entries of ws"""

    @property
    def img_resolution(self) -> int:
        """the metrics and the StyleRenderer use it to size the images they expect"""

    @property
    def img_channels(self) -> int:
        """the metrics and the StyleRenderer use it to tell grey from colour images"""

    @property
    def capabilities(self) -> Capabilities:
        """the UI and the Trainer read it to offer only the controls and training paths the model honours"""

    def mapping(self, z: torch.Tensor, *, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None) -> torch.Tensor:
        """every renderer uses it to turn z [N, z_dim] into ws [N, num_ws, w_dim], truncated by psi. A
        class-conditional generator (c_dim > 0: StyleGAN2/3) also takes the classes c as its second argument;
        callers that draw a chosen class go through models.classes.map_z, which passes c only to those"""

    def synthesis(self, ws: torch.Tensor, *, noise_mode: str = "const") -> torch.Tensor:
        """every renderer, the metrics and the Trainer use it to draw ws as an image [N, C, H, W] in [-1, 1]"""

    def feature_layers(self) -> list[tuple[str, torch.nn.Module]]:
        """the Inspect tab uses it to list the layers it shows and edits, in synthesis order: (key such as
        "b16.conv1", the module whose output is that layer's feature maps [N, C, h, w])"""


@runtime_checkable
class LayeredGenerator(Generator, Protocol):
    """A style-based generator: per-layer ws, per-layer noise, synthesis one layer at a time."""

    @property
    def cfg(self):
        """the StyleRenderer reads cfg.variant to title the model StyleGAN or StyleGAN2"""

    @property
    def num_layers(self) -> int:
        """the StyleRenderer uses it to run synthesis layer by layer and to give one noise slider per layer"""

    @property
    def w_avg(self) -> torch.Tensor:
        """the EditRenderer uses it to truncate interpolated w as mapping() would (shape [w_dim])"""

    @property
    def layer_w(self) -> list[int]:
        """the StyleRenderer and SeFa use it to know which ws entry each synthesis layer reads"""

    @property
    def rgb_after(self) -> list[int]:
        """the StyleRenderer uses it to know after which layer each toRGB runs"""

    @property
    def rgb_w(self) -> list[int | None]:
        """the StyleRenderer and SeFa use it to know which ws entry each toRGB reads (None: none)"""

    def ws_resolutions(self) -> list[int]:
        """the Style and Edit tabs use it to label each ws entry and build the coarse/middle/fine presets"""

    def noise_resolutions(self) -> list[int]:
        """the Style tab uses it to label each layer's noise slider"""

    def make_noise(self, n: int, noise_mode: str, generator: torch.Generator | None,
                   strength: list[float] | None = None) -> list[torch.Tensor | None]:
        """the StyleRenderer and the EditRenderer use it to draw the noise maps synthesis() would, once"""

    def update_w_avg(self, ws: torch.Tensor) -> None:
        """the Trainer uses it to track the moving average of w that truncation pulls towards"""

    def initial_state(self, n: int):
        """the StyleRenderer uses it to start incremental synthesis for n images"""

    def run_layer(self, i: int, state, ws: torch.Tensor, noise: torch.Tensor | None):
        """the StyleRenderer uses it to re-run only the layers after a moved control"""

    def finish(self, state, ws: torch.Tensor) -> torch.Tensor:
        """the StyleRenderer uses it to turn the last layer's state into the image"""


@runtime_checkable
class ProgressiveGenerator(Generator, Protocol):
    """A progressively grown generator: synthesis(ws, stage=s, alpha=a) at 4*2^s pixels."""

    @property
    def num_stages(self) -> int:
        """the Renderer, the metrics and the Trainer use it to bound stage (the last one is full resolution)"""

    def synthesis(self, ws: torch.Tensor, *, noise_mode: str = "const", stage: int | None = None,
                  alpha: float = 1.0) -> torch.Tensor:
        """the Renderer, the ProGAN tab and the Trainer use it to draw a stage, faded in by alpha (0 = old path)"""


_PROTOCOLS = (Generator, LayeredGenerator, ProgressiveGenerator)

# Keywords a call site passes, by what the model declares; check_generator asks the signatures for them.
_KEYWORDS = {  # (method, keyword): who passes it
    ("mapping", "truncation_psi"): "every renderer passes it",
    ("mapping", "truncation_cutoff"): "the StyleRenderer passes it",
    ("synthesis", "noise_mode"): "the Renderer passes it for every family",
}
_NOISE_KEYWORDS = {
    ("synthesis", "noise_generator"): "the Trainer passes it to draw random noise from its own RNG",
    ("forward", "noise_generator"): "the Trainer passes it to G(z) for models without a mapping network",
}
_PROGRESSIVE_KEYWORDS = {
    ("synthesis", "stage"): "the Renderer and the Trainer pass it",
    ("synthesis", "alpha"): "the Renderer and the Trainer pass it",
    ("forward", "stage"): "the Trainer passes it to G(z)",
    ("forward", "alpha"): "the Trainer passes it to G(z)",
}


def _members(proto: type) -> dict[str, tuple[str, bool]]:
    """name -> (its docstring: who reads it, whether it is a method), for every member a protocol
    declares, its base protocols' first."""
    out: dict[str, tuple[str, bool]] = {}
    for cls in reversed(proto.__mro__):
        if cls in _PROTOCOLS:
            for name, value in vars(cls).items():
                if not name.startswith("_") and (callable(value) or isinstance(value, property)):
                    out.setdefault(name, (inspect.getdoc(value) or "", not isinstance(value, property)))
    return out


def _takes(fn, keyword: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return keyword in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def check_generator(G) -> list[str]:
    """What G lacks or gets wrong of the contract its capabilities promise, one sentence per problem;
    [] when the explorer can use it everywhere. Reads attributes and signatures only (no forward pass)."""
    name = type(G).__name__
    problems: list[str] = []
    caps = getattr(G, "capabilities", None)
    protos = [Generator]
    if isinstance(caps, Capabilities):
        protos += [LayeredGenerator] if caps.mixing else []
        protos += [ProgressiveGenerator] if caps.progressive else []
    members: dict[str, tuple[str, bool]] = {}
    for proto in protos:
        for member, entry in _members(proto).items():
            members.setdefault(member, entry)
    for member, (use, is_method) in members.items():
        if not hasattr(G, member):
            problems.append(f"{name} lacks {member}{'()' if is_method else ''}: {use}")
        elif is_method and not callable(getattr(G, member)):
            problems.append(f"{name}.{member} is not callable: {use}")

    def attr(member):
        return getattr(G, member, None)

    # Values: sizes are positive ints, capabilities is what the UI reads.
    for member in ("z_dim", "w_dim", "num_ws", "img_resolution", "img_channels"):
        v = attr(member)
        if hasattr(G, member) and not (isinstance(v, int) and v > 0):
            problems.append(f"{name}.{member} is {v!r}; it must be a positive int")
    if hasattr(G, "capabilities") and not isinstance(caps, Capabilities):
        problems.append(f"{name}.capabilities is {caps!r}; it must be a models.layers.Capabilities")
        return problems
    if caps.mixing and isinstance(attr("num_ws"), int) and attr("num_ws") < 2:
        problems.append(f"{name} declares mixing with num_ws = {attr('num_ws')}; mixing needs num_ws > 1")

    # Keywords the call sites pass.
    keywords = dict(_KEYWORDS)
    keywords.update(_NOISE_KEYWORDS if caps.noise else {})
    keywords.update(_PROGRESSIVE_KEYWORDS if caps.progressive else {})
    for (method, keyword), who in keywords.items():
        fn = attr(method)
        if callable(fn) and not _takes(fn, keyword):
            problems.append(f"{name}.{method}() takes no {keyword}=: {who}")

    # Layered models: the per-layer tables agree with num_layers and num_ws.
    if caps.mixing and not any(p.startswith(f"{name} lacks") for p in problems):
        problems += _check_layers(G, name)
    if caps.progressive and hasattr(G, "num_stages"):
        if not (isinstance(G.num_stages, int) and G.num_stages > 0):
            problems.append(f"{name}.num_stages is {G.num_stages!r}; it must be a positive int")
    return problems


def _check_layers(G, name: str) -> list[str]:
    problems = []
    n, num_ws = G.num_layers, G.num_ws
    if len(G.layer_w) != n:
        problems.append(f"{name}.layer_w has {len(G.layer_w)} entries for {n} layers; the StyleRenderer "
                        "needs one per layer")
    if any(not 0 <= k < num_ws for k in G.layer_w):
        problems.append(f"{name}.layer_w {G.layer_w} reads ws entries outside 0..{num_ws - 1}")
    if len(G.rgb_after) != len(G.rgb_w):
        problems.append(f"{name}.rgb_after and rgb_w differ in length ({len(G.rgb_after)} vs {len(G.rgb_w)})")
    if any(k is not None and not 0 <= k < num_ws for k in G.rgb_w):
        problems.append(f"{name}.rgb_w {G.rgb_w} reads ws entries outside 0..{num_ws - 1}")
    if any(not 0 <= i < n for i in G.rgb_after):
        problems.append(f"{name}.rgb_after {G.rgb_after} names layers outside 0..{n - 1}")
    for method, want, of in (("ws_resolutions", num_ws, "ws entries"), ("noise_resolutions", n, "layers")):
        try:
            got = len(getattr(G, method)())
        except Exception as e:  # a broken model is reported, never raised
            problems.append(f"{name}.{method}() raised {type(e).__name__}: {e}")
            continue
        if got != want:
            problems.append(f"{name}.{method}() gives {got} values for {want} {of}")
    w_avg = G.w_avg
    if not (isinstance(w_avg, torch.Tensor) and tuple(w_avg.shape) == (G.w_dim,)):
        problems.append(f"{name}.w_avg must be a tensor [w_dim] = [{G.w_dim}]")
    return problems


def trained_growth(G: ProgressiveGenerator, meta: dict) -> tuple[int, float]:
    """(stage, alpha) a progressive checkpoint was trained to; the last stage if it does not say."""
    train = meta.get("train", {})
    stage = int(train.get("stage", G.num_stages - 1))
    return min(max(stage, 0), G.num_stages - 1), float(train.get("alpha", 1.0))
