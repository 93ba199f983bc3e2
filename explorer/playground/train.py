"""The Playground: a 2-D GAN that trains one step at a time and shows every part of itself.

Reproducibility: a seed is split into four streams (real set, weight init, training draws,
fixed evaluation latents). Only the training stream is drawn from while training, in a fixed
order per step; snapshots use the fixed evaluation latents and draw nothing. So the state
after any sequence of actions is a function of (config, seed, actions) alone, which is what a
recipe stores (recipe.py). Bit-for-bit on the same PyTorch build and thread count.

Thread safety: every public method takes the Playground's re-entrant lock; ``step(n)`` takes
it once per iteration, so a UI thread's ``snapshot()`` runs between two iterations of a
background thread's ``step(n)`` and always sees a consistent state.

Divergence (``js_bits``): the Jensen-Shannon divergence, in bits (0 = same, 1 = disjoint),
between Gaussian kernel density estimates of the real set and of G's fakes at the fixed
evaluation latents. Each KDE (isotropic, bandwidth ViewConfig.kde_bandwidth, 0.1 plane units
by default) is integrated exactly (erf) over a div_res x div_res grid of cells on the plane,
plus one cell for all mass outside the plane, so fakes that leave the plane count as
mismatch. Deterministic; a perfect G still scores a small floor from sampling noise: for 512
real points against 512 fakes of the same distribution about 0.01 bits on the ring and up to
0.035 on the uniform square.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import threading
from dataclasses import dataclass

import numpy as np
import torch

from .config import PlaygroundConfig, TrainConfig
from .data import DISTRIBUTIONS, EXTENT, check_points, mode_coverage, sample
from .losses import LOSSES, d_score, generator_loss, gradient_penalty, r1_penalty
from .models import Discriminator, Generator, init_weights, latent_grid, sample_z

ACTIONS = ("d", "g", "step", "set")  # recipe action names: one D step, one G step, one iteration, a configure()


@dataclass
class History:
    """Per-step metrics as read-only float64 arrays. D rows: one per D step; G rows: one per G step;
    eval rows: one every ViewConfig.eval_every G steps. Scores are in the heat map's units
    (P(real) for BCE, raw critic scores otherwise)."""
    d_step: np.ndarray       # [Td] 1-based index of each D step
    d_at: np.ndarray         # [Td] G steps done when that D step ran (the iteration; a chart's x)
    d_loss: np.ndarray       # [Td] D's loss without penalties
    d_penalty: np.ndarray    # [Td] weighted gradient penalty + R1 added to D's loss (0 when off)
    d_real: np.ndarray       # [Td] D's mean score on the real batch
    d_fake: np.ndarray       # [Td] D's mean score on the fake batch
    g_step: np.ndarray       # [Tg] 1-based index of each G step
    g_loss: np.ndarray       # [Tg] G's loss
    g_fake: np.ndarray       # [Tg] D's mean score on the fakes of that G step (before G moved)
    g_grad_norm: np.ndarray  # [Tg] mean over the batch of |d loss_i / d x_i|: the gradient each fake point receives
    eval_step: np.ndarray    # [Te] G steps done at each evaluation
    js_bits: np.ndarray      # [Te] JS divergence between real and fake KDEs, bits
    modes_covered: np.ndarray  # [Te] mixture modes covered (NaN for a distribution that is no mixture)
    hq_share: np.ndarray     # [Te] share of fakes within 3 std of a mode (NaN likewise)


@dataclass
class Snapshot:
    """Everything the views draw, as numpy arrays, copied out of the Playground."""
    phase: str               # "" or, in slow_step, "before" | "after D" | "after G"
    d_steps: int             # D steps done
    g_steps: int             # G steps done
    loss: str                # TrainConfig.loss the state was trained with last
    extent: float            # the plane is [-extent, extent]^2, plane units
    heat: np.ndarray         # [R, R] D over the plane at cell centres; row 0 is the bottom (y = -extent), column 0 the left
    heat_kind: str           # "probability" (D(x) = P(real) in [0, 1]) | "critic" (raw score)
    heat_range: tuple        # (lo, hi) the colour scale spans: (0, 1) for probability, the map's min/max for critic
    real: np.ndarray         # [N, 2] the real set
    fake: np.ndarray         # [M, 2] G at the fixed evaluation latents
    fake_grad: np.ndarray    # [M, 2] -d loss_i / d x_i at each fake: where G's loss pushes that point (eval-mode D)
    mesh: np.ndarray         # [A, B, 2] G over the latent grid (2-D latent: A = B = mesh_res; 1-D: A = 1)
    js_bits: float           # current JS divergence between real and fake KDEs, bits
    coverage: dict | None    # data.mode_coverage of the fakes for a mixture, else None
    history: History         # the metrics so far


class Playground:
    """A seeded 2-D GAN. step_d / step_g / step(n) train; snapshot() reads; recipe() records.

    >>> pg = Playground(PRESETS["mode-collapse"].config, seed=0)
    >>> pg.step(100); snap = pg.snapshot(); image = draw(snap)
    """

    def __init__(self, config: PlaygroundConfig | None = None, seed: int = 0):
        self._lock = threading.RLock()
        self._build(config or PlaygroundConfig(), seed)

    # ---- building ---------------------------------------------------------------------------

    def _build(self, config: PlaygroundConfig, seed: int) -> None:
        config.validate()
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
            raise ValueError(f"The seed must be a whole number from 0 to 2^63 - 1, got {seed!r}.")
        config = copy.deepcopy(config)
        s_data, s_init, s_train, s_eval = (int(x) for x in np.random.SeedSequence(seed).generate_state(4, np.uint64) >> np.uint64(1))
        d, m, v = config.data, config.model, config.view

        # Phase 1: the fixed real set (drawn points are stored as the float32 values used, so JSON round-trips them).
        pts = check_points(d.points) if d.name == "drawn" else sample(d.name, d.n_samples, s_data)
        if d.name == "drawn":
            d.points = pts.tolist()
        self.config = config                         # current config (configure() changes its train part)
        self._initial = copy.deepcopy(config)        # what the recipe starts from
        self.seed = seed
        self.real = torch.from_numpy(pts)            # [N, 2]
        dist = DISTRIBUTIONS.get(d.name)
        self._centers = None if dist is None or dist.centers is None else dist.centers
        self._std = 0.0 if dist is None else dist.std

        # Phase 2: networks and optimisers (fused Adam: one kernel per tensor, 3-6x faster at these sizes).
        gen_init = torch.Generator().manual_seed(s_init)
        self.G, self.D = Generator(m), Discriminator(m)
        init_weights(self.G, gen_init)
        init_weights(self.D, gen_init)
        self.G.train()
        self.D.train()
        t = config.train
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=t.lr_g, betas=(t.beta1, t.beta2), fused=True)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=t.lr_d, betas=(t.beta1, t.beta2), fused=True)

        # Phase 3: the training stream, and the fixed things the views evaluate.
        self._gen = torch.Generator().manual_seed(s_train)
        self.z_eval = sample_z(v.n_eval, m.latent_dim, torch.Generator().manual_seed(s_eval))  # [M, latent_dim]
        self._mesh_z = latent_grid(m.latent_dim, v.mesh_res)                                  # [A, B, latent_dim]
        c = (torch.arange(v.heat_res, dtype=torch.float32) + 0.5) / v.heat_res * 2 * EXTENT - EXTENT
        gy, gx = torch.meshgrid(c, c, indexing="ij")
        self._heat_xy = torch.stack([gx, gy], -1).view(-1, 2)                                # [R*R, 2], row-major from the bottom
        self._edges = torch.linspace(-EXTENT, EXTENT, v.div_res + 1, dtype=torch.float64)
        self._real_mass = kde_cell_mass(self.real, self._edges, v.kde_bandwidth)

        # Phase 4: counters, history, the action log.
        self.d_steps = 0
        self.g_steps = 0
        self._d_rows, self._g_rows, self._eval_rows = _Table(6), _Table(4), _Table(4)
        self._actions: list[list] = []

    def reset(self, config: PlaygroundConfig | None = None, seed: int | None = None) -> None:
        """Start over from fresh weights: with `config` (default: the current one, live changes
        included) and `seed` (default: the current one). The action log starts empty."""
        with self._lock:
            self._build(config or self.config, self.seed if seed is None else seed)

    def configure(self, **changes) -> None:
        """Change TrainConfig fields while training (loss, rates, stabilisers...), e.g.
        configure(lr_d=1e-4, d_steps=5). Recorded in the recipe, so replays make the same change
        at the same step. Data, model and view changes need reset(config)."""
        with self._lock:
            unknown = set(changes) - {f.name for f in dataclasses.fields(TrainConfig)}
            if unknown:
                raise ValueError(f"configure() changes training settings only; {sorted(unknown)} need reset(config) "
                                 f"with a new PlaygroundConfig.")
            new = dataclasses.replace(self.config.train, **changes)
            changed = {k: v for k, v in changes.items() if getattr(self.config.train, k) != v}
            if not changed:
                return
            self.config = self.config.replace(train=new)  # validates
            for opt, lr in ((self.opt_g, new.lr_g), (self.opt_d, new.lr_d)):
                for group in opt.param_groups:
                    group["lr"] = lr
                    group["betas"] = (new.beta1, new.beta2)
            self._actions.append(["set", dict(sorted(changed.items()))])

    # ---- training ---------------------------------------------------------------------------

    def step_d(self) -> dict:
        """One D step on a fresh real and fake batch; returns its metrics row."""
        with self._lock:
            row = self._d_step()
            self._record("d")
            return row

    def step_g(self) -> dict:
        """One G step against the current D; returns its metrics row."""
        with self._lock:
            row = self._g_step()
            self._record("g")
            return row

    def step(self, n: int = 1) -> None:
        """n iterations of (TrainConfig.d_steps D steps, then one G step)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"step(n) takes a whole number of iterations >= 0, got {n!r}.")
        for _ in range(n):
            with self._lock:
                for _ in range(self.config.train.d_steps):
                    self._d_step()
                self._g_step()
                self._record("step")

    def slow_step(self) -> list[Snapshot]:
        """One iteration shown in order: snapshots before, after D's steps and after G's step."""
        with self._lock:
            snaps = [self.snapshot(phase="before")]
            for _ in range(self.config.train.d_steps):
                self.step_d()
            snaps.append(self.snapshot(phase="after D"))
            self.step_g()
            snaps.append(self.snapshot(phase="after G"))
            return snaps

    def _record(self, name: str) -> None:
        if self._actions and self._actions[-1][0] == name:
            self._actions[-1][1] += 1
        else:
            self._actions.append([name, 1])

    def _d_step(self) -> dict:
        t, gen = self.config.train, self._gen
        spec, B = LOSSES[t.loss], t.batch_size
        # Draw order is part of the recipe format: batch indices, z, targets, dropout, GP eps.
        real = self.real[torch.randint(len(self.real), (B,), generator=gen)]  # [B, 2]
        z = sample_z(B, self.config.model.latent_dim, gen)                  # [B, latent_dim]
        with torch.no_grad():
            fake = self.G(z)                                                 # [B, 2]
        if t.r1_gamma > 0:
            real.requires_grad_(True)
        targets = self._targets(B) if spec.soft_targets else ()
        real_out, fake_out = self.D(torch.cat([real, fake]), gen).split(B)  # [B], [B]: one pass is faster
        loss = spec.d_loss(real_out, fake_out, *targets)
        penalty = torch.zeros(())
        if spec.gradient_penalty and t.gp_lambda > 0:
            eps = torch.rand(B, generator=gen)                               # [B]
            penalty = penalty + t.gp_lambda * gradient_penalty(lambda x: self.D(x, gen), real.detach(), fake, eps)
        if t.r1_gamma > 0:
            penalty = penalty + 0.5 * t.r1_gamma * r1_penalty(real_out, real)  # gamma/2 E||grad D(x)||^2 (Mescheder et al. 2018)
        grads = torch.autograd.grad(loss + penalty, list(self.D.parameters()))
        for p, g in zip(self.D.parameters(), grads):
            p.grad = g
        self.opt_d.step()
        self.d_steps += 1
        row = (self.d_steps, self.g_steps, loss.item(), penalty.item(),
               d_score(t.loss, real_out).mean().item(), d_score(t.loss, fake_out).mean().item())
        self._d_rows.append(row)
        return dict(zip(("d_step", "d_at", "d_loss", "d_penalty", "d_real", "d_fake"), row))

    def _targets(self, B: int) -> tuple[torch.Tensor, torch.Tensor]:
        """BCE targets [B] each for reals and fakes: smoothing, then noise, then flips (t -> 1 - t)."""
        t, gen = self.config.train, self._gen
        real_t = torch.full((B,), 1.0 - t.label_smoothing)
        fake_t = torch.zeros(B)
        if t.label_noise > 0:
            real_t = real_t - t.label_noise * torch.rand(B, generator=gen)
            fake_t = fake_t + t.label_noise * torch.rand(B, generator=gen)
        if t.label_flip > 0:
            real_t = torch.where(torch.rand(B, generator=gen) < t.label_flip, 1.0 - real_t, real_t)
            fake_t = torch.where(torch.rand(B, generator=gen) < t.label_flip, 1.0 - fake_t, fake_t)
        return real_t, fake_t

    def _g_step(self) -> dict:
        t, gen = self.config.train, self._gen
        B = t.batch_size
        z = sample_z(B, self.config.model.latent_dim, gen)                  # [B, latent_dim]
        fake = self.G(z)                                                     # [B, 2]
        fake_out = self.D(fake, gen)                                         # [B]
        loss = generator_loss(t.loss, t.g_loss)(fake_out)
        params = list(self.G.parameters())
        grads = torch.autograd.grad(loss, [fake] + params)                  # D's weights get no gradient
        for p, g in zip(params, grads[1:]):
            p.grad = g
        self.opt_g.step()
        self.g_steps += 1
        point_grad = grads[0] * B                                            # [B, 2] d loss_i / d x_i (loss is a mean)
        row = (self.g_steps, loss.item(), d_score(t.loss, fake_out).mean().item(),
               point_grad.norm(dim=1).mean().item())
        self._g_rows.append(row)
        if self.g_steps % self.config.view.eval_every == 0:
            self._eval_rows.append((self.g_steps, *self._evaluate()))
        return dict(zip(("g_step", "g_loss", "g_fake", "g_grad_norm"), row))

    # ---- reading ----------------------------------------------------------------------------

    def _evaluate(self) -> tuple[float, float, float]:
        """(js_bits, modes covered, hq share) of the fakes at the fixed evaluation latents."""
        with torch.no_grad():
            fake = self.G(self.z_eval)                                       # [M, 2]
        js = js_bits(self._real_mass, kde_cell_mass(fake, self._edges, self.config.view.kde_bandwidth))
        if self._centers is None:
            return js, math.nan, math.nan
        cov = mode_coverage(fake.numpy(), self._centers, self._std)
        return js, float(cov["covered"]), cov["hq_share"]

    def snapshot(self, phase: str = "") -> Snapshot:
        """The current views as numpy arrays (safe between steps from any thread; draws no randomness)."""
        with self._lock:
            t, v = self.config.train, self.config.view
            spec = LOSSES[t.loss]
            self.D.eval()  # no dropout in what the views show
            try:
                with torch.no_grad():
                    heat = d_score(t.loss, self.D(self._heat_xy)).view(v.heat_res, v.heat_res)  # [R, R]
                    ld = self.config.model.latent_dim
                    mesh = self.G(self._mesh_z.reshape(-1, ld)).view(*self._mesh_z.shape[:2], 2)  # [A, B, 2]
                    fake = self.G(self.z_eval)                               # [M, 2]
                x = fake.clone().requires_grad_(True)
                loss = generator_loss(t.loss, t.g_loss)(self.D(x))
                (grad,) = torch.autograd.grad(loss, x)
                fake_grad = -grad * len(x)                                   # [M, 2] descent direction per point
            finally:
                self.D.train()
            js = js_bits(self._real_mass, kde_cell_mass(fake, self._edges, v.kde_bandwidth))
            cov = None if self._centers is None else mode_coverage(fake.numpy(), self._centers, self._std)
            heat = heat.numpy().astype(np.float32)
            rng = (0.0, 1.0) if spec.heat == "probability" else (float(heat.min()), float(heat.max()))
            return Snapshot(phase=phase, d_steps=self.d_steps, g_steps=self.g_steps, loss=t.loss, extent=EXTENT,
                            heat=heat, heat_kind=spec.heat, heat_range=rng, real=self.real.numpy().copy(),
                            fake=fake.numpy().copy(), fake_grad=fake_grad.numpy().copy(), mesh=mesh.numpy().copy(),
                            js_bits=js, coverage=cov, history=self.history())

    def history(self) -> History:
        with self._lock:
            d, g, e = self._d_rows.array(), self._g_rows.array(), self._eval_rows.array()
            return History(d_step=d[:, 0], d_at=d[:, 1], d_loss=d[:, 2], d_penalty=d[:, 3], d_real=d[:, 4], d_fake=d[:, 5],
                           g_step=g[:, 0], g_loss=g[:, 1], g_fake=g[:, 2], g_grad_norm=g[:, 3],
                           eval_step=e[:, 0], js_bits=e[:, 1], modes_covered=e[:, 2], hq_share=e[:, 3])

    def summary(self) -> dict:
        """A small JSON-ready summary of the current state (the CLI prints it)."""
        with self._lock:
            js, covered, hq = self._evaluate()
            h = self.history()
            last = lambda a: None if len(a) == 0 else round(float(a[-1]), 6)  # noqa: E731
            return {"d_steps": self.d_steps, "g_steps": self.g_steps, "loss": self.config.train.loss,
                    "data": self.config.data.name, "seed": self.seed, "js_bits": round(js, 6),
                    "modes_covered": None if math.isnan(covered) else int(covered),
                    "modes": None if self._centers is None else len(self._centers),
                    "hq_share": None if math.isnan(hq) else round(hq, 6),
                    "d_loss": last(h.d_loss), "g_loss": last(h.g_loss), "d_real": last(h.d_real),
                    "d_fake": last(h.d_fake), "g_grad_norm": last(h.g_grad_norm)}

    # ---- recording --------------------------------------------------------------------------

    def recipe(self) -> dict:
        """{"format", "kind", "seed", "config", "actions"}: replaying it (recipe.replay) rebuilds this
        exact state. actions are run-length encoded: [["step", 200], ["d", 3], ["set", {...}], ...]."""
        with self._lock:
            return {"format": 1, "kind": "playground", "seed": self.seed, "config": self._initial.to_dict(),
                    "actions": copy.deepcopy(self._actions), "d_steps": self.d_steps, "g_steps": self.g_steps,
                    "torch": torch.__version__}

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """Every tensor the future depends on (weights, Adam moments, the training RNG), copied; for comparisons."""
        with self._lock:
            out = {f"G.{k}": v.clone() for k, v in self.G.state_dict().items()}
            out.update({f"D.{k}": v.clone() for k, v in self.D.state_dict().items()})
            for name, opt in (("opt_g", self.opt_g), ("opt_d", self.opt_d)):
                for i, st in opt.state_dict()["state"].items():
                    out.update({f"{name}.{i}.{k}": torch.as_tensor(v).clone() for k, v in st.items()})
            out["rng"] = self._gen.get_state()
            return out


class _Table:
    """Rows of floats appended one at a time, read as a read-only float64 array [T, width].
    Only rows added since the last read are converted, so a long run's history stays cheap to read."""

    def __init__(self, width: int):
        self.width = width
        self._new: list[tuple] = []
        self._array = np.zeros((0, width))

    def append(self, row: tuple) -> None:
        self._new.append(row)

    def __len__(self) -> int:
        return len(self._array) + len(self._new)

    def array(self) -> np.ndarray:
        if self._new:
            self._array = np.concatenate([self._array, np.array(self._new, dtype=np.float64).reshape(-1, self.width)])
            self._array.flags.writeable = False  # handed out as is: replaced on growth, never written
            self._new = []
        return self._array


def kde_cell_mass(points: torch.Tensor, edges: torch.Tensor, bandwidth: float) -> torch.Tensor:
    """Mass of an isotropic Gaussian KDE of points [M, 2] in each cell of the square grid with the
    given 1-D edges [R + 1], integrated exactly, plus the mass outside it: float64 [R*R + 1]."""
    p = points.detach().to(torch.float64)
    s = bandwidth * math.sqrt(2.0)
    cdf_x = 0.5 * (1 + torch.special.erf((edges[None, :] - p[:, :1]) / s))  # [M, R+1]
    cdf_y = 0.5 * (1 + torch.special.erf((edges[None, :] - p[:, 1:]) / s))
    wx, wy = cdf_x.diff(dim=1), cdf_y.diff(dim=1)                             # [M, R] mass per column / row
    cells = (wy.T @ wx).flatten() / len(p)                                    # [R*R]
    outside = (1.0 - cells.sum()).clamp(min=0.0)
    return torch.cat([cells, outside.view(1)])


def js_bits(p: torch.Tensor, q: torch.Tensor) -> float:
    """Jensen-Shannon divergence of two discrete distributions, in bits (0 log 0 = 0)."""
    p, q = p / p.sum(), q / q.sum()
    m = 0.5 * (p + q)
    kl = lambda a: torch.where(a > 0, a * torch.log2(a / m), torch.zeros_like(a)).sum()  # noqa: E731
    return float(0.5 * kl(p) + 0.5 * kl(q))
