"""The StyleGAN tab: per-layer style mixing of two seeds, truncation, per-layer noise, stochastic
variation and the style-mixing matrix (Karras et al. 2019, Figs. 3-4). Only models with per-layer
styles are listed. Sliders exist for the largest model (18 style inputs at 1024x1024) and are shown,
labelled and hidden per model."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field, replace

import gradio as gr
import numpy as np

from .. import images
from ..edit.latents import MAX_SEED
from ..edit.mixing import PRESET_RANGES, PRESETS, preset_weights
from ..render import LIVE_PX, RenderError, display_factor, enlarge
from ..render.style import MAX_MATRIX_SEEDS, MAX_STRENGTH, MAX_VARIATIONS, StyleModel, StyleRequest
from ..weights import ModelEntry
from . import LIVE, inputs, recipe_ui
from .services import Services
from .shown import Shown

MAX_WS = 18       # style inputs of a 1024x1024 model: two per resolution from 4 to 1024
MAX_LAYERS = 18   # synthesis layers (noise inputs) of a 1024x1024 StyleGAN; StyleGAN2 has 17
VARIATION_TILE_PX = 128
NOISE_MODES = ("const", "random", "none")
TRAIN_COMMAND = ("python -m explorer.train --recipe stylegan2 --data faces --res 32 --kimg 200 "
                 "--out runs/stylegan2-faces")
EMPTY_TEXT = (
    "**No StyleGAN model found yet.** This tab needs a model with per-layer styles. Train a small one from "
    f"a terminal (a few minutes on a CPU):\n\n`{TRAIN_COMMAND}`\n\n"
    "(`--recipe stylegan` trains the original AdaIN variant), then press **Refresh list**: every run's newest "
    "snapshot in `runs/` appears here."
)
INTRO = ("Each slider blends one **style input** (one entry of *w*) from seed A (0) to seed B (1). Styles at "
         "**coarse** resolutions (4–8 px) set layout and shape, **middle** ones (16–32 px) parts, **fine** ones "
         "(64 px and up) colour and texture. Per-layer **noise** adds the stochastic detail.")


# --- handlers ----------------------------------------------------------------------------------


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

    @classmethod
    def from_args(cls, args) -> "Controls":
        m, a, b, *rest = args
        mix, (psi, cutoff, mode, nseed), strengths = rest[:MAX_WS], rest[MAX_WS:MAX_WS + 4], rest[MAX_WS + 4:]
        return cls(m, a, b, list(mix), psi, cutoff, mode, nseed, list(strengths))


def stylegan_models(services: Services) -> list[ModelEntry]:
    return services.models_with("mixing")


def _entry(services: Services, model_name: str | None) -> ModelEntry:
    try:
        return services.pick_model(inputs.name(model_name, "Model"), "mixing", "StyleGAN", "has no per-layer styles")
    except LookupError as e:
        raise gr.Error(str(e)) from None


def _describe(services: Services, entry: ModelEntry) -> StyleModel:
    try:
        return services.style.describe(entry.path)
    except RenderError as e:
        raise gr.Error(str(e)) from None


_whole = inputs.whole


def _request(services: Services, c: Controls) -> tuple[ModelEntry, StyleModel, StyleRequest]:
    entry = _entry(services, c.model)
    sm = _describe(services, entry)
    inputs.choice(c.noise_mode, "Noise mode", NOISE_MODES)
    mix = [inputs.number(t, "A mix weight", 0.0, 1.0) for t in c.mix[:sm.num_ws]]
    mix += [0.0] * max(0, sm.num_ws - len(c.mix))
    strengths = [inputs.number(s, "A noise strength", 0.0, MAX_STRENGTH) for s in c.strengths[:sm.num_layers]]
    strengths += [1.0] * max(0, sm.num_layers - len(c.strengths))
    psi = inputs.number(c.psi, "Truncation ψ", -1.0, 1.5)
    cutoff = None if c.cutoff is None else min(_whole(c.cutoff, "Truncation cutoff", 0, MAX_WS), sm.num_ws)
    req = StyleRequest(entry.path, _whole(c.seed_a, "Seed A", 0, MAX_SEED), _whole(c.seed_b, "Seed B", 0, MAX_SEED),
                       tuple(mix), psi, None if cutoff == sm.num_ws else cutoff, c.noise_mode,
                       _whole(c.noise_seed, "Noise seed", 0, MAX_SEED), tuple(strengths))
    return entry, sm, req


def _show(picture: np.ndarray, px: int = LIVE_PX) -> np.ndarray:
    """uint8 [r, r, C] enlarged (nearest) to about px pixels; grayscale as [H, W]."""
    big = enlarge(picture[None], display_factor(picture.shape[0], px))[0]
    return big[:, :, 0] if big.shape[2] == 1 else big


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
    try:
        out = services.style.render(req)
    except RenderError as e:
        raise gr.Error(str(e)) from None
    times = " · ".join(f"{label}: {out[k].ms:.1f} ms ({_runs(out[k], sm.num_layers)})"
                       for k, label in (("a", f"**A** (seed {req.seed_a})"), ("mix", "**mix**"),
                                        ("b", f"**B** (seed {req.seed_b})")))
    info = f"{sm.name}, {sm.res}×{sm.res} px, shown enlarged (nearest) · {times}"
    return _show(out["a"].picture), _show(out["mix"].picture), _show(out["b"].picture), info


def select_model(services: Services, model_name: str | None) -> list:
    """Handler: updates for the MAX_WS mix sliders, MAX_LAYERS strength sliders, the cutoff slider and
    the preset buttons: shown and labelled for this model's style inputs and layers."""
    sm = _describe(services, _entry(services, model_name))
    mix = [gr.update(visible=i < sm.num_ws, label=f"w{i} · {sm.ws_resolutions[i]}×{sm.ws_resolutions[i]}"
                     if i < sm.num_ws else None) for i in range(MAX_WS)]
    noise = [gr.update(visible=i < sm.num_layers, label=f"layer {i + 1} · {sm.noise_resolutions[i]}×"
                       f"{sm.noise_resolutions[i]}" if i < sm.num_layers else None) for i in range(MAX_LAYERS)]
    cutoff = gr.update(maximum=sm.num_ws, value=sm.num_ws, info=f"truncate the first N of {sm.num_ws} style inputs")
    presets = [gr.update(interactive=any(preset_weights(p, list(sm.ws_resolutions))) or p == "None")
               for p in PRESETS]
    return [*mix, *noise, cutoff, *presets]


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
    """Handler: a new random seed for A or B, and the render with it."""
    seed = random.randrange(0, 100_000)
    if which == "a":
        c.seed_a = seed
    else:
        c.seed_b = seed
    return (seed, *render(services, c))


def variation(services: Services, c: Controls, k):
    """Handler: (K renders of the mix with different random noise, the per-pixel std heat map, info)."""
    _, sm, req = _request(services, c)
    k = _whole(k, "Number of renders", 2, MAX_VARIATIONS)
    off = req.noise_mode == "none"
    req = replace(req, noise_mode="none" if off else "random")
    try:
        v = services.style.variation(req, k)
    except RenderError as e:
        raise gr.Error(str(e)) from None
    cols = min(k, 4)
    strip = images.make_grid(enlarge(v.pictures, display_factor(sm.res, VARIATION_TILE_PX)), cols=cols)
    heat = enlarge(v.heat[None], display_factor(sm.res))[0]
    if off:
        what = "Noise is off (mode none), so every render is the same and the map is dark; pick const or random."
    else:
        what = (f"Random noise, seeds {req.noise_seed}–{req.noise_seed + k - 1}, at the strengths set above. "
                f"Brightest = a standard deviation of {float(v.std.max()):.1f} pixel levels.")
    info = f"{k} renders in {v.ms:.0f} ms ({v.ms / k:.1f} ms each) · {what}"
    return (strip[:, :, 0] if strip.shape[2] == 1 else strip), heat, info


def matrix(services: Services, c: Controls, rows_text: str, cols_text: str, preset: str):
    """Handler: (path, path, info) of the style-mixing matrix PNG (shown and downloadable, with its recipe)."""
    entry, sm, req = _request(services, c)
    inputs.choice(preset, "Preset", PRESETS)
    rows = inputs.seeds(rows_text, "A seeds (rows)", MAX_MATRIX_SEEDS)
    cols = inputs.seeds(cols_text, "B seeds (columns)", MAX_MATRIX_SEEDS)
    weights = preset_weights(preset, list(sm.ws_resolutions))
    req = replace(req, mix=tuple(weights))
    try:
        t0 = time.perf_counter()
        m = services.style.matrix(req, rows, cols)
        ms = (time.perf_counter() - t0) * 1000
    except RenderError as e:
        raise gr.Error(str(e)) from None
    recipe = {"kind": "style-mixing-matrix", "model": entry.name, "rows_seed_a": rows, "cols_seed_b": cols,
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
    names = [m.name for m in stylegan_models(services)]
    value = current if current in names else (names[0] if names else None)
    return gr.update(choices=names, value=value), gr.update(visible=not names)


# --- layout and wiring ---------------------------------------------------------------------------


def create_stylegan_tab(services: Services) -> dict:
    names = [m.name for m in stylegan_models(services)]
    with gr.Tab("StyleGAN", id="stylegan"):
        # What A, the mix and B show in this session: a drag sends only what changed.
        # (Made inside the tab: a State placed among gr.Tabs' children shows as a second tab button.)
        seen = Shown(3)
        gr.Markdown(INTRO)
        empty = gr.Markdown(EMPTY_TEXT, visible=not names, elem_id="sg-empty")
        with gr.Row():
            model = gr.Dropdown(names, value=names[0] if names else None, label="StyleGAN model", scale=4,
                                allow_custom_value=True, elem_id="sg-model")
            refresh_btn = gr.Button("Refresh list", size="sm", scale=1, min_width=120, elem_id="sg-refresh")
        with gr.Row():
            seed_a = gr.Number(0, label="Seed A", precision=0, minimum=0, maximum=MAX_SEED, elem_id="sg-seed-a")
            rand_a = gr.Button("Random A", size="sm", scale=0, min_width=110, elem_id="sg-random-a")
            seed_b = gr.Number(1, label="Seed B", precision=0, minimum=0, maximum=MAX_SEED, elem_id="sg-seed-b")
            rand_b = gr.Button("Random B", size="sm", scale=0, min_width=110, elem_id="sg-random-b")
        with gr.Row():
            img_a = gr.Image(label="Seed A", type="numpy", format="png", interactive=False, height=256,
                             elem_id="sg-a")
            img_mix = gr.Image(label="Mix", type="numpy", format="png", interactive=False, height=256,
                               elem_id="sg-mix")
            img_b = gr.Image(label="Seed B", type="numpy", format="png", interactive=False, height=256,
                             elem_id="sg-b")
        info = gr.Markdown(elem_id="sg-info")
        rec = recipe_ui.recipe_row("sg")
        gr.Markdown("### Style mixing\nPresets take B's styles at coarse (4–8 px), middle (16–32 px) or fine "
                    "(64 px and up) resolutions, computed from this model's own layers.")
        with gr.Row():
            preset_btns = [gr.Button(p, size="sm", min_width=80, elem_id=f"sg-preset-{p.lower()}") for p in PRESETS]
            preset_name = gr.Dropdown(list(PRESETS), value=PRESETS[0], visible=False, elem_id="sg-preset-name")
        with gr.Row(elem_id="sg-mix-sliders"):
            mix = [gr.Slider(0.0, 1.0, value=0.0, step=0.01, label=f"w{i}", min_width=180, visible=False,
                             elem_id=f"sg-w{i}") for i in range(MAX_WS)]
        with gr.Row():
            psi = gr.Slider(-1.0, 1.5, value=1.0, step=0.05, label="Truncation ψ",
                            info="1 = none, 0 = the average w, below 0 = the opposite of each seed", elem_id="sg-psi")
            cutoff = gr.Slider(0, MAX_WS, value=MAX_WS, step=1, label="Truncation cutoff",
                               info="truncate the first N style inputs", elem_id="sg-cutoff")
        with gr.Accordion("Noise", open=False):
            with gr.Row():
                noise_mode = gr.Radio(list(NOISE_MODES), value="const", label="Noise mode",
                                      info="const: the stored maps · random: drawn from the noise seed · none: off",
                                      elem_id="sg-noise-mode")
                noise_seed = gr.Number(0, label="Noise seed", precision=0, minimum=0, maximum=MAX_SEED,
                                       info="used in random mode", elem_id="sg-noise-seed")
            with gr.Row(elem_id="sg-noise-sliders"):
                strengths = [gr.Slider(0.0, MAX_STRENGTH, value=1.0, step=0.05, label=f"layer {i + 1}",
                                       min_width=200, visible=False, elem_id=f"sg-noise{i}") for i in range(MAX_LAYERS)]
        gr.Markdown("### Stochastic variation\nThe mix rendered with different random noise, and each pixel's "
                    "standard deviation across the renders (bright = the noise changes it).")
        with gr.Row():
            k = gr.Slider(2, MAX_VARIATIONS, value=8, step=1, label="Renders", elem_id="sg-k")
            var_btn = gr.Button("Render variation", min_width=160, elem_id="sg-var-button")
        with gr.Row():
            var_img = gr.Image(label="Renders", type="numpy", format="png", interactive=False, height=280,
                               elem_id="sg-var")
            heat_img = gr.Image(label="Standard deviation", type="numpy", format="png", interactive=False,
                                height=280, elem_id="sg-heat")
        var_info = gr.Markdown(elem_id="sg-var-info")
        gr.Markdown("### Style-mixing matrix\nRows: A seeds; columns: B seeds; each cell takes B's styles at the "
                    "preset's layers. The PNG carries its recipe.")
        with gr.Row():
            rows = gr.Textbox("0-3", label="A seeds (rows)", max_lines=1, elem_id="sg-rows")
            cols = gr.Textbox("10-13", label="B seeds (columns)", max_lines=1, elem_id="sg-cols")
            mpreset = gr.Dropdown(list(PRESETS), value="Coarse", label="Preset", elem_id="sg-matrix-preset")
            matrix_btn = gr.Button("Render matrix", min_width=140, elem_id="sg-matrix-button")
            download = gr.DownloadButton("Download PNG", min_width=140, elem_id="sg-matrix-file")
        matrix_img = gr.Image(label="Style-mixing matrix", type="filepath", interactive=False, height=480,
                              elem_id="sg-matrix")
        matrix_info = gr.Markdown(elem_id="sg-matrix-info")

    inputs = [model, seed_a, seed_b, *mix, psi, cutoff, noise_mode, noise_seed, *strengths]
    drawn = [  # what a render draws: the pictures, then their info
        img_a, img_mix, img_b, info]
    shown = [*drawn, seen.state]
    layout = [*mix, *strengths, cutoff, *preset_btns]

    @seen.skipping
    def _render(*args):
        return render(services, Controls.from_args(args))

    @seen.recording
    def _preset(name, *args):
        return apply_preset(services, name, Controls.from_args(args))

    @seen.recording
    def _random_a(*args):
        return random_seed(services, "a", Controls.from_args(args))

    @seen.recording
    def _random_b(*args):
        return random_seed(services, "b", Controls.from_args(args))

    def _variation(*args):
        return variation(services, Controls.from_args(args[:-1]), args[-1])

    def _matrix(*args):
        return matrix(services, Controls.from_args(args[:-3]), *args[-3:])

    def _open(*args):
        """Lay the sliders out for the model and draw it; nothing when there is no model."""
        c = Controls.from_args(args)
        if not c.model:
            return (gr.skip(),) * (len(layout) + len(drawn))
        updates = select_model(services, c.model)
        c.cutoff = None
        return (*updates, *render(services, c))

    @seen.recording
    def _refresh_open(*args):
        model_upd, empty_upd = refresh(services, args[0])
        return (model_upd, empty_upd, *_open(model_upd["value"], *args[1:]))

    live = LIVE
    gr.on([*(s.input for s in mix + strengths), psi.input, cutoff.input, noise_mode.input, seed_a.submit,
           seed_a.blur, seed_b.submit, seed_b.blur, noise_seed.submit, noise_seed.blur],
          _render, [*inputs, seen.state], shown, api_name="style_render", **live)
    # Each button applies its own preset. The public endpoint (the first button's) takes the preset's name as
    # an input, hidden on the page where it stays PRESETS[0], so that an API client can name any preset.
    preset_btns[0].click(_preset, [preset_name, *inputs], [*mix, *shown], api_name="style_preset", **live)
    for i, b in enumerate(preset_btns[1:], 1):
        b.click(lambda *args, p=PRESETS[i]: _preset(p, *args), inputs, [*mix, *shown], api_name=f"style_preset_{i}",
                api_visibility="private", **live)
    rand_a.click(_random_a, inputs, [seed_a, *shown], api_name="style_random_a", **live)
    rand_b.click(_random_b, inputs, [seed_b, *shown], api_name="style_random_b", **live)
    gr.on([var_btn.click, k.input], _variation, [*inputs, k], [var_img, heat_img, var_info],
          api_name="style_variation", **live)
    gr.on([matrix_btn.click, rows.submit, cols.submit, mpreset.input], _matrix, [*inputs, rows, cols, mpreset],
          [matrix_img, download, matrix_info], api_name="style_matrix", concurrency_limit=2,
          trigger_mode="always_last")
    model.input(seen.recording(_open), inputs, [*layout, *shown], api_name="style_select", concurrency_limit=2,
                trigger_mode="always_last")
    refresh_btn.click(_refresh_open, inputs, [model, empty, *layout, *shown], api_name="style_refresh",
                      concurrency_limit=2)
    recipe_ui.wire_stylegan(rec, services, inputs, layout, shown, record=seen.recording)
    return {"model": model, "seed_a": seed_a, "seed_b": seed_b, "random_a": rand_a, "random_b": rand_b,
            "mix": mix, "presets": preset_btns, "psi": psi, "cutoff": cutoff, "noise_mode": noise_mode,
            "noise_seed": noise_seed, "strengths": strengths, "image_a": img_a, "image_mix": img_mix,
            "image_b": img_b, "info": info, "empty": empty, "refresh": refresh_btn, "k": k, "variation_button": var_btn,
            "variation": var_img, "heat": heat_img, "variation_info": var_info, "rows": rows, "cols": cols,
            "matrix_preset": mpreset, "matrix_button": matrix_btn, "matrix": matrix_img, "download": download,
            "matrix_info": matrix_info, "inputs": inputs, "open_outputs": [*layout, *shown],
            "refresh_open_fn": _refresh_open, "recipe": rec}
