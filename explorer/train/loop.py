"""The Trainer: alternating D and G phases, ticks, EMA, samples, snapshots, exact resume.

No UI and no globals: it talks to the world through Hooks and the RunDir. Under torchrun
every process runs the same Trainer; gradients are averaged with all_reduce (not the DDP
wrapper, which does not support the gradient penalty's double backward), buffers and the
stop decision are shared, and rank 0 alone writes the run directory."""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Callable

import torch
import torch.distributed as dist
from torch import nn

from .. import images
from ..models import build_discriminator, build_generator
from ..models.progan import reals_at_stage, stage_resolution
from ..weights import save_generator
from . import losses
from .augment import diff_augment, parse_policy
from .datasets import EpochSampler, ImageDataset
from .distributed import DistInfo, any_rank, average_grads, broadcast_module
from .recipes import TrainConfig, with_classes
from .run import RunDir
from .schedules import ema_beta, progressive_growth


def _noop(*_args, **_kwargs):
    return None


@dataclass
class Hooks:
    should_stop: Callable[[], bool] = lambda: False   # polled after every step
    on_step: Callable[[dict], None] = _noop            # progress: {"kimg", "loss_D", "loss_G", ...}
    on_tick: Callable[[dict], None] = _noop            # the record just written to log.jsonl
    on_sample: Callable[[str, float], None] = _noop    # (png path, kimg)
    on_snapshot: Callable[[str, float], None] = _noop  # (json path, kimg)


class TrainingDiverged(RuntimeError):
    """A loss or a weight stopped being finite. Raised at once, before anything more is written, so the
    last snapshot and resume state are the last good ones."""

    def __init__(self, step: int, kimg: float, what: str):
        self.step, self.kimg, self.what = step, kimg, what
        super().__init__(f"Training diverged at step {step} ({kimg:.3f} kimg): {what}.")


def fixed_latents(n: int, z_dim: int, seed: int) -> torch.Tensor:
    """The sample grid's z, the same for the whole run (and across resumes)."""
    return torch.randn(n, z_dim, generator=torch.Generator().manual_seed(seed + 123_456_789))


class Trainer:
    def __init__(self, cfg: TrainConfig, dataset: ImageDataset, *, device: torch.device | str = "cpu",
                 run: RunDir | None = None, hooks: Hooks | None = None, dist_info: DistInfo | None = None,
                 sample_sec: float | None = None):
        self.cfg, self.dataset, self.run = cfg, dataset, run
        # Live preview: samples/latest.png at least this often (seconds), between the tick-based grids;
        # None = only at ticks. Not part of the config: it changes what a watcher sees, never the training.
        self.sample_sec = sample_sec
        self.device = torch.device(device)
        self.hooks = hooks or Hooks()
        self.dist = dist_info or DistInfo()
        for b in [cfg.batch, *(cfg.stage_batch or {}).values()]:
            if int(b) % self.dist.world_size:
                raise ValueError(f"batch {b} must be divisible by the number of processes {self.dist.world_size}")
        self.batch_per_rank = cfg.batch // self.dist.world_size
        if (dataset.channels, dataset.resolution) != (cfg.model["channels"], cfg.model["res"]):
            raise ValueError(f"dataset is {dataset.channels}x{dataset.resolution}^2 but the model expects "
                             f"{cfg.model['channels']}x{cfg.model['res']}^2")
        # Conditional: G and D are built for the data's classes (c_dim, class_names in the model config), and
        # every real image brings its class. None = unconditional (no class is drawn, no stream changes).
        self.classes = None  # int64 [N] each real image's class
        if cfg.conditional:
            if dataset.classes is None:
                raise ValueError(f"{dataset.name} has no classes, so it cannot train a conditional model; "
                                 "use mnist, emoji or a folder with one sub-folder per class.")
            self.cfg = cfg = with_classes(cfg, dataset.class_names)
            self.classes = dataset.classes

        # Networks: the same init on every rank (seeded), then broadcast to be certain.
        torch.manual_seed(cfg.seed)
        self.G = build_generator(cfg.arch, cfg.model).to(self.device).train()
        self.D = build_discriminator(cfg.arch, cfg.model).to(self.device).train()
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False) if cfg.ema_kimg else None
        self.progressive = self.G.capabilities.progressive
        self.styled = self.G.capabilities.mixing  # mapping + synthesis with noise inputs
        self.augment = parse_policy(cfg.augment)  # DiffAugment on everything D sees (Zhao et al. 2020)
        self.opt_G = self._adam(self.G, cfg.lr_g)
        self.opt_D = self._adam(self.D, cfg.lr_d)
        broadcast_module(self.G, self.dist, params=True)
        broadcast_module(self.D, self.dist, params=True)

        # Randomness: one explicit generator per rank for latents, labels and GP interpolates;
        # torch's global RNG only for dropout. Both are part of the resume state.
        self.gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + self.dist.rank)
        self.noise_gen = torch.Generator(device=self.device).manual_seed(cfg.seed * 1_000_033 + self.dist.rank)
        torch.manual_seed(cfg.seed * 7_919 + self.dist.rank)
        self.sampler = EpochSampler(len(dataset), self.batch_per_rank, cfg.seed, self.dist.rank, self.dist.world_size)
        self.fixed_z = fixed_latents(cfg.num_samples, self.G.z_dim, cfg.seed)

        self.cur_nimg = 0        # real images shown to D, all ranks together
        self.step = 0            # G steps taken
        self.tick = 0            # ticks completed
        self.total_sec = 0.0     # training wall time across resumes
        self.pl_mean = 0.0       # moving average of path lengths (StyleGAN2 regulariser)
        self._d_steps = 0        # D steps taken (lazy R1 counts these)
        self._phase = None       # progressive models: (stage, fading) of the last step
        self._tick_sums: dict[str, float] = {}
        self._tick_steps = 0

    def _adam(self, m: nn.Module, lr: float) -> torch.optim.Adam:
        """Adam at the recipe's own lr and betas. Lazy R1 and path length (every r1_interval D steps,
        pl_interval G steps, scaled up by the interval) are added to the main loss on those steps rather
        than taken as a step of their own, so the number of optimiser steps is unchanged and StyleGAN2-ADA's
        k / (k + 1) correction of lr and betas, which compensates for its separate regulariser steps,
        does not apply here."""
        return torch.optim.Adam(m.parameters(), lr=lr, betas=(self.cfg.beta1, self.cfg.beta2))

    # ------------------------------------------------------------------ one step
    def growth(self) -> tuple[int | None, float]:
        """(stage, alpha) of a progressive model at the current kimg; (None, 1.0) otherwise."""
        if not self.progressive:
            return None, 1.0
        return progressive_growth(self.kimg, self.G.num_stages, self.cfg.fade_kimg, self.cfg.stable_kimg)

    def global_batch(self, stage: int | None) -> int:
        if stage is None or not self.cfg.stage_batch:
            return self.cfg.batch
        return int(self.cfg.stage_batch.get(str(stage_resolution(stage)), self.cfg.batch))

    def _latents(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.G.z_dim, generator=self.gen).to(self.device)

    def _fake_classes(self, n: int) -> torch.Tensor | None:
        """Classes [n] for n fakes, drawn from the data's own label distribution (the class of a random real
        image, as StyleGAN2-ADA samples c); None for an unconditional run, which draws nothing here."""
        if self.classes is None:
            return None
        return self.classes[torch.randint(len(self.classes), (n,), generator=self.gen)].to(self.device)

    def _mapping(self, z: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        return self.G.mapping(z) if c is None else self.G.mapping(z, c)  # [n, num_ws, w_dim]

    def _D(self, img: torch.Tensor, c: torch.Tensor | None, grow: dict) -> torch.Tensor:
        """D's logits; a conditional D also reads each image's class c [n]."""
        return self.D(img, **grow) if c is None else self.D(img, c, **grow)

    def _fakes(self, n: int, grow: dict, track_w_avg: bool = False,
               c: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(G(z, c) [n, C, r, r], ws or None). Style-based models get style mixing (two z crossing
        over at a random layer, Karras et al. 2019, Sec. 3.1; both mapped with the same class c) and
        random noise from noise_gen."""
        G, cfg = self.G, self.cfg
        if not self.styled:
            assert c is None, "only style-based models are conditional"
            noise = {"noise_mode": "random", "noise_generator": self.noise_gen} if G.capabilities.noise else {}
            return G(self._latents(n), **grow, **noise), None
        ws = self._mapping(self._latents(n), c)  # [n, num_ws, w_dim]
        if track_w_avg:
            G.update_w_avg(ws)
        if cfg.style_mixing > 0:
            z2 = self._latents(n)  # drawn every time, so the random streams don't depend on the coin
            u, cut = torch.rand(2, generator=self.gen).tolist()
            if u < cfg.style_mixing:
                cutoff = 1 + int(cut * (G.num_ws - 1))  # in [1, num_ws - 1]
                ws = torch.cat([ws[:, :cutoff], self._mapping(z2, c)[:, cutoff:]], dim=1)
        return G.synthesis(ws, noise_mode="random", noise_generator=self.noise_gen), ws

    def _augment(self, imgs: torch.Tensor) -> torch.Tensor:
        return diff_augment(imgs, self.augment, self.gen) if self.augment else imgs

    def _augment_pair(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Augmented (real, fake); with augment_shared both get the same draws (one generator state)."""
        state = self.gen.get_state()
        real = self._augment(real)
        if self.cfg.augment_shared:
            self.gen.set_state(state)
        return real, self._augment(fake)

    def _soft_targets(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Real and fake targets [n] for a loss with soft_targets: the recipe's smoothing, noise and flips."""
        cfg = self.cfg
        real = torch.full((n,), 1.0 - cfg.label_smoothing)
        fake = torch.zeros(n)
        if cfg.label_noise > 0:
            real = real + cfg.label_noise * torch.randn(n, generator=self.gen)
            fake = fake + cfg.label_noise * torch.randn(n, generator=self.gen)
        if cfg.label_flip > 0:
            flip = torch.rand(n, generator=self.gen) < cfg.label_flip
            real, fake = torch.where(flip, fake, real), torch.where(flip, real, fake)
        return real.clamp(0, 1).to(self.device), fake.clamp(0, 1).to(self.device)

    def train_step(self) -> dict:
        """n_critic D steps then one G step, then G_ema; returns this step's scalars."""
        cfg, G, D = self.cfg, self.G, self.D
        stage, alpha = self._step_growth()  # fixed for the whole step
        grow = {"stage": stage, "alpha": alpha} if self.progressive else {}
        batch = self.global_batch(stage)
        n = batch // self.dist.world_size
        out: dict[str, float] = {}

        # Phase D: push D(real) up and D(G(z)) down, plus the penalties the config weights.
        G.requires_grad_(False)
        D.requires_grad_(True)
        for _ in range(cfg.n_critic):
            loss_D, real_logits, fake_logits = self._d_step(n, stage, alpha, grow, out)
            self.cur_nimg += batch
        out["loss_D"] = loss_D.item()
        out["D_real"] = real_logits.mean().item()
        out["D_fake"] = fake_logits.mean().item()

        # Phase G: make D score G(z) as real.
        G.requires_grad_(True)
        D.requires_grad_(False)
        out["loss_G"] = self._g_step(n, grow, out).item()

        # Keep batch-norm statistics identical on every rank, then update G_ema.
        broadcast_module(G, self.dist, params=False)
        broadcast_module(D, self.dist, params=False)
        self._update_ema(batch)
        self.step += 1
        return out

    def _step_growth(self) -> tuple[int | None, float]:
        """(stage, alpha) for this step. A fade-in starting or ending (ProGAN's lod leaving or reaching a
        whole number) clears both optimisers' moments, as the reference's reset_opt_for_new_lod, when the
        recipe asks for it."""
        stage, alpha = self.growth()
        if self.progressive:
            phase = (stage, alpha < 1.0)
            if self.cfg.reset_adam_at_growth and self._phase is not None and phase != self._phase:
                self.opt_G.state.clear()
                self.opt_D.state.clear()
            self._phase = phase
        return stage, alpha

    def _d_step(self, n: int, stage: int | None, alpha: float, grow: dict, out: dict):
        """One optimiser step of D on n reals and n fakes; (loss_D, real_logits, fake_logits)."""
        cfg, loss = self.cfg, losses.LOSSES[self.cfg.loss]
        idx = self.sampler.next(n)  # this rank's share of the global batch, images and classes alike
        real = self.dataset.batch(idx, self.device)  # [n, C, H, W]
        c_real = None if self.classes is None else self.classes[idx].to(self.device)  # [n] or None
        if self.progressive:
            real = reals_at_stage(real, stage, alpha)  # [n, C, r, r]
        do_r1 = cfg.r1_gamma > 0 and self._d_steps % cfg.r1_interval == 0
        real.requires_grad_(do_r1)
        c_fake = self._fake_classes(n)
        fake, _ = self._fakes(n, grow, c=c_fake)
        real_aug, fake_aug = self._augment_pair(real, fake)
        # Logits are [n], or [n, L] for the projected D (every level's logit map): the losses average all.
        real_logits, fake_logits = self._D(real_aug, c_real, grow), self._D(fake_aug, c_fake, grow)
        if loss.soft_targets:
            loss_D = loss.d_loss(real_logits, fake_logits, *self._soft_targets(n))
        else:
            loss_D = loss.d_loss(real_logits, fake_logits)
        if loss.critic:
            out["wdist"] = (real_logits.mean() - fake_logits.mean()).item()
        loss_D = self._d_penalties(loss_D, real, fake, real_logits, c_real, grow, do_r1, out)
        self._d_steps += 1
        self.opt_D.zero_grad(set_to_none=True)
        loss_D.backward()
        average_grads(self.D, self.dist)
        self.opt_D.step()
        return loss_D, real_logits, fake_logits

    def _d_penalties(self, loss_D: torch.Tensor, real: torch.Tensor, fake: torch.Tensor, real_logits: torch.Tensor,
                     c_real: torch.Tensor | None, grow: dict, do_r1: bool, out: dict) -> torch.Tensor:
        """loss_D plus, in this order, each penalty whose weight is positive: the gradient penalty (WGAN-GP),
        drift (ProGAN) and, on this step if do_r1, lazy R1 scaled up by its interval (StyleGAN2). R1 is the
        gradient of D(x, c) at the reals with their own classes (real_logits came from them)."""
        cfg = self.cfg
        if cfg.gp_lambda > 0:
            eps = torch.rand(real.shape[0], generator=self.gen).to(self.device)
            gp = losses.gradient_penalty(lambda x: self._D(x, c_real, grow), real, fake, eps)
            loss_D = loss_D + cfg.gp_lambda * gp
            out["gp"] = gp.item()
        if cfg.drift > 0:
            loss_D = loss_D + cfg.drift * losses.drift_penalty(real_logits)
        if do_r1:
            r1 = losses.r1_penalty(real_logits, real)
            loss_D = loss_D + r1 * (cfg.r1_gamma / 2) * cfg.r1_interval
            out["r1"] = r1.item()
        return loss_D

    def _g_step(self, n: int, grow: dict, out: dict) -> torch.Tensor:
        """One optimiser step of G on n fakes, plus lazy path-length regularisation; returns loss_G."""
        cfg = self.cfg
        c = self._fake_classes(n)
        fake, _ = self._fakes(n, grow, track_w_avg=True, c=c)
        loss_G = losses.LOSSES[cfg.loss].g_loss(self._D(self._augment(fake), c, grow))
        if cfg.pl_weight > 0 and self.step % cfg.pl_interval == 0:
            loss_G = loss_G + self._path_length_term(max(1, n // 2), out) * cfg.pl_interval
        self.opt_G.zero_grad(set_to_none=True)
        loss_G.backward()
        average_grads(self.G, self.dist)
        self.opt_G.step()
        return loss_G

    def _update_ema(self, batch: int) -> None:
        """G_ema <- lerp(G_ema, G, 1 - beta), beta from the half-life (ramped up when ema_rampup is set)."""
        cfg = self.cfg
        if self.G_ema is None:
            return
        half_life = cfg.ema_kimg if cfg.ema_rampup is None else min(cfg.ema_kimg, self.kimg * cfg.ema_rampup)
        beta = ema_beta(batch, half_life)
        with torch.no_grad():
            for p_ema, p in zip(self.G_ema.parameters(), self.G.parameters()):
                p_ema.lerp_(p, 1.0 - beta)
            for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers()):
                b_ema.copy_(b)

    def _path_length_term(self, n: int, out: dict) -> torch.Tensor:
        """pl_weight * (|J_w^T y| - a)^2, a the running mean of lengths (Karras et al. 2020, Eq. 4),
        on a half batch as in the official code."""
        img, ws = self._fakes(n, {}, c=self._fake_classes(n))
        y = torch.randn(img.shape, generator=self.gen).to(self.device) / math.sqrt(img.shape[2] * img.shape[3])
        lengths = losses.path_lengths(img, ws, y)  # [n]
        mean = lengths.detach().mean()
        if self.dist.enabled:
            dist.all_reduce(mean)
            mean /= self.dist.world_size
        self.pl_mean += 0.01 * (mean.item() - self.pl_mean)  # decay 0.01
        out["pl"] = mean.item()
        return (lengths - self.pl_mean).square().mean() * self.cfg.pl_weight

    # ------------------------------------------------------------------ outputs
    @property
    def kimg(self) -> float:
        return self.cur_nimg / 1000.0

    def _growth_record(self) -> dict:
        stage, alpha = self.growth()
        if stage is None:
            return {"stage": None, "alpha": None}
        return {"stage": stage, "alpha": round(alpha, 6), "stage_res": stage_resolution(stage)}

    def generator_for_export(self) -> nn.Module:
        return self.G_ema if self.G_ema is not None else self.G

    @torch.no_grad()
    def sample_grid(self):
        """uint8 grid of the fixed latents through the exported generator (eval mode), at the
        current stage and alpha, enlarged (nearest) to the final resolution. A conditional run draws
        sample i as class i % c_dim, one class per column when the classes fit in a row."""
        G = self.generator_for_export()
        stage, alpha = self.growth()
        grow = {"stage": stage, "alpha": alpha} if self.progressive else {}
        was_training = G.training
        G.eval()
        if self.classes is None:
            imgs = torch.cat([G(z.to(self.device), **grow) for z in self.fixed_z.split(16)])
            cols = None
        else:
            c_dim = self.cfg.model["c_dim"]
            c = torch.arange(len(self.fixed_z)) % c_dim
            imgs = torch.cat([G.synthesis(G.mapping(z.to(self.device), k.to(self.device)), noise_mode="const")
                              for z, k in zip(self.fixed_z.split(16), c.split(16))])
            cols = c_dim if c_dim <= min(16, len(self.fixed_z)) else None
        G.train(was_training)
        if imgs.shape[-1] != self.cfg.res:
            imgs = torch.nn.functional.interpolate(imgs, size=(self.cfg.res, self.cfg.res), mode="nearest")
        return images.make_grid(images.to_uint8(imgs), cols=cols)

    def _write_sample(self, live_only: bool = False) -> None:
        """The fixed-z grid to samples/fakesNNNNNN.png (unless live_only) and samples/latest.png."""
        grid = self.sample_grid()
        recipe = {"kind": "training-samples", "kimg": self.kimg, "seed": self.cfg.seed}
        images.save_png(self.run.live_sample_path, grid, recipe)
        self._live_sample_time = time.time()
        if live_only:
            return
        path = self.run.sample_path(self.kimg)
        images.save_png(path, grid, recipe)
        self.hooks.on_sample(str(path), self.kimg)

    def _check_finite(self) -> None:
        """TrainingDiverged if a weight or buffer is inf or nan: such a state must never be saved."""
        for name, net in (("G", self.G), ("D", self.D), ("G_ema", self.G_ema)):
            tensors = [t for t in (*net.parameters(), *net.buffers()) if t.is_floating_point()] if net else []
            if tensors and not torch.stack([torch.isfinite(t).all() for t in tensors]).all().item():
                raise TrainingDiverged(self.step, self.kimg, f"{name}'s weights are not finite")

    def ensure_snapshot(self) -> None:
        """Write the snapshot of the current kimg if it is missing: the resume state is saved first, so a
        kill or a full disk between the two leaves a resume point without its snapshot."""
        if self.run is not None and self.dist.rank == 0 and self.cur_nimg > 0 \
                and not self.run.snapshot_stem(self.kimg).with_suffix(".json").is_file():
            self._write_snapshot()

    def _write_snapshot(self) -> None:
        train = {"recipe": self.cfg.recipe, "data": self.cfg.data, "kimg": round(self.kimg, 3),
                 "step": self.step, "seed": self.cfg.seed, "dataset_licence": self.dataset.licence,
                 "total_sec": round(self.total_sec, 1)}
        train.update(getattr(self.D, "backbone_info", {}))  # projected D: which frozen F, and its licence
        if self.progressive:
            stage, alpha = self.growth()
            train.update(stage=stage, alpha=round(alpha, 6), stage_res=stage_resolution(stage))
        path = save_generator(self.run.snapshot_stem(self.kimg), self.generator_for_export(),
                              self.cfg.arch, self.cfg.model, train)
        self.hooks.on_snapshot(str(path), self.kimg)

    # ------------------------------------------------------------------ resume state
    def state_dict(self) -> dict:
        """Everything that decides the next step. RNG states come from every rank."""
        rng = {"gen": self.gen.get_state(), "torch": torch.get_rng_state(), "noise": self.noise_gen.get_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        rngs = [rng]
        if self.dist.enabled:
            rngs = [None] * self.dist.world_size
            dist.all_gather_object(rngs, rng)
        return {
            "format": 1,
            "config": self.cfg.to_dict(),
            "counters": {"cur_nimg": self.cur_nimg, "step": self.step, "tick": self.tick,
                         "total_sec": self.total_sec, "d_steps": self._d_steps, "pl_mean": self.pl_mean,
                         "phase": list(self._phase) if self._phase else None},
            "G": self.G.state_dict(), "D": self.D.state_dict(),
            "G_ema": self.G_ema.state_dict() if self.G_ema is not None else None,
            "opt_G": self.opt_G.state_dict(), "opt_D": self.opt_D.state_dict(),
            "sampler": self.sampler.state_dict(),
            "rng": rngs,
        }

    def load_state_dict(self, state: dict) -> None:
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        if self.G_ema is not None and state.get("G_ema") is not None:
            self.G_ema.load_state_dict(state["G_ema"])
        self.opt_G.load_state_dict(state["opt_G"])
        self.opt_D.load_state_dict(state["opt_D"])
        # The config's learning rates and betas, not the saved ones: the same values unless a resume changed
        # them (to continue a run that diverged with a lower lr), or the run was saved by a version that
        # scaled both by k / (k + 1) for lazy regularisation (it now trains at the recipe's values).
        for opt, lr in ((self.opt_G, self.cfg.lr_g), (self.opt_D, self.cfg.lr_d)):
            for group in opt.param_groups:
                group["lr"], group["betas"] = lr, (self.cfg.beta1, self.cfg.beta2)
        self.sampler.load_state_dict(state["sampler"])
        c = state["counters"]
        self.cur_nimg, self.step, self.tick, self.total_sec = c["cur_nimg"], c["step"], c["tick"], c["total_sec"]
        self._d_steps, self.pl_mean = c.get("d_steps", self.step * self.cfg.n_critic), c.get("pl_mean", 0.0)
        self._phase = tuple(c["phase"]) if c.get("phase") else None
        rngs = state["rng"]
        if len(rngs) != self.dist.world_size:
            # A different process count cannot replay the same streams; continue from fresh ones.
            self.gen.manual_seed(self.cfg.seed * 1_000_003 + self.dist.rank + 7 * self.step)
            return
        rng = rngs[self.dist.rank]
        self.gen.set_state(rng["gen"])
        if "noise" in rng:
            self.noise_gen.set_state(rng["noise"])
        torch.set_rng_state(rng["torch"])
        if "cuda" in rng and self.device.type == "cuda":
            torch.cuda.set_rng_state(rng["cuda"], self.device)

    def save_resume(self) -> None:
        state = self.state_dict()  # collective under DDP: every rank calls it
        if self.dist.rank == 0 and self.run is not None:
            self.run.save_resume(state)

    # ------------------------------------------------------------------ the loop
    def fit(self) -> str:
        """Train until cfg.kimg or should_stop; returns "done" or "stopped"; raises TrainingDiverged
        at the first step whose losses are not finite. Rank 0 writes samples, snapshots, log records
        and the resume state."""
        cfg, writer = self.cfg, (self.run is not None and self.dist.rank == 0)
        total_nimg = int(round(cfg.kimg * 1000))
        tick_nimg = int(round(cfg.tick_kimg * 1000))
        if writer and not (self.run.samples / "reals.png").exists():
            n = min(cfg.num_samples, len(self.dataset))
            reals = images.make_grid(self.dataset.images[:n].permute(0, 2, 3, 1).numpy())
            images.save_png(self.run.samples / "reals.png", reals, {"kind": "training-reals", "data": cfg.data})
        if writer and self.cur_nimg == 0:
            self._write_sample()
        tick_start_nimg, tick_start_time = self.cur_nimg, time.time()
        self._live_sample_time = time.time()
        status = "done"
        while self.cur_nimg < total_nimg:
            # One step: D phase(s), G phase, EMA.
            t0 = time.time()
            out = self.train_step()
            self.total_sec += time.time() - t0
            bad = [k for k, v in out.items() if not math.isfinite(v)]
            if any_rank(bool(bad), self.dist, self.device):
                raise TrainingDiverged(self.step, self.kimg, ", ".join(f"{k} is {out[k]}" for k in bad)
                                       or "another process's losses are not finite")
            for k, v in out.items():
                self._tick_sums[k] = self._tick_sums.get(k, 0.0) + v
            self._tick_steps += 1
            self.hooks.on_step({"kimg": self.kimg, "step": self.step, **out})
            stop = any_rank(bool(self.hooks.should_stop()), self.dist, self.device)
            done = self.cur_nimg >= total_nimg
            if writer and self.sample_sec and time.time() - self._live_sample_time >= self.sample_sec:
                self._write_sample(live_only=True)

            # Tick: a log record, and at their own cadences a sample grid and a snapshot.
            if self.cur_nimg - tick_start_nimg >= tick_nimg or done or stop:
                self._check_finite()  # a finite loss may still have left inf weights: write nothing of them
                self.tick += 1
                dt = time.time() - tick_start_time
                dk = (self.cur_nimg - tick_start_nimg) / 1000.0
                record = {"tick": self.tick, "kimg": round(self.kimg, 3), "step": self.step,
                          **{k: v / self._tick_steps for k, v in self._tick_sums.items()},
                          "sec_per_tick": round(dt, 3), "sec_per_kimg": round(dt / max(dk, 1e-9), 3),
                          "total_sec": round(self.total_sec, 1), **self._growth_record(), "time": time.time()}
                self._tick_sums, self._tick_steps = {}, 0
                if writer:
                    self.run.append_log(record)
                self.hooks.on_tick(record)
                if writer and (self.tick % cfg.sample_ticks == 0 or done or stop):
                    self._write_sample()
                if self.tick % cfg.snapshot_ticks == 0 or done or stop:
                    # The resume state first: a kill between the two leaves a resume point at or after
                    # the newest snapshot (ensure_snapshot adds its snapshot), never one behind it.
                    self.save_resume()
                    if writer:
                        self._write_snapshot()
                tick_start_nimg, tick_start_time = self.cur_nimg, time.time()
            if stop:
                status = "stopped"
                break
        return status
