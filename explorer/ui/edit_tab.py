"""The Edit tab: find latent directions on the opened model (SeFa, PCA, supervised attribute
directions, difference of means), save them beside it, and apply several at once with a strength
(in standard deviations) and a layer range each, re-rendering while a slider is dragged. Works for
every family: in w with a mapping network, in z otherwise. This module is the layout and the wiring;
the handlers are in edit_handlers.py."""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from .. import limits
from ..edit.latents import MAX_SEED
from . import LIVE, class_ui, image_recipe_ui, latent_ui
from .common import TabHandle, generator, image_output, model_list, offers_psi, psi_control, slider
from .edit_handlers import (METHODS, NONE, SHOWN, SLOTS, build_recipe, default_model, find, first_if_none,
                            first_name, layer_ranges, open_model, render, restore, saved_directions)
from .services import Services
from .shown import Shown

INTRO = ("Move the image along up to eight **directions** at once in this model's latent space (*w* behind a "
         "mapping network, *z* otherwise). The shipped models come with directions (SeFa, PCA, attributes "
         "named in words), and Direction 1 opens on the most telling one: drag its strength. Strengths are in "
         "standard deviations of the model's own latents; a layer range applies a direction to some style inputs "
         "only (coarse = layout, fine = colour). Directions you find below are saved beside the model and listed "
         "when it is opened again.")


def _layout(services: Services) -> SimpleNamespace:
    """The components, in page order, holding valid values before the page load fills them."""
    entries = services.models()
    names = [m.name for m in entries]
    start = default_model(entries)
    entry = next((e for e in entries if e.name == start), None)
    # Slot 1's direction and every slot's layer ranges, so the controls hold valid values before the page
    # load fills them (an API call with the defaults works too).
    try:
        saved, ranges = (saved_directions(services, entry), list(layer_ranges(generator(services, entry)))) \
            if entry else ({}, [])
    except gr.Error:  # a broken checkpoint: the page load says what is wrong
        saved, ranges = {}, []
    first = first_name(saved)
    with gr.Tab("Edit", id="edit"):
        # What the original and the edited picture show in this session: a drag sends only what changed.
        # (Made inside the tab: a State placed among gr.Tabs' children shows as a second tab button.)
        seen = Shown(2)
        gr.Markdown(INTRO)
        with gr.Row():
            model = gr.Dropdown(names, value=start, label="Model", scale=4,
                                allow_custom_value=True, elem_id="ed-model")
            refresh_btn = gr.Button("Refresh list", size="sm", scale=1, min_width=120, elem_id="ed-refresh")
        with gr.Row():
            seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED, elem_id="ed-seed")
            latent = latent_ui.picker("From", "ed-latent")
            label = class_ui.picker("ed-class")
            psi = slider(limits.PSI, 1.0, label="Truncation ψ", elem_id="ed-psi", visible=offers_psi(entry))
        with gr.Row():
            original = image_output("Original", 256, "ed-original")
            edited = image_output("Edited", 256, "ed-edited")
        info = gr.Markdown(elem_id="ed-info")
        slots = []  # dropdowns take any value: a direction saved after page load; the handler checks names

        def slot_row(i: int) -> list:
            with gr.Row():
                value = first if i == 0 else NONE
                return [gr.Dropdown([NONE, *saved], value=value, label=f"Direction {i + 1}",
                                    scale=3, elem_id=f"ed-dir{i}", allow_custom_value=True),
                        slider(limits.DIRECTION_STRENGTH, 0.0, label="Strength (std)", scale=3,
                               elem_id=f"ed-strength{i}"),
                        gr.Dropdown(ranges, value=ranges[0] if ranges else None, label="Layers", scale=2,
                                    elem_id=f"ed-layers{i}", allow_custom_value=True)]

        for i in range(SHOWN):
            slots += slot_row(i)
        with gr.Accordion(f"More directions ({SHOWN + 1}–{SLOTS})", open=False):
            for i in range(SHOWN, SLOTS):
                slots += slot_row(i)
        rec = image_recipe_ui.recipe_row("ed")
        with gr.Accordion("Find directions", open=True):
            gr.Markdown("**SeFa**: eigenvectors of the style weights of the chosen layers (eigenvalue). **PCA**: "
                        "principal axes of 2,000 sampled *w* with a mapping network; without one, of the first "
                        "4×4 layer's activations for 2,000 sampled *z*, each regressed back to *z* (the fraction "
                        "of their variance explained). **Supervised**: a linear classifier separating samples "
                        "the attribute classifier labels; *keep* projects out other attributes. **Difference of "
                        "means**: from group A's seeds to group B's.")
            with gr.Row():
                method = gr.Radio(list(METHODS), value="SeFa (closed form)", label="Method", elem_id="ed-method")
                k = slider(limits.FOUND, 8, label="How many (SeFa, PCA)", elem_id="ed-k")
                span = gr.Dropdown([], label="Layers (SeFa)", elem_id="ed-find-layers", allow_custom_value=True)
            with gr.Row():
                attribute = gr.Dropdown([], label="Attribute (supervised)", elem_id="ed-attribute", allow_custom_value=True)
                keep = gr.Dropdown([], multiselect=True, label="Keep unchanged (conditional)", elem_id="ed-keep",
                                   allow_custom_value=True)
            with gr.Row():
                seeds_a = gr.Textbox("0-7", label="Group A seeds (means)", max_lines=1, elem_id="ed-seeds-a")
                seeds_b = gr.Textbox("8-15", label="Group B seeds (means)", max_lines=1, elem_id="ed-seeds-b")
                name = gr.Textbox("", label="Name (means)", max_lines=1, elem_id="ed-name")
            find_btn = gr.Button("Find and save", variant="primary", elem_id="ed-find")
            table = gr.Markdown(elem_id="ed-found")
    return SimpleNamespace(
        seen=seen, model=model, refresh=refresh_btn, seed=seed, latent=latent, label=label, psi=psi, original=original, edited=edited, info=info,
        slots=slots, recipe=rec, method=method, k=k, span=span, attribute=attribute, keep=keep, seeds_a=seeds_a,
        seeds_b=seeds_b, name=name, find=find_btn, table=table)


def _wire(services: Services, ui: SimpleNamespace) -> None:
    """The events: which control calls which handler with what. Sets ui.open_fn, ui.refresh_fn and
    ui.refresh_outputs (what a page load runs)."""
    seen, model, slots = ui.seen, ui.model, ui.slots
    inputs = [model, ui.seed, ui.psi, *slots, ui.latent, ui.label]
    drawn = [ui.original, ui.edited, ui.info]  # what a render draws: the pictures, then their info
    shown = [*drawn, seen.state]
    dir_dropdowns = slots[0::3]
    opened = [*slots, ui.span, ui.attribute, ui.keep, ui.latent, ui.label]

    @seen.skipping
    def _render(*args):
        return render(services, *args)

    def _open(m, seed, psi, latent=latent_ui.SEED, label=None, slot_values=None):
        if not m:
            return (gr.skip(),) * (len(opened) + len(drawn))
        ups = open_model(services, m, slot_values, latent, label)
        vals = [m, seed, psi, *(u["value"] for u in ups[:3 * SLOTS]), ups[-2]["value"], ups[-1]["value"]]
        return (*ups, *render(services, *vals))

    @seen.recording
    def _refresh(m, seed=0, psi=1.0, *values):
        """On page load (the model alone) the model opens afresh; the Refresh button also sends the seed, ψ,
        slots and "from" picker, kept while the model is still listed."""
        picker = model_list(services, m, fallback=default_model)
        value = picker["value"]
        slot_values, latent = values[:3 * SLOTS], (values[3 * SLOTS] if len(values) > 3 * SLOTS else latent_ui.SEED)
        label = values[3 * SLOTS + 1] if len(values) > 3 * SLOTS + 1 else None
        kept = list(slot_values) if len(slot_values) == 3 * SLOTS and value == m else None
        return picker, *_open(value, seed, psi, latent if value == m else latent_ui.SEED, label, kept)

    def _find(*args):
        return find(services, *args)

    gr.on([*(s.input for s in slots), ui.psi.input, ui.latent.input, ui.label.input, ui.seed.submit, ui.seed.blur],
          _render,
          [*inputs, seen.state],
          shown, api_name="edit_render", **LIVE)
    model.input(seen.recording(_open), [model, ui.seed, ui.psi, ui.latent, ui.label], [*opened, *shown],
                api_name="edit_select",
                concurrency_limit=2, trigger_mode="always_last")
    model.change(lambda m: psi_control(services, m), [model], [ui.psi], api_visibility="private",
                 concurrency_limit=None)  # every way a model is chosen: a pick, a page load, Refresh
    ui.refresh.click(_refresh, inputs, [model, *opened, *shown], api_name="edit_refresh", concurrency_limit=2)
    ui.find.click(_find, [model, ui.method, ui.k, ui.span, ui.attribute, ui.keep, ui.seeds_a, ui.seeds_b, ui.name],
                  [ui.table, *dir_dropdowns], api_name="edit_find", concurrency_limit=1).success(
        lambda m, d: first_if_none(services, m, d), [model, dir_dropdowns[0]], slots[:2], api_visibility="private")
    image_recipe_ui.wire(ui.recipe, services, "edit", lambda *a: build_recipe(services, *a), inputs,
                         seen.recording(lambda r, e: restore(services, r, e)), [*inputs, *shown], "edit")
    ui.open_fn, ui.refresh_fn, ui.refresh_outputs, ui.inputs = _open, _refresh, [*opened, *shown], inputs


def create_edit_tab(services: Services) -> TabHandle:
    ui = _layout(services)
    _wire(services, ui)
    # A page load: rescan the models and open the one chosen afresh (slot 1 on its most telling direction).
    on_load = ((ui.refresh_fn, [ui.model], [ui.model, *ui.refresh_outputs]),)
    # Open in Edit (Project tab): the model and "@key" are set; open it keeping them.
    opened = ((ui.refresh_fn, ui.inputs, [ui.model, *ui.refresh_outputs]),)
    return TabHandle("edit", ui.model, on_load=on_load, latent=ui.latent, open_latent=opened, parts=vars(ui))
