"""The StyleGAN tab: per-layer style mixing of two seeds, truncation, per-layer noise, stochastic
variation and the style-mixing matrix (Karras et al. 2019, Figs. 3-4). Only models with per-layer
styles are listed. Sliders exist for the largest model (18 style inputs at 1024x1024) and are shown,
labelled and hidden per model. This module is the layout and the wiring; the handlers are in
stylegan_handlers.py."""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from .. import limits
from ..edit.latents import MAX_SEED
from ..edit.mixing import PRESETS
from . import LIVE, class_ui, image_recipe_ui, latent_ui
from .common import TabHandle, image_output, slider
from .services import Services
from .shown import Shown
from .stylegan_handlers import (CAPABILITY, MAX_LAYERS, MAX_WS, NOISE_MODES, Controls, apply_preset, build_recipe,
                                matrix, random_seed, refresh, render, restore_recipe, select_model, stylegan_models,
                                variation)

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


def _layout(services: Services) -> SimpleNamespace:
    """The components, in page order."""
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
            latent_a = latent_ui.picker("A from", "sg-latent-a")
            latent_b = latent_ui.picker("B from", "sg-latent-b")
        with gr.Row():
            class_a = class_ui.picker("sg-class-a", "Class A")
            class_b = class_ui.picker("sg-class-b", "Class B")
        with gr.Row():
            img_a = image_output("Seed A", 256, "sg-a")
            img_mix = image_output("Mix", 256, "sg-mix")
            img_b = image_output("Seed B", 256, "sg-b")
        info = gr.Markdown(elem_id="sg-info")
        rec = image_recipe_ui.recipe_row("sg")
        gr.Markdown("### Style mixing\nPresets take B's styles at coarse (4–8 px), middle (16–32 px) or fine "
                    "(64 px and up) resolutions, computed from this model's own layers.")
        with gr.Row():
            preset_btns = [gr.Button(p, size="sm", min_width=80, elem_id=f"sg-preset-{p.lower()}") for p in PRESETS]
            preset_name = gr.Dropdown(list(PRESETS), value=PRESETS[0], visible=False, elem_id="sg-preset-name")
        with gr.Row(elem_id="sg-mix-sliders"):
            mix = [slider(limits.MIX, 0.0, label=f"w{i}", min_width=180, visible=False, elem_id=f"sg-w{i}")
                   for i in range(MAX_WS)]
        with gr.Row():
            psi = slider(limits.STYLE_PSI, 1.0, label="Truncation ψ",
                         info="1 = none, 0 = the average w, below 0 = the opposite of each seed", elem_id="sg-psi")
            cutoff = slider(limits.CUTOFF, MAX_WS, label="Truncation cutoff", info="truncate the first N style inputs",
                            elem_id="sg-cutoff")
        with gr.Row():
            # StyleGAN3 only (shown per model): its Fourier input moved while the picture follows, the
            # equivariance the paper is about; -R models follow rotations too.
            tx = slider(limits.TRANSLATE, 0.0, label="Translate x (StyleGAN3)", info="image widths",
                        visible=False, elem_id="sg-tx")
            ty = slider(limits.TRANSLATE, 0.0, label="Translate y", info="image widths", visible=False,
                        elem_id="sg-ty")
            rot = slider(limits.ROTATE, 0.0, label="Rotate", info="degrees, counter-clockwise", visible=False,
                         elem_id="sg-rotate")
        with gr.Accordion("Noise", open=False):
            noise_note = gr.Markdown(visible=False, elem_id="sg-noise-note")
            with gr.Row():
                noise_mode = gr.Radio(list(NOISE_MODES), value="const", label="Noise mode",
                                      info="const: the stored maps · random: drawn from the noise seed · none: off",
                                      elem_id="sg-noise-mode")
                noise_seed = gr.Number(0, label="Noise seed", precision=0, minimum=0, maximum=MAX_SEED,
                                       info="used in random mode", elem_id="sg-noise-seed")
            with gr.Row(elem_id="sg-noise-sliders"):
                strengths = [slider(limits.NOISE_STRENGTH, 1.0, label=f"layer {i + 1}", min_width=200, visible=False,
                                    elem_id=f"sg-noise{i}") for i in range(MAX_LAYERS)]
        gr.Markdown("### Stochastic variation\nThe mix rendered with different random noise, and each pixel's "
                    "standard deviation across the renders (bright = the noise changes it).")
        with gr.Row():
            k = slider(limits.VARIATION_RENDERS, 8, label="Renders", elem_id="sg-k")
            var_btn = gr.Button("Render variation", min_width=160, elem_id="sg-var-button")
        with gr.Row():
            var_img = image_output("Renders", 280, "sg-var")
            heat_img = image_output("Standard deviation", 280, "sg-heat")
        var_info = gr.Markdown(elem_id="sg-var-info")
        gr.Markdown("### Style-mixing matrix\nRows: A seeds; columns: B seeds; each cell takes B's styles at the "
                    "preset's layers. The PNG carries its recipe.")
        with gr.Row():
            rows = gr.Textbox("0-3", label="A seeds (rows)", max_lines=1, elem_id="sg-rows",
                              info="seeds, and projected images by name: 0-2, @my-photo")
            cols = gr.Textbox("10-13", label="B seeds (columns)", max_lines=1, elem_id="sg-cols")
            mpreset = gr.Dropdown(list(PRESETS), value="Coarse", label="Preset", elem_id="sg-matrix-preset")
            matrix_btn = gr.Button("Render matrix", min_width=140, elem_id="sg-matrix-button")
            download = gr.DownloadButton("Download PNG", min_width=140, elem_id="sg-matrix-file")
        matrix_img = image_output("Style-mixing matrix", 480, "sg-matrix", type="filepath")
        matrix_info = gr.Markdown(elem_id="sg-matrix-info")
    return SimpleNamespace(
        seen=seen, model=model, empty=empty, refresh=refresh_btn, seed_a=seed_a, seed_b=seed_b, latent_a=latent_a,
        latent_b=latent_b, class_a=class_a, class_b=class_b, tx=tx, ty=ty, rotate=rot, noise_note=noise_note, random_a=rand_a,
        random_b=rand_b, image_a=img_a, image_mix=img_mix, image_b=img_b, info=info, recipe=rec, presets=preset_btns,
        preset_name=preset_name, mix=mix, psi=psi, cutoff=cutoff, noise_mode=noise_mode, noise_seed=noise_seed,
        strengths=strengths, k=k, variation_button=var_btn, variation=var_img, heat=heat_img, variation_info=var_info,
        rows=rows, cols=cols, matrix_preset=mpreset, matrix_button=matrix_btn, download=download, matrix=matrix_img,
        matrix_info=matrix_info)


def _wire(services: Services, ui: SimpleNamespace) -> None:
    """The events: which control calls which handler with what. Sets ui.inputs, ui.open_outputs and
    ui.refresh_open_fn (what a page load and Open in explorer run)."""
    seen, mix, strengths, presets = ui.seen, ui.mix, ui.strengths, ui.presets
    inputs = [ui.model, ui.seed_a, ui.seed_b, *mix, ui.psi, ui.cutoff, ui.noise_mode, ui.noise_seed, *strengths,
              ui.latent_a, ui.latent_b, ui.tx, ui.ty, ui.rotate, ui.class_a, ui.class_b]
    drawn = [ui.image_a, ui.image_mix, ui.image_b, ui.info]  # what a render draws: the pictures, then their info
    shown = [*drawn, seen.state]
    layout = [*mix, *strengths, ui.cutoff, *presets, ui.latent_a, ui.latent_b, ui.tx, ui.ty, ui.rotate, ui.noise_note,
              ui.class_a, ui.class_b]

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
        updates = select_model(services, c.model, c.latent_a, c.latent_b, c.class_a, c.class_b)
        c.cutoff = None
        c.class_a, c.class_b = updates[-2]["value"], updates[-1]["value"]  # this model's classes, not the last one's
        return (*updates, *render(services, c))

    @seen.recording
    def _refresh_open(*args):
        model_upd, empty_upd = refresh(services, args[0])
        return (model_upd, empty_upd, *_open(model_upd["value"], *args[1:]))

    gr.on([*(s.input for s in mix + strengths), ui.psi.input, ui.cutoff.input, ui.noise_mode.input, ui.latent_a.input,
           ui.latent_b.input, ui.class_a.input, ui.class_b.input, ui.tx.input, ui.ty.input, ui.rotate.input, ui.seed_a.submit,
           ui.seed_a.blur, ui.seed_b.submit, ui.seed_b.blur, ui.noise_seed.submit, ui.noise_seed.blur],
          _render, [*inputs, seen.state], shown, api_name="style_render", **LIVE)
    # Each button applies its own preset. The public endpoint (the first button's) takes the preset's name as
    # an input, hidden on the page where it stays PRESETS[0], so that an API client can name any preset.
    presets[0].click(_preset, [ui.preset_name, *inputs], [*mix, *shown], api_name="style_preset", **LIVE)
    for i, b in enumerate(presets[1:], 1):
        b.click(lambda *args, p=PRESETS[i]: _preset(p, *args), inputs, [*mix, *shown], api_name=f"style_preset_{i}",
                api_visibility="private", **LIVE)
    ui.random_a.click(_random_a, inputs, [ui.seed_a, ui.latent_a, *shown], api_name="style_random_a", **LIVE)
    ui.random_b.click(_random_b, inputs, [ui.seed_b, ui.latent_b, *shown], api_name="style_random_b", **LIVE)
    gr.on([ui.variation_button.click, ui.k.input], _variation, [*inputs, ui.k],
          [ui.variation, ui.heat, ui.variation_info], api_name="style_variation", **LIVE)
    gr.on([ui.matrix_button.click, ui.rows.submit, ui.cols.submit, ui.matrix_preset.input], _matrix,
          [*inputs, ui.rows, ui.cols, ui.matrix_preset], [ui.matrix, ui.download, ui.matrix_info],
          api_name="style_matrix", concurrency_limit=2, trigger_mode="always_last")
    ui.model.input(seen.recording(_open), inputs, [*layout, *shown], api_name="style_select", concurrency_limit=2,
                   trigger_mode="always_last")
    ui.refresh.click(_refresh_open, inputs, [ui.model, ui.empty, *layout, *shown], api_name="style_refresh",
                     concurrency_limit=2)
    # The image recipe: the controls it restores, then select_model's updates and the pictures (recorded as shown).
    restored = [ui.model, ui.seed_a, ui.seed_b, ui.psi, ui.noise_mode, ui.noise_seed, *layout, *shown]
    image_recipe_ui.wire(ui.recipe, services, "stylegan", lambda *a: build_recipe(services, Controls.from_args(a)),
                         inputs, seen.recording(lambda r, e: restore_recipe(services, r, e)), restored, "style")
    ui.inputs, ui.open_outputs, ui.refresh_open_fn = inputs, [*layout, *shown], _refresh_open


def create_stylegan_tab(services: Services) -> TabHandle:
    ui = _layout(services)
    _wire(services, ui)
    # A page load and Open in explorer: rescan the StyleGAN models, lay the sliders out for the one chosen, draw it.
    opened = ((ui.refresh_open_fn, ui.inputs, [ui.model, ui.empty, *ui.open_outputs]),)
    return TabHandle("stylegan", ui.model, CAPABILITY, on_load=opened, open_model=opened, latent=ui.latent_a,
                     open_latent=opened, parts=vars(ui))
