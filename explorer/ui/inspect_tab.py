"""The Inspect tab: inside the generator. Any layer of any model, seen as all its channels, one channel,
mean |activation|, its principal components as RGB or its spectrum in dB; the layer's own controls
(StyleGAN: its style input and noise; ProGAN: stage and alpha); and GAN Dissection: the units that draw
a part of a face, switched off or forced on inside a region while a slider is dragged."""

from __future__ import annotations

import gradio as gr

from .. import limits
from ..edit.latents import MAX_SEED
from ..render.inspect import VIEWS
from . import LIVE, RENDER, class_ui
from . import inspect_handlers as h
from .common import TabHandle, image_output, offers_psi, refresh_models, slider
from .services import Services

INTRO = ("Pick a layer and see what it computes for this seed. **Spectrum** views show aliasing and the checkerboard "
         "of transposed convolutions as bright off-centre peaks. For faces models, **Dissect this layer** finds "
         "the units whose strongest activations fall on each part of the face (Bau et al. 2019); switch them off "
         "or force them on and drag the strength. Click the picture to centre the edit's region.")


def create_inspect_tab(services: Services) -> TabHandle:
    names = [m.name for m in services.models()]
    first = h.default_model(services)
    entry = services.find_model(first) if first else None
    # The opened model's controls are set as the tab is built, so its first render needs no page load
    # (an API client sees working defaults too); a page load sets them again for a model trained since.
    opened = h.select_model(services, first) if first else None

    def initial(i: int, key: str, default=None):
        return opened[i].get(key, default) if opened else default
    with gr.Tab("Inspect", id="inspect"):
        gr.Markdown(INTRO)
        with gr.Row():
            model = gr.Dropdown(names, value=first, label="Model", scale=4, allow_custom_value=True, elem_id="in-model")
            refresh_btn = gr.Button("Refresh list", size="sm", scale=1, min_width=120, elem_id="in-refresh")
        empty = gr.Markdown("**No models found yet.**", visible=not names, elem_id="in-empty")
        with gr.Row():
            seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED, scale=1, elem_id="in-seed")
            label = class_ui.picker("in-class", scale=1)  # shown by select_model for a conditional model
            psi = slider(limits.PSI, 1.0, label="Truncation ψ", visible=offers_psi(entry), scale=2, elem_id="in-psi")
            layer = gr.Dropdown(initial(0, "choices", []), value=initial(0, "value"), label="Layer", scale=3,
                                allow_custom_value=True, elem_id="in-layer")
        with gr.Row():
            view = gr.Radio(list(VIEWS), value=VIEWS[0], label="View", scale=4, elem_id="in-view")
            channel = gr.Slider(0, initial(1, "maximum", 63), value=0, step=1, label="Channel (One channel view)", scale=2,
                                elem_id="in-channel")
        with gr.Row(visible=initial(3, "visible", False)) as style_row:
            style_seed = gr.Number(1, label="Style seed for this layer", precision=0, minimum=0, maximum=MAX_SEED,
                                   elem_id="in-style-seed")
            style_mix = slider(limits.MIX, 0.0, label="This layer's style: 0 = the seed's, 1 = the style seed's",
                               elem_id="in-style-mix")
            noise = slider(limits.NOISE_STRENGTH, 1.0, label="This layer's noise strength", elem_id="in-noise")
        with gr.Row():
            stage = gr.Slider(0, initial(4, "maximum", 8), value=initial(4, "value", 0), step=1, label="Stage",
                              visible=initial(4, "visible", False), elem_id="in-stage")
            alpha = slider(limits.ALPHA, initial(5, "value", 1.0), label="Alpha", visible=initial(5, "visible", False),
                           elem_id="in-alpha")
        with gr.Row():
            picture = image_output("Picture (click to centre the edit)", 320, "in-picture")
            shown = image_output("Layer", 320, "in-view-picture")
        scale = gr.Markdown(elem_id="in-scale")
        with gr.Accordion("Dissection: switch a part's units off or on", open=True):
            with gr.Row():
                part = gr.Dropdown(initial(6, "choices", [h.NO_PART]), value=initial(6, "value", h.NO_PART), label="Part",
                                   scale=2, allow_custom_value=True,
                                   elem_id="in-part")
                units = slider(limits.INSPECT_UNITS, 8, label="Units (the best for the part)", scale=2,
                               elem_id="in-units")
                mode = gr.Radio(list(h.MODES), value=next(iter(h.MODES)), label="Edit", scale=3, elem_id="in-mode")
            with gr.Row():
                strength = slider(limits.INSPECT_STRENGTH, 0.0, label="Strength (0 = no edit)", elem_id="in-strength")
                size = slider(limits.INSPECT_REGION, 1.0, label="Region size (1 = the whole picture)",
                              elem_id="in-region")
            report = gr.Markdown(elem_id="in-report")
            with gr.Row():
                samples = gr.Number(200, label="Samples", precision=0, minimum=limits.DISSECT_SAMPLES.lo,
                                    maximum=limits.DISSECT_SAMPLES.hi, scale=1, elem_id="in-samples")
                go = gr.Button("Dissect this layer", scale=1, elem_id="in-dissect")
            about = gr.Markdown(opened[8] if opened else "", elem_id="in-dissection")
            table = gr.Dataframe(initial(7, "value") or None, headers=["part", "best units (IoU)"], interactive=False,
                                 elem_id="in-table")
        centre = gr.State([0.5, 0.5])

    controls = [model, seed, psi, layer, view, channel, style_seed, style_mix, noise, stage, alpha,
                part, units, mode, strength, size, centre, label]
    outputs = [picture, shown, scale, report]
    dissection = [part, table, about]

    def _render(*args):
        return h.render(services, *args)

    def _render_if_any(*args):
        return h.render(services, *args) if args[0] and args[3] else (gr.skip(),) * len(outputs)

    def _select(m, s):
        return h.select_model(services, m, s)

    def _select_if_any(m, s):
        return h.select_model(services, m, s) if m else (gr.skip(),) * 10

    def _layer(m, lay, s):
        return h.select_layer(services, m, lay, s)

    def _dissect(m, lay, n, s, progress=gr.Progress()):
        return h.dissect(services, m, lay, n, s, progress=progress)

    def _refresh(m):
        return refresh_models(services, m)

    selected = [layer, channel, psi, style_row, stage, alpha, *dissection, label]
    model.input(_select, [model, stage], selected, api_name="inspect_select", **RENDER).then(
        _render_if_any, controls, outputs, api_visibility="private", **LIVE)
    layer.input(_layer, [model, layer, stage], [channel, *dissection], api_name="inspect_layer", **RENDER).then(
        _render_if_any, controls, outputs, api_visibility="private", **LIVE)
    stage.input(_select, [model, stage], selected, api_visibility="private", **RENDER).then(
        _render_if_any, controls, outputs, api_visibility="private", **LIVE)
    live = [seed.submit, label.input, psi.input, view.input, channel.input, style_seed.submit, style_mix.input, noise.input,
            alpha.input, part.input, units.input, mode.input, strength.input, size.input]
    gr.on(live, _render, controls, outputs, api_name="inspect_render", **LIVE)
    picture.select(h.click_centre, [picture], [centre], api_visibility="private").then(
        _render, controls, outputs, api_visibility="private", **LIVE)
    go.click(_dissect, [model, layer, samples, stage], dissection, api_name="inspect_dissect",
             concurrency_limit=1, concurrency_id="dissect").then(
        _render_if_any, controls, outputs, api_visibility="private", **LIVE)
    refresh_btn.click(_refresh, [model], [model, empty], api_name="inspect_refresh")
    steps = ((_refresh, [model], [model, empty]), (_select_if_any, [model, stage], selected),
             (_render_if_any, controls, outputs))
    return TabHandle("inspect", model, on_load=steps, parts={
        "model": model, "seed": seed, "label": label, "psi": psi, "layer": layer, "view": view, "channel": channel,
        "style_seed": style_seed, "style_mix": style_mix, "noise": noise, "stage": stage, "alpha": alpha,
        "picture": picture, "shown": shown, "scale": scale, "part": part, "units": units, "mode": mode,
        "strength": strength, "size": size, "report": report, "samples": samples, "dissect": go, "table": table,
        "about": about, "centre": centre, "render_fn": _render, "select_fn": _select, "dissect_fn": _dissect})
