"""The StyleGAN tab's handlers: per-layer style mixing of two seeds, truncation, per-layer noise,
stochastic variation and the style-mixing matrix (Karras et al. 2019, Figs. 3-4), and the tab's image
recipe. Each takes the services and the values of the controls (Controls), and returns updates; the
layout and the events that call them are in stylegan_tab.py."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field, replace

import gradio as gr

from .. import images, limits
from ..edit.latents import MAX_SEED
from ..edit.mixing import PRESET_RANGES, PRESETS, preset_weights
from ..render import RenderError, display_factor, enlarge
from ..render.sources import describe as describe_source
from ..render.style import MAX_MATRIX_SEEDS, StyleModel, StyleRequest
from ..weights import ModelEntry
from . import class_ui, image_recipe_ui, inputs, latent_ui
from .common import live_picture, pick_entry, refresh_models, squeeze, user_errors
from .services import Services

MAX_WS = limits.STYLE_INPUTS       # style inputs of a 1024x1024 model: two per resolution from 4 to 1024
MAX_LAYERS = limits.NOISE_LAYERS   # synthesis layers (noise inputs) of a 1024x1024 StyleGAN; StyleGAN2 has 17
VARIATION_TILE_PX = 128
NOISE_MODES = ("const", "random", "none")
CAPABILITY = "mixing"  # the models this tab lists: those with per-layer styles
NO_NOISE = ("**This model has no per-pixel noise inputs** (StyleGAN3 draws its detail from the Fourier input "
            "instead), so there are no noise controls to move; the stochastic variation below stays dark.")


@dataclass
class Controls:
    """The values of every control a render reads, in the order the events send them. Lists may be
    longer than the model needs (the tab sends MAX_WS / MAX_LAYERS values); missing mix weights are
    0 and missing strengths 1."""

    model: str | None
    seed_a: float | None = 0
    seed_b: float | None = 1
    mix: list = field(default_factory=list)
    psi: float = 1.0
    cutoff: float | None = None          # None or >= num_ws: every style input
    noise_mode: str = "const"
    noise_seed: float | None = 0
    strengths: list = field(default_factory=list)
    latent_a: str | None = latent_ui.SEED  # "seed": seed_a is used; "@key": a projected image instead
    latent_b: str | None = latent_ui.SEED
    translate_x: float = 0.0               # StyleGAN3's input transform: image widths, image widths, degrees
    translate_y: float = 0.0
    rotate: float = 0.0
    class_a: int | None = None             # a conditional model's class for A and for B (None: class 0)
    class_b: int | None = None

    @classmethod
    def from_args(cls, args) -> "Controls":
        m, a, b, *rest = args
        mix, (psi, cutoff, mode, nseed) = rest[:MAX_WS], rest[MAX_WS:MAX_WS + 4]
        strengths, tail = rest[MAX_WS + 4:MAX_WS + 4 + MAX_LAYERS], rest[MAX_WS + 4 + MAX_LAYERS:]
        return cls(m, a, b, list(mix), psi, cutoff, mode, nseed, list(strengths), *tail[:7])


def stylegan_models(services: Services) -> list[ModelEntry]:
    return services.models_with(CAPABILITY)


def _entry(services: Services, model_name: str | None) -> ModelEntry:
    return pick_entry(services, model_name, CAPABILITY, "StyleGAN", "has no per-layer styles")


@user_errors(RenderError)
def _describe(services: Services, entry: ModelEntry) -> StyleModel:
    return services.style.describe(entry.path)


_whole = inputs.whole


def _request(services: Services, c: Controls) -> tuple[ModelEntry, StyleModel, StyleRequest]:
    entry = _entry(services, c.model)
    sm = _describe(services, entry)
    inputs.choice(c.noise_mode, "Noise mode", NOISE_MODES)
    mix = [inputs.within(t, "A mix weight", limits.MIX) for t in c.mix[:sm.num_ws]]
    mix += [0.0] * max(0, sm.num_ws - len(c.mix))
    strengths = [inputs.within(s, "A noise strength", limits.NOISE_STRENGTH) for s in c.strengths[:sm.num_layers]]
    strengths += [1.0] * max(0, sm.num_layers - len(c.strengths))
    psi = inputs.within(c.psi, "Truncation ψ", limits.STYLE_PSI)
    cutoff = None if c.cutoff is None else min(inputs.whole_within(c.cutoff, "Truncation cutoff", limits.CUTOFF),
                                               sm.num_ws)
    req = StyleRequest(entry.path, latent_ui.source(c.seed_a, c.latent_a, "Seed A"),
                       latent_ui.source(c.seed_b, c.latent_b, "Seed B"),
                       tuple(mix), psi, None if cutoff == sm.num_ws else cutoff, c.noise_mode,
                       _whole(c.noise_seed, "Noise seed", 0, MAX_SEED), tuple(strengths),
                       (inputs.within(c.translate_x, "Translate x", limits.TRANSLATE),
                        inputs.within(c.translate_y, "Translate y", limits.TRANSLATE)),
                       inputs.within(c.rotate, "Rotate", limits.ROTATE),
                       class_ui.value(services, entry, c.class_a, "Class A"),
                       class_ui.value(services, entry, c.class_b, "Class B"))
    if not sm.transform:  # only StyleGAN3 moves its input; the sliders are hidden for the others
        req = replace(req, translate=(0.0, 0.0), rotate=0.0)
    return entry, sm, req


def _runs(im, num_layers: int) -> str:
    if im.cached:
        return "cached"
    if im.layers_run == 0:
        return "last toRGB only"
    if im.layers_run == num_layers:
        return f"all {num_layers} layers"
    return f"layers {im.first_layer + 1}–{num_layers} of {num_layers}"


def render(services: Services, c: Controls):
    """Handler: (seed A's picture, the mix, seed B's picture, info markdown with each render's time)."""
    _, sm, req = _request(services, c)
    with user_errors(RenderError):
        out = services.style.render(req)
    times = " · ".join(f"{label}: {out[k].ms:.1f} ms ({_runs(out[k], sm.num_layers)})"
                       for k, label in (("a", f"**A** ({describe_source(req.seed_a)})"), ("mix", "**mix**"),
                                        ("b", f"**B** ({describe_source(req.seed_b)})")))
    moved = f" · input moved ({req.translate[0]:g}, {req.translate[1]:g}), {req.rotate:g}°" \
        if sm.transform and (any(req.translate) or req.rotate) else ""
    info = f"{sm.name}, {sm.res}×{sm.res} px, shown enlarged (nearest){moved} · {times}"
    return live_picture(out["a"].picture), live_picture(out["mix"].picture), live_picture(out["b"].picture), info


def select_model(services: Services, model_name: str | None, latent_a=latent_ui.SEED, latent_b=latent_ui.SEED,
                 class_a=None, class_b=None) -> list:
    """Handler: updates for the MAX_WS mix sliders, MAX_LAYERS strength sliders, the cutoff slider, the
    preset buttons (shown and labelled for this model's style inputs and layers), the A and B pickers
    (this model's projected images; the ones given are kept while listed), the StyleGAN3 transform sliders,
    the no-noise note, and the A and B class pickers (a conditional model's classes; the ones given kept)."""
    entry = _entry(services, model_name)
    sm = _describe(services, entry)
    mix = [gr.update(visible=i < sm.num_ws, label=f"w{i} · {sm.ws_resolutions[i]}×{sm.ws_resolutions[i]}"
                     if i < sm.num_ws else None) for i in range(MAX_WS)]
    noise = [gr.update(visible=sm.noise and i < sm.num_layers, label=f"layer {i + 1} · {sm.noise_resolutions[i]}×"
                       f"{sm.noise_resolutions[i]}" if i < sm.num_layers else None) for i in range(MAX_LAYERS)]
    # The slider keeps its whole range (0..MAX_WS), values past num_ws meaning every input: a maximum cut to
    # this model's num_ws would refuse, before any handler runs, the events the page sent with the last
    # model's value (a picker fires its input twice; a drag started while the model opens).
    cutoff = gr.update(value=sm.num_ws, info=f"truncate the first N of this model's {sm.num_ws} style inputs "
                       f"({sm.num_ws} and up: all)")
    presets = [gr.update(interactive=any(preset_weights(p, list(sm.ws_resolutions))) or p == "None")
               for p in PRESETS]
    shifts = [gr.update(visible=sm.transform) for _ in range(3)]
    note = gr.update(value=NO_NOISE if not sm.noise else "", visible=not sm.noise)
    return [*mix, *noise, cutoff, *presets, *latent_ui.updates(entry, latent_a, latent_b), *shifts, note,
            *class_ui.updates(entry, class_a, class_b)]


def apply_preset(services: Services, preset: str, c: Controls):
    """Handler: the mix sliders set to a preset for this model, and the render with them."""
    inputs.choice(preset, "Preset", PRESETS)
    sm = _describe(services, _entry(services, c.model))
    weights = preset_weights(preset, list(sm.ws_resolutions))
    if preset in PRESET_RANGES and not any(weights):
        lo, hi = PRESET_RANGES[preset]
        span = f"{lo} px and up" if hi > 1024 else f"{lo}–{hi} px"
        raise gr.Error(f"This {sm.res}×{sm.res} model has no {preset.lower()} style inputs ({span}); "
                       "pick another preset.")
    c.mix = weights + list(c.mix[len(weights):])
    return [*(gr.update(value=w) for w in weights + [0.0] * (MAX_WS - len(weights))), *render(services, c)]


def random_seed(services: Services, which: str, c: Controls):
    """Handler: a new random seed for A or B (its picker back on the seed), and the render with it."""
    seed = random.randrange(0, 100_000)
    if which == "a":
        c.seed_a, c.latent_a = seed, latent_ui.SEED
    else:
        c.seed_b, c.latent_b = seed, latent_ui.SEED
    return (seed, latent_ui.SEED, *render(services, c))


def variation(services: Services, c: Controls, k):
    """Handler: (K renders of the mix with different random noise, the per-pixel std heat map, info)."""
    _, sm, req = _request(services, c)
    k = inputs.whole_within(k, "Number of renders", limits.VARIATION_RENDERS)
    off = req.noise_mode == "none"
    req = replace(req, noise_mode="none" if off else "random")
    with user_errors(RenderError):
        v = services.style.variation(req, k)
    cols = min(k, 4)
    strip = images.make_grid(enlarge(v.pictures, display_factor(sm.res, VARIATION_TILE_PX)), cols=cols)
    heat = enlarge(v.heat[None], display_factor(sm.res))[0]
    if off:
        what = "Noise is off (mode none), so every render is the same and the map is dark; pick const or random."
    else:
        what = (f"Random noise, seeds {req.noise_seed}–{req.noise_seed + k - 1}, at the strengths set above. "
                f"Brightest = a standard deviation of {float(v.std.max()):.1f} pixel levels.")
    info = f"{k} renders in {v.ms:.0f} ms ({v.ms / k:.1f} ms each) · {what}"
    return squeeze(strip), heat, info


def matrix(services: Services, c: Controls, rows_text: str, cols_text: str, preset: str):
    """Handler: (path, path, info) of the style-mixing matrix PNG (shown and downloadable, with its recipe)."""
    entry, sm, req = _request(services, c)
    inputs.choice(preset, "Preset", PRESETS)
    rows = inputs.sources(rows_text, "A seeds (rows)", MAX_MATRIX_SEEDS)
    cols = inputs.sources(cols_text, "B seeds (columns)", MAX_MATRIX_SEEDS)
    weights = preset_weights(preset, list(sm.ws_resolutions))
    req = replace(req, mix=tuple(weights))
    with user_errors(RenderError):
        t0 = time.perf_counter()
        m = services.style.matrix(req, rows, cols)
        ms = (time.perf_counter() - t0) * 1000
    used = {x: latent_ui.store.load(entry.path, x).sha256 for x in rows + cols if isinstance(x, str)}
    recipe = {"kind": "style-mixing-matrix", "model": entry.name, "rows_seed_a": rows, "cols_seed_b": cols,
              "latents": used, **({} if req.class_a is None else {"class_a": req.class_a, "class_b": req.class_b}),
              "preset": preset, "mix": weights, "truncation_psi": req.truncation_psi,
              "truncation_cutoff": req.truncation_cutoff, "noise_mode": req.noise_mode, "noise_seed": req.noise_seed,
              "noise_strength": list(req.noise_strength)}
    path = images.save_png(services.export_path(f"style-matrix-{entry.name}-{preset.lower()}.png"), m.picture, recipe)
    n = len(rows) * len(cols) + len(rows) + len(cols)
    info = (f"{preset} styles from each column's B seed into each row's A seed · {n} renders in {ms:.0f} ms "
            f"({ms / n:.1f} ms each)")
    return str(path), str(path), info


def refresh(services: Services, current: str | None):
    """Handler: the rescanned StyleGAN model list (keeping the current choice) and the empty-state hint."""
    return refresh_models(services, current, CAPABILITY)


# --- the image recipe ------------------------------------------------------------------------------


def build_recipe(services: Services, c: Controls):
    entry, _, req = _request(services, c)
    picture = render(services, c)[1]
    return image_recipe_ui.new_recipe(services, entry, "stylegan", [req.seed_a, req.seed_b],
                                      truncation_psi=req.truncation_psi, truncation_cutoff=req.truncation_cutoff,
                                      mix=list(req.mix), noise_mode=req.noise_mode, noise_seed=req.noise_seed,
                                      noise_strength=list(req.noise_strength),
                                      extra={"translate": list(req.translate), "rotate": req.rotate}
                                      if any(req.translate) or req.rotate else {},
                                      classes=None if req.class_a is None else [req.class_a, req.class_b]), picture


def restore_recipe(services: Services, r, entry: ModelEntry):
    """Updates for [model, seed A, seed B, ψ, noise mode, noise seed, *select_model's updates, A, mix, B, info]."""
    image_recipe_ui.check_psi(r, limits.STYLE_PSI)
    sm = _describe(services, entry)
    if len(r.seeds) != 2:
        raise gr.Error("A StyleGAN recipe has two seeds: A and B.")
    mix = r.mix if r.mix is not None else [0.0] * sm.num_ws
    strengths = r.noise_strength if r.noise_strength is not None else [1.0] * sm.num_layers
    if len(mix) != sm.num_ws or len(strengths) != sm.num_layers:
        raise gr.Error(f"The recipe's mix weights or noise strengths do not fit this model's {sm.num_ws} style "
                       f"inputs and {sm.num_layers} layers.")
    cutoff = sm.num_ws if r.truncation_cutoff is None else r.truncation_cutoff
    if cutoff > sm.num_ws:
        raise gr.Error(f"The recipe's truncation cutoff {cutoff} is beyond this model's {sm.num_ws} style inputs.")
    a, b = r.seeds
    class_a, class_b = class_ui.recipe_class(services, r, entry, 0), class_ui.recipe_class(services, r, entry, 1)
    ups = select_model(services, entry.name, latent_ui.split(a)[1], latent_ui.split(b)[1], class_a, class_b)
    for i, v in enumerate(mix + [0.0] * (MAX_WS - sm.num_ws)):
        ups[i]["value"] = v
    for i, v in enumerate(strengths + [1.0] * (MAX_LAYERS - sm.num_layers)):
        ups[MAX_WS + i]["value"] = v
    ups[MAX_WS + MAX_LAYERS]["value"] = cutoff
    (seed_a, latent_a), (seed_b, latent_b) = latent_ui.split(a), latent_ui.split(b)
    tx, ty = r.extra.get("translate", [0.0, 0.0]) if isinstance(r.extra.get("translate"), list) else [0.0, 0.0]
    rot = r.extra.get("rotate", 0.0)
    c = Controls(entry.name, seed_a or 0, seed_b or 0, mix, r.truncation_psi, cutoff, r.noise_mode, r.noise_seed,
                 strengths, latent_a, latent_b, tx, ty, rot, class_a, class_b)
    for i, v in enumerate((tx, ty, rot)):
        ups[-6 + i]["value"] = v  # the transform sliders, before the noise note and the two class pickers
    return (entry.name, gr.skip() if seed_a is None else seed_a, gr.skip() if seed_b is None else seed_b,
            r.truncation_psi, r.noise_mode, r.noise_seed, *ups, *render(services, c))
