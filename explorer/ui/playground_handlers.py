"""The Playground tab's handlers: plain functions over the Runner (the tab module lays out and wires them)."""

from __future__ import annotations

import dataclasses
import time

import gradio as gr
import numpy as np
import pandas as pd

from ..playground import DISTRIBUTIONS, EXTENT, PRESETS, PlaygroundConfig, draw, parse_csv, pixel_to_plane
from ..playground import recipe as precipe
from ..playground.config import LOSS_NAMES
from . import inputs
from .common import user_errors
from .playground_runner import Runner, valid_key

VIEW_PX = 440
DATA_CHOICES = [*DISTRIBUTIONS, "drawn"]
G_LOSSES = {"non-saturating": "nonsaturating", "minimax (original)": "minimax"}
TRAIN_FIELDS = ("loss", "g_loss", "lr_g", "lr_d", "d_steps", "label_smoothing", "gp_lambda", "r1_gamma")


_errors = user_errors(ValueError)  # the engine's sentences reach the page as gr.Error


FORM = ("data", "points", "loss", "G loss", "lr G", "lr D", "D steps", "label smoothing", "GP λ", "R1 γ", "D width",
        "D depth", "latent dims", "label noise", "label flips", "D dropout", "Adam β1", "Adam β2", "G width", "G depth")


def controls_of(cfg: PlaygroundConfig) -> list:
    """The form's values for a config, in FORM's order."""
    t, m = cfg.train, cfg.model
    g_loss = next(k for k, v in G_LOSSES.items() if v == t.g_loss)
    return [cfg.data.name, cfg.data.n_samples, t.loss, g_loss, t.lr_g, t.lr_d, t.d_steps, t.label_smoothing,
            t.gp_lambda, t.r1_gamma, m.d_width, m.d_depth, m.latent_dim, t.label_noise, t.label_flip, m.d_dropout,
            t.beta1, t.beta2, m.g_width, m.g_depth]


def _train_changes(loss, g_loss, lr_g, lr_d, d_steps, smoothing, gp_lambda, r1_gamma, noise, flip, beta1,
                   beta2) -> dict:
    bce = inputs.choice(loss, "Loss", LOSS_NAMES) == "bce"

    def label(value, what: str) -> float:  # BCE's targets only; the other losses have none
        return inputs.number(value, what, 0.0, 0.49) if bce else 0.0

    return dict(loss=loss, g_loss=G_LOSSES[inputs.choice(g_loss, "G loss", list(G_LOSSES))] if bce else "nonsaturating",
                lr_g=inputs.number(lr_g, "Learning rate of G", 1e-6, 0.1),
                lr_d=inputs.number(lr_d, "Learning rate of D", 1e-6, 0.1),
                d_steps=inputs.whole(d_steps, "D steps per G step", 1, 20),
                label_smoothing=label(smoothing, "Label smoothing"), label_noise=label(noise, "Label noise"),
                label_flip=label(flip, "Label flips"),
                gp_lambda=inputs.number(gp_lambda, "Gradient penalty λ", 0.0, 1000.0),
                r1_gamma=inputs.number(r1_gamma, "R1 γ", 0.0, 1000.0),
                beta1=inputs.number(beta1, "Adam β1", 0.0, 0.9999), beta2=inputs.number(beta2, "Adam β2", 0.0, 0.9999))


def _config(s, data, n, train: dict, d_width, d_depth, latent, dropout, g_width, g_depth) -> PlaygroundConfig:
    cfg = s.pg.config
    data = inputs.choice(data, "Data", DATA_CHOICES)
    points = (cfg.data.points if cfg.data.name == "drawn" else None) if data == "drawn" else None
    data_cfg = dataclasses.replace(cfg.data, name=data, n_samples=inputs.whole(n, "Points", 8, 5000), points=points)
    model = dataclasses.replace(
        cfg.model, d_width=inputs.whole(d_width, "D width", 2, 512), d_depth=inputs.whole(d_depth, "D depth", 1, 8),
        g_width=inputs.whole(g_width, "G width", 2, 512), g_depth=inputs.whole(g_depth, "G depth", 1, 8),
        latent_dim=inputs.whole(latent, "Latent dimensions", 1, 2), d_dropout=inputs.number(dropout, "D dropout", 0.0, 0.9))
    return cfg.replace(data=data_cfg, model=model, train=dataclasses.replace(cfg.train, **train))


# --- what the page shows -----------------------------------------------------------------------------------


def view(s) -> tuple:
    """(picture, stats markdown, losses frame, scores frame) of a session now."""
    snap = s.pg.snapshot()
    return (np.asarray(draw(snap, VIEW_PX)), stats(s, snap), *charts(snap.history))


def stats(s, snap) -> str:
    h = snap.history
    parts = [f"**{snap.g_steps}** G steps, {snap.d_steps} D steps · {snap.loss}",
             f"JS divergence between real and fake densities **{snap.js_bits:.3f} bits** (Gaussian KDE, "
             f"bandwidth {s.pg.config.view.kde_bandwidth:g}, on a {s.pg.config.view.div_res}² grid)"]
    if snap.coverage is not None:
        parts.append(f"modes covered **{snap.coverage['covered']} of {snap.coverage['modes']}** "
                     f"({snap.coverage['hq_share']:.0%} of fakes within 3 std of a mode)")
    if len(h.d_real):
        unit = "P(real)" if snap.heat_kind == "probability" else "critic score"
        parts.append(f"D on reals {h.d_real[-1]:.3f}, on fakes {h.d_fake[-1]:.3f} ({unit})")
    if len(h.g_grad_norm):
        parts.append(f"gradient reaching the fakes {h.g_grad_norm[-1]:.2e}")
    if s.error:
        parts.append(f"⚠ {s.error}")
    parts.append("training" if s.running else "paused")
    return " · ".join(parts)


def _thin(x: np.ndarray, *ys: np.ndarray, n: int = 300):
    idx = np.unique(np.linspace(0, len(x) - 1, n).astype(int)) if len(x) > n else np.arange(len(x))
    return x[idx], [y[idx] for y in ys]


def charts(h) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Long-format frames (x="step", y="value", color="series") for the loss and score charts."""
    rows_l, rows_s = [], []
    if len(h.d_at):
        x, (dl, dr, df) = _thin(h.d_at, h.d_loss, h.d_real, h.d_fake)
        rows_l += [("D loss", a, b) for a, b in zip(x, dl)]
        rows_s += [("D on reals", a, b) for a, b in zip(x, dr)] + [("D on fakes", a, b) for a, b in zip(x, df)]
    if len(h.g_step):
        x, (gl,) = _thin(h.g_step, h.g_loss)
        rows_l += [("G loss", a, b) for a, b in zip(x, gl)]
    if len(h.eval_step):
        x, (js,) = _thin(h.eval_step, h.js_bits)
        rows_s += [("JS divergence (bits)", a, b) for a, b in zip(x, js)]

    def frame(rows):
        f = pd.DataFrame(rows, columns=["series", "step", "value"]).astype({"step": float, "value": float})
        return f[np.isfinite(f["value"])]
    return frame(rows_l), frame(rows_s)


# --- handlers ----------------------------------------------------------------------------------------------


@_errors
def open_page(runner: Runner, key):
    """Handler (page load): this page's key (a new one when it has none) and its playground's picture."""
    key = key if valid_key(key) else runner.new_key()
    s = runner.session(key)
    return (key, s.preset, PRESETS[s.preset].watch, *controls_of(s.pg.config), *view(s))


@_errors
def choose_preset(runner: Runner, key, name):
    """Handler: start over from a preset (its config and seed)."""
    s = runner.session(key)
    p = PRESETS[inputs.choice(name, "Preset", list(PRESETS))]
    s.pg.reset(p.config, p.seed)
    s.preset = name
    return (PRESETS[name].watch, *controls_of(p.config), *view(s))


@_errors
def apply_settings(runner: Runner, key, data, n, loss, g_loss, lr_g, lr_d, d_steps, smoothing, gp_lambda, r1_gamma,
                   d_width, d_depth, latent, noise, flip, dropout, beta1, beta2, g_width, g_depth):
    """Handler: training settings apply at once, to the training in progress (and go into its recipe); a
    new data set or network shape starts over, keeping the seed."""
    s = runner.session(key)
    train = _train_changes(loss, g_loss, lr_g, lr_d, d_steps, smoothing, gp_lambda, r1_gamma, noise, flip, beta1, beta2)
    cfg = _config(s, data, n, train, d_width, d_depth, latent, dropout, g_width, g_depth)
    old = s.pg.config
    if (cfg.data, cfg.model) != (old.data, old.model):
        s.pg.reset(cfg)
    else:
        s.pg.configure(**train)
    return view(s)


@_errors
def act(runner: Runner, key, action: str, speed=None):
    """Handler: Play, Pause, Step D, Step G, Step both, Reset."""
    s = runner.session(key)
    if speed is not None:
        s.speed = inputs.whole(speed, "Speed", 1, 50)
    if action == "play":
        runner.play(key)
    elif action == "pause":
        runner.pause(key)
    elif action == "d":
        s.pg.step_d()
    elif action == "g":
        s.pg.step_g()
    elif action == "both":
        s.pg.step(1)
    elif action == "reset":
        runner.pause(key)
        s.pg.reset()
    else:
        raise gr.Error(f"Unknown action {inputs.shown(action)}.")
    return view(s)


def slow_step(runner: Runner, key, pause_s: float = 1.2):
    """Handler (a generator): one iteration in order: before, after D's steps, after G's step."""
    try:
        s = runner.session(key)
    except ValueError as e:
        raise gr.Error(str(e)) from None
    runner.pause(key)
    for i, snap in enumerate(s.pg.slow_step()):
        if i:
            time.sleep(pause_s)
        yield (np.asarray(draw(snap, VIEW_PX)), f"**Slow step: {snap.phase}** · " + stats(s, snap), *charts(snap.history))


def poll(runner: Runner, key, last):
    """Handler (timer): the picture while it trains, nothing while it does not move."""
    try:
        s = runner.session(key)
    except ValueError:
        return (gr.skip(),) * 5
    version = s.version  # read before the view: a step landing meanwhile makes the next poll send it
    if version == last and not s.running:
        return (gr.skip(),) * 5
    return (*view(s), version)


@_errors
def set_speed(runner: Runner, key, speed):
    runner.session(key).speed = inputs.whole(speed, "Speed", 1, 50)


@_errors
def add_point(runner: Runner, key, evt: gr.SelectData = None):
    """Handler: a click on the picture adds a real point there (the data becomes "drawn")."""
    s = runner.session(key)
    if evt is None or not isinstance(evt.index, (list, tuple)) or len(evt.index) != 2:
        return (gr.skip(),) * 5
    x, y = pixel_to_plane(float(evt.index[0]), float(evt.index[1]), VIEW_PX, EXTENT)
    if not (abs(x) <= EXTENT and abs(y) <= EXTENT):
        return (gr.skip(),) * 5
    s.drawn.append([round(x, 4), round(y, 4)])
    if len(s.drawn) < 8:  # too few to train on yet
        return (gr.skip(), f"{len(s.drawn)} point(s) drawn; draw at least 8, then keep clicking to add more.",
                gr.skip(), gr.skip(), gr.skip())
    cfg = s.pg.config
    s.pg.reset(cfg.replace(data=dataclasses.replace(cfg.data, name="drawn", points=list(s.drawn))))
    return (*view(s)[:2], gr.skip(), gr.skip(), "drawn")


@_errors
def clear_points(runner: Runner, key):
    """Handler: forget the drawn points (the current data stays until new ones are drawn)."""
    s = runner.session(key)
    s.drawn = []
    return "Drawn points cleared: click the picture to draw new ones."


@_errors
def upload_points(runner: Runner, key, path):
    """Handler: a CSV of x,y points becomes the real set (rescaled into the plane)."""
    s = runner.session(key)
    if not path:
        return (gr.skip(),) * 5
    with open(path, "rb") as f:
        text = f.read(1_000_000)
    pts = parse_csv(text, rescale=True)
    cfg = s.pg.config
    s.pg.reset(cfg.replace(data=dataclasses.replace(cfg.data, name="drawn", points=pts.tolist())))
    return (*view(s)[:2], gr.skip(), gr.skip(), "drawn")


@_errors
def save_recipe(runner: Runner, key, export_path) -> str:
    """Handler: the current view as a PNG that carries its recipe (config, seed, every step taken)."""
    s = runner.session(key)
    path = export_path(f"playground-{s.pg.g_steps}.png")
    precipe.save_png(path, s.pg, VIEW_PX)
    return str(path)


@_errors
def load_recipe(runner: Runner, key, path, progress=None):
    """Handler: replay a saved PNG or JSON recipe to the identical state, paused."""
    s = runner.session(key)
    if not path:
        raise gr.Error("Choose a playground PNG or JSON recipe first.")
    runner.pause(key)
    s.pg = precipe.load(path, progress=(lambda i, n: progress(i / max(n, 1))) if progress else None)
    return (*controls_of(s.pg.config), *view(s))

