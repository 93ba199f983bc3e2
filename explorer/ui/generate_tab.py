"""The Generate tab: a grid of images from any checkpoint for the seeds typed."""

from __future__ import annotations

import time

import gradio as gr

from .. import limits
from ..edit.latents import parse_seeds
from ..render import GridRequest, RenderError
from ..models.classes import describe as describe_class
from . import LIVE, RENDER, class_ui, image_recipe_ui, inputs
from .common import (TabHandle, find_entry, image_output, offers_psi, psi_control, psi_value, refresh_models, slider,
                     squeeze, user_errors)
from .import_panel import create_import_panel
from .services import Services

MAX_SEEDS = limits.GRID_IMAGES
EMPTY_TEXT = (
    "**No models found yet.** Shipped checkpoints live in `weights/` (a `.safetensors` file plus a `.json` "
    "file of the same name). Train one from a terminal, e.g.\n\n"
    "`python -m explorer.train --recipe dcgan --data mnist --res 32 --kimg 20 --out runs/dcgan-mnist`\n\n"
    "then press **Refresh list**: every run's newest snapshot in `runs/` appears here."
)


def describe(entry, meta: dict, n: int, ms: float) -> str:
    train = meta.get("train", {})
    parts = [f"**{entry.name}**: {entry.arch.upper()}, {entry.channels}×{entry.res}×{entry.res}"]
    parts += [entry.summary] if entry.summary else []
    if train.get("kimg") is not None:
        parts.append(f"trained {train['kimg']:.1f} kimg on {train.get('data', '?')} with recipe {train.get('recipe', '?')}")
    if train.get("dataset_licence"):
        parts.append(f"data: {train['dataset_licence']}")
    if train.get("backbone"):  # projected GANs: the frozen feature network D was trained on
        parts.append(f"D backbone: {train['backbone']}")
    parts.append(f"{n} image{'s' if n != 1 else ''} in {ms:.0f} ms")
    return " · ".join(parts)


def generate(services: Services, model_name: str | None, seeds_text: str, psi: float, label=None):
    """Handler: (grid uint8 [H, W, C], info markdown). Problems become gr.Error sentences. `label`: the
    class a conditional model draws every seed as (ignored by an unconditional one)."""
    entry = find_entry(services, model_name)
    seeds = inputs.seeds(seeds_text, "images per grid", MAX_SEEDS)
    psi = psi_value(psi, entry)
    label = class_ui.value(services, entry, label)
    with user_errors(ValueError, RenderError):
        t0 = time.perf_counter()
        grid = services.renderer.render_grid(GridRequest(entry.path, tuple(seeds), psi, label=label))
        ms = (time.perf_counter() - t0) * 1000
        G, meta = services.renderer.model(entry.path)
    info = describe(entry, meta, len(seeds), ms)
    return squeeze(grid), info if label is None else f"{info} · {describe_class(G, label)}"


def refresh(services: Services, current: str | None):
    """Handler: the rescanned model list, keeping the current choice when it still exists; the empty-state hint."""
    return refresh_models(services, current)


# --- the image recipe ------------------------------------------------------------------------------


def build_recipe(services: Services, model, seeds, psi, label=None):
    picture, _ = generate(services, model, seeds, psi, label)
    entry = services.find_model(model)
    seeds = parse_seeds(seeds, MAX_SEEDS)
    return image_recipe_ui.new_recipe(services, entry, "generate", seeds,
                                      truncation_psi=float(psi) if offers_psi(entry) else 1.0,
                                      classes=class_ui.recipe_classes(class_ui.value(services, entry, label),
                                                                      len(seeds))), picture


def restore_recipe(services: Services, r, entry):
    """Updates for [model, seeds, psi, class, grid, info]."""
    image_recipe_ui.check_psi(r, limits.PSI)
    seeds = ", ".join(map(str, r.seeds))
    psi = r.truncation_psi if offers_psi(entry) else 1.0
    label = class_ui.recipe_class(services, r, entry)
    return (entry.name, seeds, gr.update(value=psi, visible=offers_psi(entry)), class_ui.update(entry, label),
            *generate(services, entry.name, seeds, psi, label))


# --- layout and wiring -----------------------------------------------------------------------------


def create_generate_tab(services: Services) -> TabHandle:
    names = [m.name for m in services.models()]
    with gr.Tab("Generate", id="generate"):
        empty = gr.Markdown(EMPTY_TEXT, visible=not names, elem_id="gen-empty")
        with gr.Row():
            # allow_custom_value: a model trained after this page loaded can still be named (by an API
            # client too); generate() checks the name against a fresh scan.
            model = gr.Dropdown(names, value=names[0] if names else None, label="Model", scale=4,
                                allow_custom_value=True, elem_id="gen-model")
            refresh_btn = gr.Button("Refresh list", size="sm", scale=1, min_width=120, elem_id="gen-refresh")
        with gr.Row():
            seeds = gr.Textbox("0-15", label="Seeds", info="whole numbers and ranges, e.g. 1-8, 42",
                               max_lines=1, scale=3, elem_id="gen-seeds")
            psi = slider(limits.PSI, 1.0, label="Truncation ψ",
                         info="1 = no truncation; towards 0 = closer to the average image",
                         visible=offers_psi(services.find_model(names[0]) if names else None),
                         scale=3, elem_id="gen-psi")
            label = class_ui.picker("gen-class", scale=2)
            go = gr.Button("Generate", variant="primary", scale=1, min_width=120, elem_id="gen-button")
        grid = image_output("Images", 520, "gen-grid")
        info = gr.Markdown(elem_id="gen-info")
        rec = image_recipe_ui.recipe_row("gen")
        create_import_panel(services, model)

    def _generate(m, s, p, c=None):
        return generate(services, m, s, p, c)

    def _refresh(m):
        return refresh(services, m)

    def _generate_if_any(m, s, p, c=None):
        return generate(services, m, s, p, c) if m else (gr.skip(), gr.skip())

    def _controls_for(m, c=None):
        entry = services.find_model(m) if isinstance(m, str) and m else None
        return psi_control(services, m), class_ui.update(entry, c)

    controls, outputs = [model, seeds, psi, label], [grid, info]
    gr.on([go.click, seeds.submit], _generate, controls, outputs, api_name="generate", trigger_mode="always_last",
          **RENDER)
    # A picked model lists its classes first, so the grid is drawn with one of them (not the last model's).
    model.input(_controls_for, [model, label], [psi, label], api_visibility="private", concurrency_limit=None).then(
        _generate, controls, outputs, api_visibility="private", trigger_mode="always_last", **RENDER)
    psi.input(_generate, controls, outputs, api_name="generate_psi", **LIVE)
    label.input(_generate, controls, outputs, api_name="generate_class", **LIVE)
    # Every way a model is chosen (a pick, a page load, Refresh, Open in explorer, a recipe) shows or hides ψ
    # and lists the model's classes (none: the picker hides).
    model.change(_controls_for, [model, label], [psi, label], api_visibility="private", concurrency_limit=None)
    refresh_btn.click(_refresh, [model], [model, empty], api_name="refresh_models")
    image_recipe_ui.wire(rec, services, "generate", lambda *a: build_recipe(services, *a), controls,
                         lambda r, e: restore_recipe(services, r, e), [*controls, *outputs], "generate")
    # A page load and Open in explorer: rescan the models (a run may have finished since), then draw.
    opened = ((_refresh, [model], [model, empty]), (_controls_for, [model, label], [psi, label]),
              (_generate_if_any, controls, outputs))
    return TabHandle("generate", model, on_load=opened, open_model=opened, parts={
        "model": model, "seeds": seeds, "psi": psi, "label": label, "button": go, "grid": grid, "info": info, "empty": empty,
        "refresh": refresh_btn, "recipe": rec, "generate_fn": _generate, "refresh_fn": _refresh,
        "generate_if_any_fn": _generate_if_any})
