"""Projection: find the latent whose image is closest to a target picture, for every family.

    w    one w for every style input (NVIDIA's projector.py, Karras et al. 2020, App. D)
    w+   one w per style input (rosinality's projector.py; Abdal et al. 2019): closer, less editable
    z    for families without a mapping network (DCGAN, WGAN-GP, ProGAN, FastGAN): z kept on the
         sphere of radius sqrt(z_dim) where a standard normal's mass lies, z = sqrt(D) v / |v|

The schedule is NVIDIA's: Adam on the latent at lr 0.1 with a 5 % cosine-free ramp-up and a 25 %
cosine ramp-down; Gaussian noise of initial_noise x the latents' spread added to the latent, fading
out quadratically over the first 75 % of the steps; w starts at w_avg. z starts at the best of
z_candidates random draws. Optionally the per-layer noise maps are optimised too, with NVIDIA's
regulariser (weight 1e5) and renormalised after every step.

Optional PTI (Roich et al. 2021): once the latent has converged, a copy of G is fine-tuned for
pti_steps with the latent fixed as the pivot (Adam, lr 1e-3), the same distance plus the locality
regulariser (every pti_reg_every steps: latents sampled on a sphere of pti_radius spreads around the
pivot must render as the original G renders them, weight pti_locality), so edits apply to a near
exact reconstruction. The tuned copy (and a copy holding optimised noise maps) is the result's `G`.

No gradio here; the UI and the CLI (python -m explorer.project) run the same Projection."""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from .. import images
from ..edit.directions import latent_space
from ..edit.latents import latents_for_seeds
from ..models.contract import trained_growth
from ..models.stylegan import truncate
from . import losses
from .losses import noise_regularizer, normalise_noise, pixel_mse, psnr

SPACES = ("w", "w+", "z")
PHASES = ("latent", "pti")
SPREAD_SAMPLES = 10_000  # latents sampled for the spread of w (NVIDIA: w_avg_samples)
SPREAD_SEED0 = 2_000_000  # seeds of those samples and of the z candidates: 2*10^6, 2*10^6 + 1, ...


@dataclass
class ProjectConfig:
    space: str = "w+"              # "w" | "w+" (families with a mapping network) | "z" (the others)
    steps: int = 250               # optimiser steps on the latent
    lr: float = 0.1                # Adam's peak learning rate on the latent
    lr_rampup: float = 0.05        # fraction of the steps the learning rate ramps up over (linear)
    lr_rampdown: float = 0.25      # fraction of the steps it ramps down over at the end (cosine)
    initial_noise: float = 0.05    # latent noise at step 0, times the latents' spread; fades out quadratically
    noise_ramp: float = 0.75       # fraction of the steps over which that noise fades to 0
    perceptual: float = 1.0        # weight of the perceptual distance
    net: str = "auto"              # its pyramid: "lite0" | "domain" (the data set's classifier) | "none" | "auto" (domain
                                   # where the model's data set has a classifier, else lite0)
    net_res: int = 128             # pixels lite0 sees (images are resized to it); 224 is what it was trained at
    pixel: float = 1.0             # weight of the pixel MSE (in [-1, 1] units)
    noise_maps: bool = False       # also optimise the per-layer noise maps (StyleGAN families)
    noise_reg: float = 1e5         # weight of the noise regulariser (NVIDIA's default)
    z_candidates: int = 16         # z space: random z tried, the closest one starts the search
    pti_steps: int = 0             # PTI steps fine-tuning a copy of G around the latent; 0 = no PTI
    pti_lr: float = 1e-3           # Adam's learning rate on G's weights during PTI (the paper's 3e-4 at 1024 px
                                   # is slower here: 64 px faces, 300 steps, 30.3 dB at 3e-4 and 31.2 dB at 1e-3)
    pti_locality: float = 0.1      # weight of PTI's locality regulariser; 0 = none
    pti_radius: float = 1.0        # its sample radius around the pivot, in the latents' spread
    pti_reg_every: int = 10        # PTI steps between locality terms
    seed: int = 0                  # seed of the latent noise and the PTI samples

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def check_config(cfg: ProjectConfig, G) -> None:
    """ValueError with a sentence for a config this generator cannot run."""
    space = latent_space(G)
    if cfg.space not in SPACES:
        raise ValueError(f"Latent space {cfg.space!r} is not one of {', '.join(SPACES)}.")
    if cfg.space in ("w", "w+") and space != "w":
        raise ValueError(f"This model has no mapping network, so it has no {cfg.space} space; project into z.")
    if cfg.space == "z" and space == "w":
        raise ValueError("This model has a mapping network; project into w or w+ (z would fight its mapping).")
    numbers = {k: v for k, v in cfg.to_dict().items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    bad = [k for k, v in numbers.items() if not math.isfinite(v)]
    if bad:
        raise ValueError(f"The projection setting {bad[0]} must be a number; got {numbers[bad[0]]}.")
    limits = {"steps": (1, 5000), "lr": (1e-5, 10.0), "lr_rampup": (0.0, 1.0), "lr_rampdown": (0.0, 1.0),
              "initial_noise": (0.0, 1.0), "noise_ramp": (0.0, 1.0), "perceptual": (0.0, 100.0),
              "net_res": (32, 512), "pixel": (0.0, 100.0), "noise_reg": (0.0, 1e7), "z_candidates": (1, 1000),
              "pti_steps": (0, 5000), "pti_lr": (1e-7, 1e-1), "pti_locality": (0.0, 100.0),
              "pti_radius": (0.0, 100.0), "pti_reg_every": (1, 1000), "seed": (0, 2**32 - 1)}
    for k, (lo, hi) in limits.items():
        v = getattr(cfg, k)
        if not lo <= v <= hi:
            raise ValueError(f"The projection setting {k} = {v:g} is out of range; it goes from {lo:g} to {hi:g}.")
    if cfg.net not in losses.NETS:
        raise ValueError(f"Feature network {cfg.net!r} is not one of {', '.join(losses.NETS)}.")
    if cfg.perceptual == 0 and cfg.pixel == 0:
        raise ValueError("Give the perceptual distance or the pixel error a weight above 0; with both at 0 there "
                         "is nothing to minimise.")
    if cfg.noise_maps and not G.capabilities.noise:
        raise ValueError("This model has no noise inputs to optimise; turn noise maps off.")


@dataclass
class Step:
    """What the last optimiser step measured (for progress, live pictures and the loss curve)."""

    phase: str                 # "latent" | "pti"
    step: int                  # 1-based, within its phase
    steps: int                 # of that phase
    loss: float                # the weighted sum minimised
    perceptual: float          # the distance alone (0 when not used)
    mse: float                 # pixel MSE in [-1, 1] units
    psnr: float                # dB
    seconds: float             # since the projection started


@dataclass
class Result:
    space: str                          # "w" | "w+" | "z"
    latent: np.ndarray                  # float32: w [1, w_dim], w+ [num_ws, w_dim] or z [z_dim]
    G: torch.nn.Module | None           # the tuned copy (PTI and/or optimised noise maps); None: G itself
    picture: np.ndarray                 # uint8 [res, res, C]: the reconstruction, rendered as the tabs render it
    history: list[Step]                 # every step
    best_step: int                      # the latent phase's step whose latent was kept
    seconds: float
    stopped: bool                       # Stop was pressed (the best so far is kept)
    final: dict = field(default_factory=dict)  # {"perceptual", "mse", "psnr"} of the result


def synthesis_kwargs_for(G, meta: dict) -> dict:
    """How the tabs draw a model by default: the stored noise maps; ProGAN at the stage it was trained to."""
    kw = {"noise_mode": "const"}
    if G.capabilities.progressive:
        stage, alpha = trained_growth(G, meta)
        kw.update(stage=stage, alpha=alpha)
    return kw


def _seeded(seed: int, device) -> torch.Generator:
    g = torch.Generator(device)
    g.manual_seed(int(seed))
    return g


class Projection:
    """One projection of `target` ([1, C, res, res] in [-1, 1]) into G. run() does the work, checking
    should_stop() between steps; `latest` holds the last step's reconstruction for live pictures."""

    def __init__(self, G, meta: dict, target: torch.Tensor, cfg: ProjectConfig, device: torch.device | str = "cpu",
                 dataset: str | None = None):
        check_config(cfg, G)
        assert target.ndim == 4 and target.shape[0] == 1, f"target must be [1, C, H, W], got {tuple(target.shape)}"
        if tuple(target.shape[1:]) != (G.img_channels, G.img_resolution, G.img_resolution):
            raise ValueError(f"The target is {tuple(target.shape[1:])}; this model draws "
                             f"{(G.img_channels, G.img_resolution, G.img_resolution)}.")
        self.G, self.meta, self.cfg, self.device = G, meta, cfg, torch.device(device)
        self.target = target.to(self.device).float()
        self.kw = synthesis_kwargs_for(G, meta)
        self.net = losses.perceptual_net(cfg.net, dataset, cfg.net_res, self.device) if cfg.perceptual > 0 else None
        with torch.no_grad():
            self.target_features = self.net.features(self.target) if self.net else None
        self.latest: tuple[Step, torch.Tensor] | None = None  # (step, reconstruction [1, C, H, W])
        self.history: list[Step] = []

    # ----------------------------------------------------------------- the pieces
    def _loss(self, img: torch.Tensor, noise: list[torch.Tensor] | None) -> tuple[torch.Tensor, float, float]:
        """-> (weighted loss, perceptual, mse) for img [1, C, H, W]."""
        cfg = self.cfg
        mse = pixel_mse(img, self.target)[0]
        dist = self.net.distance(img, self.target_features)[0] if self.net else torch.zeros((), device=img.device)
        loss = cfg.perceptual * dist + cfg.pixel * mse
        if noise and cfg.noise_reg > 0:
            loss = loss + cfg.noise_reg * noise_regularizer(noise)
        return loss, float(dist.detach()), float(mse.detach())

    def _render(self, G, ws: torch.Tensor, noise: list[torch.Tensor] | None) -> torch.Tensor:
        """G's image of ws [N, num_ws, D], with explicit noise maps (StyleGAN) or as the tabs render it."""
        if noise is None:
            return G.synthesis(ws, **self.kw)
        state = G.initial_state(ws.shape[0])
        for i in range(G.num_layers):
            state = G.run_layer(i, state, ws, noise[i])
        return G.finish(state, ws)

    def _ws(self, latent: torch.Tensor) -> torch.Tensor:
        """The optimised parameter -> ws [1, num_ws, D]."""
        G = self.G
        if self.cfg.space == "z":
            z = latent * (math.sqrt(G.z_dim) / latent.norm(dim=-1, keepdim=True).clamp_min(1e-8))  # on the sphere
            return G.mapping(z)
        return latent.expand(1, G.num_ws, -1) if self.cfg.space == "w" else latent

    @torch.no_grad()
    def _spread(self) -> tuple[torch.Tensor, float]:
        """(start [1, num_ws or 1, D] or z [1, z_dim], the latents' spread: sqrt(E|x - mean|^2), as NVIDIA's w_std)."""
        G, cfg = self.G, self.cfg
        if cfg.space == "z":
            zs = latents_for_seeds(list(range(SPREAD_SEED0, SPREAD_SEED0 + cfg.z_candidates)), G.z_dim).to(self.device)
            best, best_loss = None, math.inf
            for z in zs.split(16):
                imgs = G.synthesis(G.mapping(z), **self.kw)
                d = pixel_mse(imgs, self.target) * cfg.pixel
                if self.net:
                    d = d + cfg.perceptual * self.net.distance(imgs, self.target_features)
                i = int(d.argmin())
                if float(d[i]) < best_loss:
                    best, best_loss = z[i:i + 1].clone(), float(d[i])
            return best, math.sqrt(G.z_dim)
        z = torch.randn(SPREAD_SAMPLES, G.z_dim, generator=_seeded(SPREAD_SEED0, "cpu")).to(self.device)
        w = torch.cat([G.mapping(zb)[:, 0] for zb in z.split(1000)])           # [S, w_dim]
        w_avg = G.w_avg.detach().float()[None]                                  # [1, w_dim]
        spread = float((w - w_avg).square().sum(dim=1).mean().sqrt())
        start = w_avg[:, None] if cfg.space == "w" else w_avg[:, None].repeat(1, G.num_ws, 1)
        return start.clone(), spread

    def _noise_start(self, G) -> list[torch.Tensor] | None:
        if not self.cfg.noise_maps:
            return None
        return [layer.noise_const.detach().clone().float().requires_grad_(True) for layer in G.layers]

    def _record(self, phase: str, i: int, n: int, loss: float, dist: float, mse: float, img: torch.Tensor,
                t0: float, on_step) -> Step:
        s = Step(phase, i + 1, n, loss, dist, mse, 10 * math.log10(4.0 / max(mse, 1e-12)), time.perf_counter() - t0)
        self.history.append(s)
        self.latest = (s, img.detach())
        if on_step is not None:
            on_step(s)
        return s

    # ----------------------------------------------------------------- the run
    def run(self, should_stop: Callable[[], bool] = lambda: False, on_step: Callable[[Step], None] | None = None
            ) -> Result:
        G, cfg = self.G, self.cfg
        t0 = time.perf_counter()
        gen = _seeded(cfg.seed, self.device)
        start, spread = self._spread()
        latent = start.clone().requires_grad_(True)
        noise = self._noise_start(G)
        params = [latent] + (noise or [])
        opt = torch.optim.Adam(params, lr=cfg.lr, betas=(0.9, 0.999))
        best = (math.inf, latent.detach().clone(), [n.detach().clone() for n in noise] if noise else None, 0)
        stopped = False
        # Phase 1: the latent (and the noise maps), NVIDIA's schedule.
        for i in range(cfg.steps):
            if should_stop():
                stopped = True
                break
            t = i / cfg.steps
            ramp = min(1.0, (1.0 - t) / cfg.lr_rampdown) if cfg.lr_rampdown > 0 else 1.0
            ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
            ramp *= min(1.0, t / cfg.lr_rampup) if cfg.lr_rampup > 0 else 1.0
            for g in opt.param_groups:
                g["lr"] = cfg.lr * ramp
            scale = spread * cfg.initial_noise * max(0.0, 1.0 - t / cfg.noise_ramp) ** 2 if cfg.noise_ramp > 0 else 0.0
            noisy = latent + torch.randn(latent.shape, generator=gen, device=self.device) * scale if scale else latent
            img = self._render(G, self._ws(noisy), noise)
            loss, dist, mse = self._loss(img, noise)
            loss_value = float(loss.detach())
            if loss_value < best[0]:  # the latent (noise and all) and maps as rendered, before this update
                best = (loss_value, noisy.detach().clone(), [n.detach().clone() for n in noise] if noise else None,
                        i + 1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if noise:
                normalise_noise(noise)
            self._record("latent", i, cfg.steps, loss_value, dist, mse, img, t0, on_step)
        _, latent_best, noise_best, best_step = best
        tuned = self._with_noise(noise_best) if noise_best is not None else None
        # Phase 2: PTI around the pivot.
        if cfg.pti_steps > 0 and not stopped:
            tuned, stopped = self._pti(tuned if tuned is not None else G, self._ws(latent_best).detach(), spread,
                                       gen, t0, should_stop, on_step)
        return self._result(latent_best, tuned, best_step, t0, stopped)

    def _with_noise(self, noise: list[torch.Tensor]):
        G2 = copy.deepcopy(self.G)
        with torch.no_grad():
            for layer, n in zip(G2.layers, noise):
                layer.noise_const.copy_(n.to(layer.noise_const.dtype))
        return G2.eval().requires_grad_(False)

    def _pti(self, G0, pivot: torch.Tensor, spread: float, gen: torch.Generator, t0: float, should_stop, on_step):
        """Fine-tune a copy of G0 so that pivot [1, num_ws, D] renders the target (Roich et al. 2021, Eq. 2-4)."""
        cfg = self.cfg
        Gt = copy.deepcopy(G0).train(False).requires_grad_(True)
        opt = torch.optim.Adam(list(Gt.parameters()), lr=cfg.pti_lr)  # buffers (noise maps, w_avg) stay
        stopped = False
        for i in range(cfg.pti_steps):
            if should_stop():
                stopped = True
                break
            img = Gt.synthesis(pivot, **self.kw)
            loss, dist, mse = self._loss(img, None)
            if cfg.pti_locality > 0 and i % cfg.pti_reg_every == 0:
                with torch.no_grad():
                    ws_r = self._locality_sample(pivot, spread, gen)
                    ref = G0.synthesis(ws_r, **self.kw)
                out = Gt.synthesis(ws_r, **self.kw)
                reg = pixel_mse(out, ref).mean() * cfg.pixel
                if self.net:
                    reg = reg + cfg.perceptual * losses.pyramid_distance(self.net.features(out),
                                                                         self.net.features(ref)).mean()
                loss = loss + cfg.pti_locality * reg
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            self._record("pti", i, cfg.pti_steps, float(loss.detach()), dist, mse, img, t0, on_step)
        return Gt.eval().requires_grad_(False), stopped

    def _locality_sample(self, pivot: torch.Tensor, spread: float, gen: torch.Generator) -> torch.Tensor:
        """ws of a latent pti_radius spreads from the pivot, towards a random sample (PTI, Eq. 3)."""
        G, cfg = self.G, self.cfg
        z = torch.randn(1, G.z_dim, generator=gen, device=self.device)
        if self.cfg.space == "z":
            p = pivot[:, 0]
            d = z * math.sqrt(G.z_dim) / z.norm() - p
            z_r = p + cfg.pti_radius * spread * d / d.norm().clamp_min(1e-8)
            return G.mapping(z_r * math.sqrt(G.z_dim) / z_r.norm().clamp_min(1e-8))
        w = G.mapping(z)                                                          # [1, num_ws, D]
        d = w - pivot
        return pivot + cfg.pti_radius * spread * d / d[:, :1].norm(dim=-1, keepdim=True).clamp_min(1e-8)

    @torch.no_grad()
    def _result(self, latent: torch.Tensor, tuned, best_step: int, t0: float, stopped: bool) -> Result:
        G, cfg = self.G, self.cfg
        if cfg.space == "z":
            z = latent * (math.sqrt(G.z_dim) / latent.norm(dim=-1, keepdim=True).clamp_min(1e-8))
            arr = z[0].float().cpu().numpy()                                      # [z_dim]
        else:
            arr = latent[0].float().cpu().numpy()                                 # [1 or num_ws, w_dim]
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        with torch.inference_mode():
            img = render_latent(tuned if tuned is not None else G, self.meta, cfg.space, arr, self.device)
        final = {"mse": float(pixel_mse(img.float(), self.target)[0]), "psnr": float(psnr(img.float(), self.target)[0])}
        if self.net:
            final["perceptual"] = float(self.net.distance(img.float(), self.target_features)[0])
        return Result(cfg.space, arr, tuned, images.to_uint8(img)[0], list(self.history), best_step,
                      time.perf_counter() - t0, stopped, final)


def ws_of(G, space: str, latent: np.ndarray | torch.Tensor, truncation_psi: float = 1.0,
          truncation_cutoff: int | None = None, device: torch.device | str = "cpu") -> torch.Tensor:
    """A stored latent -> ws [1, num_ws, D], truncated like a seed's (ws pulled towards w_avg; z scaled)."""
    x = torch.as_tensor(np.asarray(latent, dtype=np.float32)).to(device)
    if space == "z":
        return G.mapping(x.reshape(1, G.z_dim), truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
    ws = x.reshape(1, -1, G.w_dim).expand(1, G.num_ws, -1).clone()               # [1, num_ws, w_dim]
    return truncate(ws, G.w_avg, truncation_psi, truncation_cutoff)


def render_latent(G, meta: dict, space: str, latent, device: torch.device | str = "cpu") -> torch.Tensor:
    """[1, C, H, W]: the image of a stored latent, rendered as the tabs render it (const noise)."""
    return G.synthesis(ws_of(G, space, latent, device=device), **synthesis_kwargs_for(G, meta))
