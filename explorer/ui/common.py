"""What every tab repeats, written once: the handle a tab gives the app, engine errors shown as the
sentence they carry, a model looked up by name, a picker's model list rescanned, the ψ slider shown
only where ψ acts, and pictures made ready for a live render."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import gradio as gr
import numpy as np

from .. import limits
from ..models import ARCHITECTURES
from ..render import LIVE_PX, RenderError, display_factor, enlarge
from ..weights import ModelEntry
from . import inputs
from .services import Services

Step = tuple[Callable, list, list]  # (fn, inputs, outputs): one step of an event chain


@dataclass(frozen=True)
class Opener:
    """A button that opens a model in another tab (the Train tab's "Open in explorer")."""

    button: gr.Button   # its click starts the chain
    inputs: list        # the components `choose` reads
    choose: Callable    # choose(targets, *values) -> (tab id, model name); targets: [(tab id, capability)]
    api_name: str       # the endpoint of the click


@dataclass(frozen=True, eq=False)
class TabHandle:
    """What every create_*_tab returns, and all ui/app.py needs to wire the tab to the page and to
    the other tabs."""

    id: str                                 # the tab's id in gr.Tabs ("generate"); gr.Tabs(selected=id) shows it
    model: gr.Dropdown | None = None        # its model picker; None for a tab without one (Train)
    capability: str | None = None           # what the picker lists: the models whose family has this
    #                                         capability ("progressive", "mixing"); None = every model
    on_load: tuple[Step, ...] = ()          # run on every page load, each step after the previous one
    open_model: tuple[Step, ...] | None = None  # after "Open in explorer" put a model in `model`: the steps
    #                                         that draw it; None = the tab is no place to open a snapshot in
    opener: Opener | None = None            # its own button that opens a model in another tab, if any
    latent: Any = None                      # where a projected image ("@key") goes when the Project tab opens one
    #                                         here (a "from" picker, a seed list); None = not a place for one
    latent_value: Callable[[str], Any] = lambda key: key  # "@key" -> the value `latent` gets
    open_latent: tuple[Step, ...] = ()      # after the model and `latent` are set: the steps that draw them
    parts: Mapping[str, Any] = field(default_factory=dict)  # its components (and handlers) by name, for tests

    def __post_init__(self):
        object.__setattr__(self, "on_load", tuple(self.on_load))
        if self.open_model is not None:
            object.__setattr__(self, "open_model", tuple(self.open_model))
        object.__setattr__(self, "open_latent", tuple(self.open_latent))
        object.__setattr__(self, "parts", MappingProxyType(dict(self.parts)))

    def __getitem__(self, name: str):
        """handle["seeds"]: one of `parts`."""
        return self.parts[name]


def chain(start: Callable, steps: Sequence[Step], **options):
    """start(fn, inputs, outputs, **options) for the first step (demo.load, button.click), .then for
    each next one; the last event, or None when there are no steps."""
    event = None
    for fn, step_inputs, outputs in steps:
        event = (start if event is None else event.then)(fn, step_inputs, outputs, **options)
    return event


# --- errors --------------------------------------------------------------------------------------


class user_errors(contextlib.ContextDecorator):
    """`with user_errors(RenderError): ...` (or as a decorator): an exception of those kinds, whose
    message is a sentence for the user, becomes gr.Error with that sentence. A gr.Error raised inside
    passes unchanged (it is a ValueError too: wrapped again, its message would gain quotes)."""

    def __init__(self, *kinds: type[BaseException]):
        self.kinds = kinds

    def __enter__(self):
        return self

    def __exit__(self, kind, error, tb):
        if error is not None and isinstance(error, self.kinds) and not isinstance(error, gr.Error):
            raise gr.Error(str(error)) from None
        return False


# --- models --------------------------------------------------------------------------------------

UNSELECTED = "No model is selected. Train or import one, then press Refresh list."


def find_entry(services: Services, name, unselected: str = UNSELECTED) -> ModelEntry:
    """The model a client named (any model); gr.Error `unselected` when none is, or when it is gone."""
    name = inputs.name(name, "Model")
    if not name:
        raise gr.Error(unselected)
    entry = services.find_model(name)
    if entry is None:
        raise gr.Error(f"Model {name!r} is no longer there; press Refresh list.")
    return entry


def pick_entry(services: Services, name, capability: str, family: str, lacks: str) -> ModelEntry:
    """The named model, which must have `capability` (Services.pick_model), else gr.Error saying why."""
    with user_errors(LookupError):
        return services.pick_model(inputs.name(name, "Model"), capability, family, lacks)


@user_errors(RenderError)
def generator(services: Services, entry: ModelEntry):
    """The model's generator G (the renderer caches it); gr.Error when its checkpoint cannot be loaded."""
    return services.renderer.model(entry.path)[0]


def listed(services: Services, capability: str | None = None) -> list[ModelEntry]:
    """The models a picker lists: those whose family has `capability`, or all."""
    return services.models_with(capability) if capability else services.models()


def model_list(services: Services, current, capability: str | None = None,
               fallback: Callable[[list[ModelEntry]], str | None] | None = None) -> dict:
    """Handler part: a picker's rescanned list, keeping `current` while it is listed, else
    fallback(entries) (default: the first)."""
    entries = listed(services, capability)
    names = [m.name for m in entries]
    value = current if current in names else fallback(entries) if fallback else (names[0] if names else None)
    return gr.update(choices=names, value=value)


def refresh_models(services: Services, current, capability: str | None = None) -> tuple[dict, dict]:
    """Handler: (the picker's rescanned list, the no-model hint shown when the list is empty)."""
    picker = model_list(services, current, capability)
    return picker, gr.update(visible=not picker["choices"])


# --- truncation ψ --------------------------------------------------------------------------------


def offers_psi(entry: ModelEntry | None) -> bool:
    """Whether truncation ψ means anything for the model (its family's capabilities.truncation): ProGAN and
    FastGAN normalise z, which undoes it, so no tab shows them a ψ control and their recipes store 1."""
    return entry is None or ARCHITECTURES[entry.arch].capabilities.truncation


def psi_control(services: Services, model_name) -> dict:
    """Handler: a tab's ψ slider, shown only for models whose family truncates."""
    entry = services.find_model(model_name) if isinstance(model_name, str) and model_name else None
    return gr.update(visible=offers_psi(entry))


def psi_value(value, entry: ModelEntry, span: limits.Range = limits.PSI) -> float:
    """The ψ a render uses: the checked slider value, or 1 where the model offers no ψ (nothing to pull)."""
    return inputs.within(value, "Truncation ψ", span) if offers_psi(entry) else 1.0


# --- controls and pictures -----------------------------------------------------------------------


def slider(span: limits.Range, value, **options) -> gr.Slider:
    """A slider over one of limits' ranges (the handler checks what is sent against the same range)."""
    return gr.Slider(span.lo, span.hi, value=value, step=span.step, **options)


def image_output(label: str, height: int, elem_id: str, type: str = "numpy") -> gr.Image:
    """A picture the app draws (not an input): a PNG (numpy) or a file (filepath), its pixels kept hard-edged
    however far the page enlarges it (the "pixelated" class, ui/app.py's CSS)."""
    options = {"format": "png"} if type == "numpy" else {}
    return gr.Image(label=label, type=type, interactive=False, height=height, elem_id=elem_id,
                    elem_classes=["pixelated"], **options)


def squeeze(picture: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 1] as [H, W], which gr.Image shows as grayscale; colour pictures unchanged."""
    return picture[:, :, 0] if picture.ndim == 3 and picture.shape[2] == 1 else picture


def live_picture(picture: np.ndarray, px: int = LIVE_PX) -> np.ndarray:
    """A live render's uint8 [r, r, C] enlarged (nearest) to about px pixels, grayscale as [H, W]: a small
    picture to send, which the page enlarges further in CSS."""
    return squeeze(enlarge(picture[None], display_factor(picture.shape[0], px))[0])
