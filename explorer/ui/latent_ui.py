"""The "from" pickers that put a projected image where a tab takes a seed (StyleGAN A/B, Edit), and the
parsing both share. A picker's value is SEED (the number field beside it is used) or "@key"."""

from __future__ import annotations

import gradio as gr

from ..edit.latents import KEY_RE, MAX_SEED, PREFIX, Source
from ..project import store
from ..weights import ModelEntry
from . import inputs

SEED = "seed"
SEED_LABEL = "the seed"


def choices(entry: ModelEntry | None) -> list[tuple[str, str]]:
    """[(label, value)]: the seed, then every projected image beside the model, newest first."""
    found = store.list_latents(entry.path) if entry is not None else []
    return [(SEED_LABEL, SEED), *((lat.label, PREFIX + lat.key) for lat in found)]


def picker(label: str, elem_id: str, **options) -> gr.Dropdown:
    return gr.Dropdown([(SEED_LABEL, SEED)], value=SEED, label=label, allow_custom_value=True, elem_id=elem_id,
                       info="a seed, or a picture projected in the Project tab", **options)


def update(entry: ModelEntry | None, current=SEED) -> dict:
    """A picker's choices for the model, keeping `current` while it is listed (else the seed)."""
    return updates(entry, current)[0]


def updates(entry: ModelEntry | None, *currents) -> list[dict]:
    """One update per picker of the same model (the model's latents are listed once), each keeping its value."""
    options = choices(entry)
    values = [v for _, v in options]
    return [gr.update(choices=options, value=c if c in values else SEED) for c in currents]


def source(seed, latent, what: str) -> Source:
    """The seed field's whole number, or the picker's "@key" when one is picked."""
    if latent in (None, "", SEED):
        return inputs.whole(seed, what, 0, MAX_SEED)
    if not isinstance(latent, str) or not latent.startswith(PREFIX) or not KEY_RE.match(latent[len(PREFIX):]):
        raise gr.Error(f"{what}: {inputs.shown(latent)} is not a projected image; pick one from the list (or the seed).")
    return latent


def split(value: Source) -> tuple[int | None, str]:
    """A source -> (the seed field's value, the picker's value): (seed, SEED) or (None, "@key")."""
    return (None, value) if isinstance(value, str) else (value, SEED)


