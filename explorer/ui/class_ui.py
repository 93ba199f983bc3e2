"""The class picker of a conditional model (explorer/models/classes.py): one dropdown wherever a latent is
chosen (Generate, StyleGAN A and B, Edit, Interpolate), shown only while the model has classes. Its value is
a class index; names come from the checkpoint (its config's class_names), else the index is the name."""

from __future__ import annotations

import gradio as gr

from ..models.classes import class_names, num_classes, parse_label
from ..weights import CheckpointError, ModelEntry, read_meta
from .common import generator, user_errors
from .services import Services

LABEL = "Class"
INFO = "a conditional model draws every seed as this class"


def names_of(entry: ModelEntry | None) -> list[str]:
    """Each class's name from the checkpoint's config ([] for an unconditional or unreadable model)."""
    if entry is None:
        return []
    try:
        cfg = read_meta(entry.path)["config"]
    except (CheckpointError, OSError, KeyError, TypeError):
        return []
    n = cfg.get("c_dim", 0)
    if not isinstance(n, int) or n <= 0:
        return []
    names = cfg.get("class_names")
    return [str(x) for x in names] if isinstance(names, list) and len(names) == n else [str(i) for i in range(n)]


def label_text(i: int, name: str) -> str:
    """A class as the picker shows it: "3 · cat" where it is named, "3" where it is not."""
    return name if name == str(i) else f"{i} · {name}"


def choices(entry: ModelEntry | None) -> list[tuple[str, int]]:
    """[(label, index)] of the model's classes, read from its checkpoint's config (no model loaded)."""
    return [(label_text(i, name), i) for i, name in enumerate(names_of(entry))]


def shown(G, label: int) -> str:
    """The picker's text for one class of a loaded G (a live render's info line: no file read)."""
    return label_text(label, class_names(G)[label])


def picker(elem_id: str, label: str = LABEL, **options) -> gr.Dropdown:
    # Value 0 (not None) even while hidden: an API client may then leave the class out.
    return gr.Dropdown([], value=0, label=label, allow_custom_value=True, visible=False, info=INFO,
                       elem_id=elem_id, **options)


def update(entry: ModelEntry | None, current=None) -> dict:
    """The picker for a model: its classes, keeping `current` while it is one of them (else class 0), shown
    only for a conditional model."""
    return updates(entry, current)[0]


def updates(entry: ModelEntry | None, *currents) -> list[dict]:
    """One update per picker of the same model (its classes read once)."""
    options = choices(entry)
    if not options:
        return [gr.update(choices=[], value=0, visible=False) for _ in currents]
    keep = {v for _, v in options}

    def index(c):
        try:
            c = int(c) if not isinstance(c, bool) and c not in (None, "") else None
        except (TypeError, ValueError):
            c = None
        return c if c in keep else 0

    return [gr.update(choices=options, value=index(c), visible=True) for c in currents]


def value(services: Services, entry: ModelEntry, raw, what: str = LABEL) -> int | None:
    """The class a render uses: the picker's index (or a class name) checked against the model; None for an
    unconditional model, whatever a stale hidden picker still holds."""
    G = generator(services, entry)
    if num_classes(G) == 0:
        return None
    with user_errors(ValueError):
        try:
            return parse_label(G, raw)
        except ValueError as e:
            raise ValueError(f"{what}: {e}") from None


def recipe_classes(label: int | None, n: int) -> list[int] | None:
    """A recipe's classes field: the class of each of its n seeds (None for an unconditional model)."""
    return None if label is None else [int(label)] * n


def recipe_class(services: Services, r, entry: ModelEntry, i: int = 0) -> int | None:
    """The class a recipe drew its i-th seed as, checked against the model (gr.Error when it has no such class,
    or when the recipe names classes for an unconditional model)."""
    G = generator(services, entry)
    if r.classes is None:
        return 0 if num_classes(G) else None
    if num_classes(G) == 0:
        raise gr.Error(f"The recipe draws classes, but {entry.name} is not a conditional model.")
    with user_errors(ValueError):
        return parse_label(G, r.classes[i])

