"""The playground's configuration: what data, which networks, how they train, what the views show.

Four typed dataclasses nested in one PlaygroundConfig. All of it is JSON (``to_dict`` /
``from_dict``), so a recipe carries the whole of it. ``validate()`` raises ValueError with a
sentence that names the field and what to do, so the UI can show it as it is.

Which fields may change while a Playground trains: every TrainConfig field (through
``Playground.configure``); data, model and view changes need ``Playground.reset(config)``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

LOSS_NAMES = ("bce", "wgan-gp", "hinge")        # keys of losses.LOSSES (checked there too)
G_LOSS_NAMES = ("nonsaturating", "minimax")     # BCE's two generator losses
ACTIVATIONS = ("leaky_relu", "relu", "tanh")    # keys of models.ACTIVATIONS


@dataclass
class DataConfig:
    name: str = "ring"               # a key of data.DISTRIBUTIONS, or "drawn" for `points`
    n_samples: int = 512             # size of the fixed real set drawn once from the seed (ignored for "drawn")
    points: list | None = None       # [[x, y], ...] in plane units when name == "drawn"; None otherwise


@dataclass
class ModelConfig:
    latent_dim: int = 2              # z size: 1 or 2, so G's image of the latent grid can be drawn
    g_width: int = 64                # hidden units per layer of G
    g_depth: int = 3                 # hidden layers of G
    d_width: int = 64                # hidden units per layer of D
    d_depth: int = 3                 # hidden layers of D
    activation: str = "leaky_relu"   # hidden activation of both: "leaky_relu" (slope 0.2) | "relu" | "tanh"
    d_dropout: float = 0.0           # dropout probability after each hidden layer of D while it trains; 0 = off


@dataclass
class TrainConfig:
    loss: str = "bce"                # "bce" (DCGAN) | "wgan-gp" (Gulrajani et al.) | "hinge" (Projected GAN)
    g_loss: str = "nonsaturating"    # bce only: "nonsaturating" -log D(G(z)) | "minimax" log(1 - D(G(z)))
    gp_lambda: float = 10.0          # wgan-gp only: weight of the gradient penalty
    r1_gamma: float = 0.0            # R1 penalty weight gamma on reals, added as gamma/2 * E||grad D||^2 (StyleGAN); 0 = off
    d_steps: int = 1                 # D steps per G step (WGAN-GP's n_critic)
    batch_size: int = 256            # real and fake points per step
    lr_g: float = 1e-3               # Adam learning rate of G
    lr_d: float = 1e-3               # Adam learning rate of D
    beta1: float = 0.5               # Adam beta1 of both
    beta2: float = 0.999             # Adam beta2 of both
    label_smoothing: float = 0.0     # bce only: real target = 1 - this (one-sided, Salimans et al. 2016)
    label_noise: float = 0.0         # bce only: targets move up to this far towards the other class, uniformly at random
    label_flip: float = 0.0          # bce only: probability that a point's real/fake target is swapped


@dataclass
class ViewConfig:
    heat_res: int = 64               # D's heat map is sampled at heat_res x heat_res cell centres over the plane
    n_eval: int = 512                # fixed latents whose fakes are shown, get arrows and enter the metrics
    mesh_res: int = 21               # latent grid lines per axis drawn as G's mesh (1-D latent: mesh_res*5 points)
    eval_every: int = 10             # divergence and mode coverage enter the history every this many G steps
    kde_bandwidth: float = 0.1       # Gaussian-KDE bandwidth of the divergence, in plane units
    div_res: int = 64                # the divergence compares densities on div_res x div_res cells over the plane


@dataclass
class PlaygroundConfig:
    data: DataConfig = field(default_factory=DataConfig)      # the real distribution
    model: ModelConfig = field(default_factory=ModelConfig)   # G's and D's shapes
    train: TrainConfig = field(default_factory=TrainConfig)   # loss, stabilisers, Adam
    view: ViewConfig = field(default_factory=ViewConfig)      # what snapshots compute

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "PlaygroundConfig":
        """Build from a (possibly partial) dict; unknown keys are an error, missing ones take defaults."""
        if not isinstance(d, dict):
            raise ValueError(f"A playground config is a JSON object, got {type(d).__name__}.")
        parts = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig, "view": ViewConfig}
        unknown = set(d) - set(parts)
        if unknown:
            raise ValueError(f"Unknown config section(s) {sorted(unknown)}; use {list(parts)}.")
        built = {}
        for name, klass in parts.items():
            built[name] = _build(klass, d.get(name) or {}, name)
        cfg = cls(**built)
        cfg.validate()
        return cfg

    def replace(self, **sections) -> "PlaygroundConfig":
        """A copy with whole sections replaced, e.g. cfg.replace(train=dataclasses.replace(cfg.train, lr_d=1e-4))."""
        cfg = dataclasses.replace(self, **sections)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        from .data import DISTRIBUTIONS, MAX_POINTS, MIN_POINTS
        d, m, t, v = self.data, self.model, self.train, self.view
        if d.name != "drawn" and d.name not in DISTRIBUTIONS:
            raise ValueError(f"Unknown distribution {d.name!r}; choose one of {', '.join(DISTRIBUTIONS)} or 'drawn'.")
        if d.name == "drawn":
            if not d.points:
                raise ValueError("The 'drawn' distribution needs points: draw some or upload a CSV first.")
        elif d.points is not None:
            raise ValueError("points are only used by the 'drawn' distribution; set data.name to 'drawn' or drop them.")
        _check_int("data.n_samples", d.n_samples, MIN_POINTS, MAX_POINTS)
        _check_int("model.latent_dim", m.latent_dim, 1, 2)
        for name in ("g_width", "d_width"):
            _check_int(f"model.{name}", getattr(m, name), 2, 512)
        for name in ("g_depth", "d_depth"):
            _check_int(f"model.{name}", getattr(m, name), 1, 8)
        if m.activation not in ACTIVATIONS:
            raise ValueError(f"Unknown activation {m.activation!r}; choose one of {', '.join(ACTIVATIONS)}.")
        _check_float("model.d_dropout", m.d_dropout, 0.0, 0.9)
        if t.loss not in LOSS_NAMES:
            raise ValueError(f"Unknown loss {t.loss!r}; choose one of {', '.join(LOSS_NAMES)}.")
        if t.g_loss not in G_LOSS_NAMES:
            raise ValueError(f"Unknown generator loss {t.g_loss!r}; choose one of {', '.join(G_LOSS_NAMES)}.")
        if t.loss != "bce":
            if t.g_loss != "nonsaturating":
                raise ValueError(f"The minimax generator loss belongs to BCE; set g_loss to 'nonsaturating' for {t.loss}.")
            for name in ("label_smoothing", "label_noise", "label_flip"):
                if getattr(t, name):
                    raise ValueError(f"{name} changes BCE's targets and {t.loss} has none; set it to 0 or choose loss 'bce'.")
        _check_float("train.gp_lambda", t.gp_lambda, 0.0, 1000.0)
        _check_float("train.r1_gamma", t.r1_gamma, 0.0, 1000.0)
        _check_int("train.d_steps", t.d_steps, 1, 20)
        _check_int("train.batch_size", t.batch_size, 8, 4096)
        for name in ("lr_g", "lr_d"):
            _check_float(f"train.{name}", getattr(t, name), 1e-7, 0.1)
        for name in ("beta1", "beta2"):
            _check_float(f"train.{name}", getattr(t, name), 0.0, 0.9999)
        for name in ("label_smoothing", "label_noise", "label_flip"):
            _check_float(f"train.{name}", getattr(t, name), 0.0, 0.49)
        _check_int("view.heat_res", v.heat_res, 8, 256)
        _check_int("view.n_eval", v.n_eval, 16, 8192)
        _check_int("view.mesh_res", v.mesh_res, 2, 101)
        _check_int("view.eval_every", v.eval_every, 1, 10_000)
        _check_float("view.kde_bandwidth", v.kde_bandwidth, 0.01, 1.0)
        _check_int("view.div_res", v.div_res, 8, 256)


def _build(klass, values: dict, section: str):
    if not isinstance(values, dict):
        raise ValueError(f"Config section {section!r} must be a JSON object, got {type(values).__name__}.")
    names = {f.name for f in dataclasses.fields(klass)}
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"Unknown field(s) {sorted(unknown)} in {section!r}; the fields are {sorted(names)}.")
    return klass(**values)


def _check_int(name: str, value, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{name} must be a whole number from {lo} to {hi}, got {value!r}.")


def _check_float(name: str, value, lo: float, hi: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= float(value) <= hi:
        raise ValueError(f"{name} must be a number from {lo:g} to {hi:g}, got {value!r}.")
