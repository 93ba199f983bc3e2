"""The Inspect tab's handlers: plain functions over Services (the tab module lays out and wires them)."""

from __future__ import annotations

import gradio as gr
import numpy as np

from .. import limits
from ..edit.latents import MAX_SEED
from ..models import ARCHITECTURES
from ..render import RenderError
from ..render.inspect import VIEWS, InspectRequest
from ..weights import CheckpointError, ModelEntry, read_meta
from . import class_ui, inputs
from .common import find_entry, offers_psi, psi_value, squeeze, user_errors
from .services import Services

MODES = {"Switch off (zero)": "zero", "Set to their mean": "mean", "Force on (insert)": "insert"}
NO_PART = "(no edit)"
DEFAULT_MODEL = "stylegan2-faces"  # the shipped model the tab opens on, as the Edit tab does
DEFAULT_LAYER = "b16.conv1"
DEFAULT_PART = "mouth"  # switched off at b16.conv1, the mouth is gone: the clearest first drag  # a middle layer: parts are already laid out there, and it is 16×16


def default_model(services: Services) -> str | None:
    """The model the tab opens on: the first faces model (its layers are dissected and shipped), else any."""
    entries = services.models()
    if any(m.name == DEFAULT_MODEL for m in entries):
        return DEFAULT_MODEL
    faces = [m for m in entries if ARCHITECTURES[m.arch].capabilities.mixing and _data(m) == "faces"]
    return (faces or entries)[0].name if entries else None


def _data(entry: ModelEntry) -> str | None:
    """The data set a checkpoint says it was trained on (its JSON only; no weights are read)."""
    try:
        return read_meta(entry.path).get("train", {}).get("data")
    except CheckpointError:
        return None


def _entry(services: Services, model) -> ModelEntry:
    return find_entry(services, model)


@user_errors(RenderError, ValueError)
def layers_for(services: Services, entry: ModelEntry, stage=None):
    return services.inspect.layers(entry.path, stage)


def select_model(services: Services, model, stage=None):
    """Handler: the controls that depend on the model: its layers (a middle one chosen), the channel
    slider's range, ψ, the StyleGAN and ProGAN controls, the part list and what is dissected, and the class
    picker (a conditional model's classes)."""
    entry = _entry(services, model)
    caps = ARCHITECTURES[entry.arch].capabilities
    growth = services.renderer.growth(entry.path) if caps.progressive else None
    layers = layers_for(services, entry, stage if caps.progressive else None)
    keys = [layer.key for layer in layers]
    key = DEFAULT_LAYER if DEFAULT_LAYER in keys else keys[len(keys) // 2]
    chosen = layers[keys.index(key)]
    return (gr.update(choices=[(layer.label, layer.key) for layer in layers], value=key),
            gr.update(maximum=chosen.channels - 1, value=0),
            gr.update(visible=offers_psi(entry)),
            gr.update(visible=caps.mixing),
            gr.update(visible=caps.progressive,
                      **({"maximum": growth.stage, "value": growth.stage} if growth else {})),
            gr.update(visible=caps.progressive, value=growth.alpha if growth else 1.0),
            *dissection_view(services, entry.name, key), class_ui.update(entry, 0))


def select_layer(services: Services, model, layer, stage=None):
    """Handler: the channel slider's range and the dissection shown for a newly chosen layer."""
    entry = _entry(services, model)
    layer = inputs.name(layer, "Layer")
    caps = ARCHITECTURES[entry.arch].capabilities
    layers = {x.key: x for x in layers_for(services, entry, stage if caps.progressive else None)}
    if layer not in layers:
        raise gr.Error(f"{inputs.shown(layer)} is not a layer of {entry.name}; its layers are {', '.join(layers)}.")
    return (gr.update(maximum=layers[layer].channels - 1, value=0), *dissection_view(services, model, layer))


def dissection_view(services: Services, model, layer) -> tuple[dict, dict, str]:
    """(the part picker, the best-units table, a line on the dissection) for a model's layer."""
    entry = _entry(services, model)
    from ..inspect.model import can_dissect

    problem = can_dissect({"train": {"data": _data(entry)}})
    if problem:
        return gr.update(choices=[NO_PART], value=NO_PART), gr.update(value=[]), problem
    d = services.inspect.dissection(entry.path, layer)
    if d is None:
        return (gr.update(choices=[NO_PART], value=NO_PART), gr.update(value=[]),
                f"Layer {layer} of {entry.name} is not dissected yet: **Dissect this layer** scores each unit "
                "against the parts the segmenter sees in the model's own samples (a few seconds).")
    rows = [[part, ", ".join(f"{u} ({iou:.2f})" for u, iou in d.best(part, 5))] for part in d.parts]
    choices = [NO_PART, *d.parts]
    return (gr.update(choices=choices, value=DEFAULT_PART if DEFAULT_PART in d.parts else d.parts[0]), gr.update(value=rows),
            f"Dissected over {d.samples} samples (units fire on their top {1 - d.quantile:.0%}); best units per part, "
            "IoU in brackets.")


def region(centre, size) -> tuple[float, float, float, float]:
    """The edit's region: a square of side `size` (a fraction of the picture) around `centre`, kept inside."""
    s = inputs.within(size, "Region size", limits.INSPECT_REGION)
    cx, cy = centre if isinstance(centre, (list, tuple)) and len(centre) == 2 else (0.5, 0.5)
    cx = min(max(inputs.number(cx, "Region centre", 0, 1), s / 2), 1 - s / 2)
    cy = min(max(inputs.number(cy, "Region centre", 0, 1), s / 2), 1 - s / 2)
    return (cx - s / 2, cy - s / 2, cx + s / 2, cy + s / 2) if s < 1 else (0.0, 0.0, 1.0, 1.0)


def render(services: Services, model, seed, psi, layer, view, channel, style_seed, style_mix, noise, stage, alpha,
           part, units, mode, strength, size, centre, label=None):
    """Handler: (the picture, the view, its scale, the edit's report). `label`: a conditional model's class."""
    entry = _entry(services, model)
    caps = ARCHITECTURES[entry.arch].capabilities
    layer = inputs.name(layer, "Layer")
    if not layer:
        raise gr.Error("Pick a layer.")
    req = InspectRequest(
        entry.path, inputs.whole(seed, "Seed", 0, MAX_SEED), layer, inputs.choice(view, "View", VIEWS),
        channel=inputs.whole(channel, "Channel", 0, 4096), truncation_psi=psi_value(psi, entry),
        stage=inputs.whole(stage, "Stage", 0, 16) if caps.progressive else None,
        alpha=inputs.within(alpha, "Alpha", limits.ALPHA) if caps.progressive else None,
        style_seed=inputs.whole(style_seed, "Style seed", 0, MAX_SEED) if caps.mixing else None,
        style_mix=inputs.within(style_mix, "Style mix", limits.MIX) if caps.mixing else 0.0,
        noise_strength=inputs.within(noise, "Noise strength", limits.NOISE_STRENGTH) if caps.mixing else 1.0,
        part=None if part in (None, NO_PART) else inputs.text(part, "Part", 40),
        units=inputs.whole_within(units, "Units", limits.INSPECT_UNITS),
        mode=MODES[inputs.choice(mode, "Edit", list(MODES))],
        strength=inputs.within(strength, "Edit strength", limits.INSPECT_STRENGTH),
        region=region(centre, size), label=class_ui.value(services, entry, label))
    with user_errors(RenderError, ValueError):
        out = services.inspect.render(req)
    return squeeze(out.picture), out.view, f"{out.scale} · {out.ms:.0f} ms", out.report


def click_centre(picture, evt: gr.SelectData = None):
    """Handler: where the picture was clicked, as fractions of its width and height."""
    if evt is None or not isinstance(evt.index, (list, tuple)) or len(evt.index) != 2 \
            or not isinstance(picture, np.ndarray) or picture.ndim < 2:
        return gr.skip()
    h, w = picture.shape[:2]
    x, y = evt.index
    return [min(max((x + 0.5) / w, 0.0), 1.0), min(max((y + 0.5) / h, 0.0), 1.0)]


def dissect(services: Services, model, layer, samples, stage=None, progress=None):
    """Handler: dissect the layer (saved beside the model), then show it."""
    entry = _entry(services, model)
    layer = inputs.name(layer, "Layer")
    n = inputs.whole_within(samples, "Samples", limits.DISSECT_SAMPLES)
    with user_errors(RenderError, ValueError):
        services.inspect.dissect(entry.path, layer, n,
                                 progress=(lambda i, k: progress(i / k, desc=f"dissecting {i}/{k}")) if progress else None)
    return dissection_view(services, model, layer)
