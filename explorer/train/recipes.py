"""Training recipes (architecture + loss + optimiser + schedule, by name) and the resolved TrainConfig.
(An image recipe, which reproduces one rendered picture, is another thing: explorer/edit/image_recipe.py.)

A run's config.json is a TrainConfig: every value that shaped the run, after the recipe's
defaults and the user's overrides were merged, so a run can be read and resumed alone."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ..models import ARCHITECTURES, make_config
from .augment import parse_policy
from .losses import LOSSES


@dataclass
class TrainConfig:
    recipe: str = "dcgan"            # name in TRAINING_RECIPES whose values fill every field not given
    arch: str = "dcgan"              # name in models.ARCHITECTURES
    model: dict = field(default_factory=dict)  # architecture config (res and channels included)
    data: str = "mnist"              # "mnist" | "faces" | "emoji" | a folder or .zip of images
    res: int = 32                    # image resolution in pixels
    channels: int | None = None      # 1 or 3; None = the dataset's own (1 for mnist, 3 otherwise)
    data_size: int | None = None     # use at most this many images (faces: how many to render)
    conditional: bool = False        # one class per label: G and D get each image's class (MNIST digits, emoji categories, a folder's sub-folders); StyleGAN recipes only
    kimg: float = 20.0               # training length, in thousands of real images shown to D
    batch: int = 64                  # global batch, split evenly across DDP processes
    seed: int = 0                    # one seed makes the whole run reproducible
    loss: str = "bce"                # "bce" (non-saturating) | "wgan-gp" | "hinge" (projected GAN)
    lr_g: float = 2e-4               # Adam learning rate of G
    lr_d: float = 2e-4               # Adam learning rate of D (a separate rate is a stabiliser)
    beta1: float = 0.5               # Adam beta1
    beta2: float = 0.999             # Adam beta2
    n_critic: int = 1                # D steps per G step
    gp_lambda: float = 0.0           # gradient-penalty weight (WGAN-GP: 10)
    label_smoothing: float = 0.0     # real target = 1 - this (one-sided, Salimans et al. 2016); bce only
    label_noise: float = 0.0         # std of Gaussian noise added to D's targets; bce only
    label_flip: float = 0.0          # probability of swapping a sample's real/fake target; bce only
    ema_kimg: float | None = None    # half-life of G_ema in kimg; None = no EMA, snapshots hold G
    drift: float = 0.0               # weight of E[D(x)^2], keeps critic scores near 0 (ProGAN: 0.001)
    fade_kimg: float = 0.0           # progressive models: kimg over which a new stage's alpha rises 0 -> 1
    stable_kimg: float = 0.0         # progressive models: kimg each stage trains at alpha 1
    stage_batch: dict | None = None  # progressive models: {"resolution": global batch}, e.g. {"64": 16}
    reset_adam_at_growth: bool = False  # progressive models: clear G's and D's Adam moments when a fade-in starts or ends (the reference code's reset_opt_for_new_lod; no clear gain here, bench/progan_adam_reset.py)
    ema_rampup: float | None = None  # G_ema half-life capped at this fraction of the kimg so far (None = off)
    r1_gamma: float = 0.0            # R1 penalty weight on real images (Mescheder et al. 2018); 0 = off
    r1_interval: int = 16            # lazy R1: every this many D steps, scaled up to match (StyleGAN2)
    style_mixing: float = 0.0        # style-based models: probability of mixing two z at a random layer
    pl_weight: float = 0.0           # path-length regularisation weight (StyleGAN2); 0 = off
    pl_interval: int = 4             # lazy path-length regularisation: every this many G steps
    augment: str = ""                # DiffAugment policy for everything D sees, e.g. "color,translation,cutout=0.2" (name=ratio of the side); "" = off
    augment_shared: bool = False     # the real and the fake batch of a D step get the same augmentation draws
    tick_kimg: float = 1.0           # one log record (and progress line) per this many kimg
    sample_ticks: int = 2            # fixed-z sample grid every this many ticks
    snapshot_ticks: int = 5          # snapshot + resume state every this many ticks
    num_samples: int = 64            # images in each sample grid

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {tuple(LOSSES)}, got {self.loss!r}")
        if self.kimg <= 0 or self.batch <= 0 or self.tick_kimg <= 0:
            raise ValueError("kimg, batch and tick_kimg must be positive")
        if self.n_critic < 1:
            raise ValueError("n_critic must be at least 1")
        for name in ("label_smoothing", "label_flip"):
            if not 0.0 <= getattr(self, name) < 0.5:
                raise ValueError(f"{name} must be in [0, 0.5), got {getattr(self, name)}")
        if not LOSSES[self.loss].soft_targets and (self.label_smoothing or self.label_noise or self.label_flip):
            raise ValueError(f"label smoothing/noise/flips apply to the bce loss only, not to {self.loss}")
        if self.sample_ticks < 1 or self.snapshot_ticks < 1:
            raise ValueError("sample_ticks and snapshot_ticks must be at least 1")
        if self.r1_interval < 1 or self.pl_interval < 1:
            raise ValueError("r1_interval and pl_interval must be at least 1")
        if not 0.0 <= self.style_mixing <= 1.0:
            raise ValueError(f"style_mixing is a probability in [0, 1], got {self.style_mixing}")
        if self.fade_kimg < 0 or self.stable_kimg < 0 or self.drift < 0:
            raise ValueError("fade_kimg, stable_kimg and drift must be >= 0")
        for k, v in (self.stage_batch or {}).items():
            if not str(k).isdigit() or int(v) <= 0:
                raise ValueError(f"stage_batch maps a resolution to a positive batch, got {k!r}: {v!r}")
        if self.conditional and self.arch not in CONDITIONAL_ARCHS:
            raise ValueError(conditional_problem(self.recipe, self.arch))
        if not self.conditional and (self.model.get("c_dim") or self.model.get("class_names")):
            raise ValueError("c_dim and class_names come from the data's classes: turn on the conditional option "
                             "(--conditional) instead of setting them.")
        parse_policy(self.augment)
        make_config(self.arch, self.model)  # fails early, with the field's own message

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"config has unknown fields {unknown}")
        return cls(**d)


TRAINING_RECIPES: dict[str, dict] = {
    # Radford et al. 2016: Adam(2e-4, beta1 0.5), batch norm in both nets, BCE.
    "dcgan": dict(arch="dcgan", loss="bce", lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, n_critic=1,
                  gp_lambda=0.0, batch=64, model={"d_norm": "batch"}),
    # Gulrajani et al. 2017, Alg. 1: lambda 10, n_critic 5, Adam(1e-4, 0, 0.9), no batch norm in the critic.
    "wgan-gp": dict(arch="dcgan", loss="wgan-gp", lr_g=1e-4, lr_d=1e-4, beta1=0.0, beta2=0.9, n_critic=5,
                    gp_lambda=10.0, batch=64, model={"d_norm": "none"}),
    # Karras et al. 2018, App. A.1: WGAN-GP (lambda 10) with drift 0.001, Adam(1e-3, 0, 0.99), G_ema.
    # The paper fades/stabilises over 600/600 kimg at 1024^2 with a 10 kimg G_ema half-life (1/60 of
    # a phase); these defaults suit short CPU runs (32x32 fully faded in at 90 kimg) and keep the
    # half-life short against a phase: a 10 kimg average over 15 kimg phases blends weights from
    # different stages and washes the colours out (measured). Raise all three for quality.
    "progan": dict(arch="progan", loss="wgan-gp", lr_g=1e-3, lr_d=1e-3, beta1=0.0, beta2=0.99, n_critic=1,
                   gp_lambda=10.0, drift=0.001, batch=32, ema_kimg=0.5, fade_kimg=15.0, stable_kimg=15.0,
                   model={}),
    # Karras et al. 2019/2020 as in the StyleGAN2-ADA code: logistic (non-saturating) loss, lazy R1
    # every 16 D steps (added to that step's loss, so Adam keeps the lr and betas written here), style mixing with p = 0.9, Adam(2e-3, 0, 0.99), G_ema with a 10 kimg half-life
    # ramped up over the first kimg (rampup 0.05). gamma follows that code's heuristic
    # 0.0002 * res^2 / batch (0.026 at 64x64, batch 32), rounded up for short runs.
    "stylegan": dict(arch="stylegan", loss="bce", lr_g=2e-3, lr_d=2e-3, beta1=0.0, beta2=0.99, n_critic=1,
                     batch=32, ema_kimg=10.0, ema_rampup=0.05, r1_gamma=0.05, r1_interval=16, style_mixing=0.9,
                     model={"variant": "adain"}),
    # StyleGAN2: modulated convolutions, skip toRGBs, and the path-length regulariser (weight 2, every 4).
    "stylegan2": dict(arch="stylegan", loss="bce", lr_g=2e-3, lr_d=2e-3, beta1=0.0, beta2=0.99, n_critic=1,
                      batch=32, ema_kimg=10.0, ema_rampup=0.05, r1_gamma=0.05, r1_interval=16, style_mixing=0.9,
                      pl_weight=2.0, pl_interval=4, model={"variant": "modulated", "upsample": "fir"}),
    # Sauer et al. 2021 (the paper's code): FastGAN's generator, the projected discriminator on a frozen
    # EfficientNet-Lite1, hinge loss, DiffAugment (colour, translation 1/8, cutout of 0.2 of the side: the
    # paper's pg_modules/diffaug.py, where DiffAugment's own default is 0.5) on real and fake, no R1;
    # Adam(2e-4, 0, 0.99) and a G_ema half-life of batch * 10 / 32 kimg, ramped up for short runs.
    "projected": dict(arch="fastgan", loss="hinge", lr_g=2e-4, lr_d=2e-4, beta1=0.0, beta2=0.99, n_critic=1,
                      batch=32, ema_kimg=10.0, ema_rampup=0.05, augment="color,translation,cutout=0.2", model={}),
    # The paper's StyleGAN2 backbone: the same discriminator and loss, StyleGAN2's generator (with the same
    # FIR upsampling as the stylegan2 recipe) and a 2-layer mapping network, Adam(2e-3, 0, 0.99), no R1, no path-length regulariser, no style mixing.
    "projected-stylegan2": dict(arch="stylegan-projected", loss="hinge", lr_g=2e-3, lr_d=2e-3, beta1=0.0,
                                beta2=0.99, n_critic=1, batch=32, ema_kimg=10.0, ema_rampup=0.05,
                                augment="color,translation,cutout=0.2",
                                model={"variant": "modulated", "mapping_layers": 2, "upsample": "fir"}),
}


# Architectures a conditional run can train: G's mapping takes (z, c) and D is StyleGAN2's, which projects its
# features on the class (StyleGAN2-ADA). The projected D has no class input, nor do DCGAN's and ProGAN's nets.
CONDITIONAL_ARCHS = ("stylegan", "stylegan3")


def conditional_recipes() -> list[str]:
    return [name for name, spec in TRAINING_RECIPES.items() if spec["arch"] in CONDITIONAL_ARCHS]


def conditional_problem(recipe: str, arch: str | None = None) -> str | None:
    """None when `recipe` (its arch, or the one given) can train a conditional model, else the sentence why not."""
    arch = arch or TRAINING_RECIPES.get(recipe, {}).get("arch")
    if arch in CONDITIONAL_ARCHS:
        return None
    title = ARCHITECTURES[arch].title if arch in ARCHITECTURES else arch
    return (f"The {recipe} recipe cannot train a conditional model: {title}'s discriminator takes no classes. "
            f"Choose {' or '.join(conditional_recipes())} for one class per label, or turn the conditional option off.")


def with_classes(cfg: TrainConfig, class_names) -> TrainConfig:
    """A conditional cfg with its model's c_dim and class_names set from the data's classes (what a snapshot's
    config records, so the explorer shows the names); unchanged when it is not conditional. ValueError when the
    model already names other classes (a resumed run whose data changed)."""
    if not cfg.conditional:
        return cfg
    names = [str(n) for n in class_names]
    had = cfg.model.get("class_names")
    if cfg.model.get("c_dim") and (cfg.model["c_dim"] != len(names) or (had is not None and list(had) != names)):
        raise ValueError(f"The model config is for the classes {had or cfg.model['c_dim']}, but the data has "
                         f"{len(names)}: {names}. c_dim and class_names come from the data: leave them out of a new "
                         "run, and resume a run on the data it was trained on.")
    return dataclasses.replace(cfg, model={**cfg.model, "c_dim": len(names), "class_names": names})


def make_train_config(recipe: str, *, res: int, channels: int, model: dict | None = None, **overrides) -> TrainConfig:
    """The recipe's values, then overrides; `model` entries override the recipe's architecture fields."""
    if recipe not in TRAINING_RECIPES:
        raise ValueError(f"Unknown recipe {recipe!r}; choose one of {', '.join(TRAINING_RECIPES)}")
    base = dict(TRAINING_RECIPES[recipe])
    arch_cfg = {**base.pop("model", {}), **(model or {}), "res": res, "channels": channels}
    return TrainConfig(recipe=recipe, model=arch_cfg, res=res, channels=channels, **{**base, **overrides})
