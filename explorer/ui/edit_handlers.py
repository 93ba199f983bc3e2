"""The Edit tab's handlers: find latent directions on the opened model (SeFa, PCA, supervised
attribute directions, difference of means), save them beside it, and render the image with several
applied at once, each with a strength (in standard deviations) and a layer range; and the tab's image
recipe. The layout and the events that call them are in edit_tab.py."""

from __future__ import annotations

import gradio as gr

from .. import limits
from ..edit import directions as dirs
from ..edit.image_recipe import DirectionUse
from ..edit.mixing import PRESET_RANGES, preset_span
from ..render import RenderError
from ..render.edit import Edit
from ..render.sources import describe as describe_source
from ..weights import ModelEntry
from ..models.classes import describe as describe_class
from . import class_ui, image_recipe_ui, inputs, latent_ui
from .common import find_entry, generator, live_picture, offers_psi, psi_value, user_errors
from .services import Services

# The model the tab opens on: of the shipped ones, its supervised directions move their named factor most
# cleanly (bench/direction_factors.py; the first StyleGAN's move several factors at once).
DEFAULT_MODEL = "stylegan2-faces"
SLOTS = 8        # directions applied at once
SHOWN = 4        # slots open at first; the rest sit in a closed accordion
NONE = "(none)"
METHODS = {"SeFa (closed form)": "sefa", "PCA (GANSpace)": "pca", "Supervised attribute": "supervised",
           "Difference of means": "means"}


# --- handlers ----------------------------------------------------------------------------------


def layer_ranges(G) -> dict[str, tuple[int, int]]:
    """{"All (w0-wN)": (0, num_ws), "Coarse (w0-w3)": ..., ...}: the presets this model has."""
    out = {f"All (w0–w{G.num_ws - 1})": (0, G.num_ws)}
    if G.num_ws > 1 and hasattr(G, "ws_resolutions"):
        for name in PRESET_RANGES:
            span = preset_span(name, G.ws_resolutions())
            if span:
                out[f"{name} (w{span[0]}–w{span[1] - 1})"] = span
    return out


def default_model(entries: list[ModelEntry]) -> str | None:
    """DEFAULT_MODEL where it is listed (another --weights folder may lack it), else the first model with
    saved directions (so a drag moves the picture at once), else the first."""
    names = [e.name for e in entries]
    if DEFAULT_MODEL in names:
        return DEFAULT_MODEL
    return next((e.name for e in entries if dirs.has_directions(e.path)), names[0] if names else None)


def first_name(saved) -> str:
    """What slot 1 opens on: the model's most telling saved direction (dirs.first_choice), or NONE."""
    d = dirs.first_choice(list(saved.values()) if isinstance(saved, dict) else list(saved))
    return d.name if d else NONE


def saved_directions(services: Services, entry: ModelEntry) -> dict[str, dirs.Direction]:
    """The directions saved beside the model, by name."""
    G = generator(services, entry)
    return {d.name: d for d in dirs.load_directions(entry.path, G.w_dim)}


def edits(services: Services, entry: ModelEntry, slots) -> tuple[Edit, ...]:
    """slots: SLOTS triples (direction name, strength, layer range label) -> the Edits applied."""
    saved, ranges = saved_directions(services, entry), layer_ranges(generator(services, entry))
    out = []
    for name, strength, span in slots:
        name = inputs.name(name, "A direction")
        strength = inputs.within(strength, "A strength (standard deviations)", limits.DIRECTION_STRENGTH)
        if not name or name == NONE or not strength:
            continue
        if name not in saved:
            raise gr.Error(f"Direction {inputs.shown(name)} is not saved beside this model; pick one from the list.")
        if not isinstance(span, str) or span not in ranges:
            raise gr.Error(f"Layer range {inputs.shown(span)} does not fit this model; pick one from the list.")
        d = saved[name]
        out.append(Edit(tuple(float(x) for x in d.vector), strength, d.std, ranges[span]))
    return tuple(out)


def _source(seed, slot_values):
    """The seed, or the projected image the "from" picker (after the slots) names."""
    latent = slot_values[3 * SLOTS] if len(slot_values) > 3 * SLOTS else latent_ui.SEED
    return latent_ui.source(seed, latent, "Seed")


def _label(services: Services, entry: ModelEntry, slot_values) -> int | None:
    """The class picker's value (after the "from" picker), checked against the model."""
    raw = slot_values[3 * SLOTS + 1] if len(slot_values) > 3 * SLOTS + 1 else None
    return class_ui.value(services, entry, raw)


def render(services: Services, model: str | None, seed, psi, *slot_values):
    """Handler: (original picture, edited picture, info markdown). slot_values: SLOTS x (direction,
    strength, range), then the "from" picker's value (the seed, or a projected "@key"), then the class
    picker's (a conditional model's class for a seed)."""
    entry = find_entry(services, model)
    seed = _source(seed, slot_values)
    label = _label(services, entry, slot_values) if not isinstance(seed, str) else None
    slots = [slot_values[i:i + 3] for i in range(0, 3 * SLOTS, 3)]
    applied = edits(services, entry, slots)
    psi = psi_value(psi, entry)
    with user_errors(RenderError):
        original = services.edits.render(entry.path, seed, psi, (), key="edit-original", label=label)
        edited = services.edits.render(entry.path, seed, psi, applied, label=label)
    runs = "" if edited.layers_run < 0 else f", {edited.layers_run} synthesis layers re-run"
    what = describe_source(seed) + ("" if label is None else f" ({describe_class(generator(services, entry), label)})")
    info = (f"{what} · {len(applied)} direction{'s' if len(applied) != 1 else ''} applied in "
            f"{services.edits.space(entry.path)} · edited image in {edited.ms:.1f} ms{runs}")
    return live_picture(original.picture), live_picture(edited.picture), info


def open_model(services: Services, model: str | None, slot_values=None, latent=latent_ui.SEED, label=None):
    """Handler: direction lists and layer ranges for the model (SLOTS x (direction, strength, range)), the
    finder's layer-range and attribute choices. A model just opened has its most telling saved direction in
    slot 1 at strength 0, so the first drag of that strength moves the picture; with slot_values (SLOTS
    triples the page shows for this same model) the user's choices are kept where they are still saved.
    Then the "from" picker and the class picker (a conditional model's classes)."""
    entry = find_entry(services, model)
    saved = saved_directions(services, entry)
    names = [NONE, *saved]
    ranges = list(layer_ranges(generator(services, entry)))
    clf = services.edits.classifier(entry.path)
    attrs = _attribute_names(clf)
    if slot_values is None:
        slot_values = [first_name(saved), 0.0, ranges[0]] + [NONE, 0.0, ranges[0]] * (SLOTS - 1)
    slot_updates = []
    for i in range(SLOTS):
        name, strength, span = slot_values[3 * i:3 * i + 3]
        kept = isinstance(name, str) and name in saved
        slot_updates += [gr.update(choices=names, value=name if kept else NONE),
                         gr.update(value=strength if kept else 0.0),
                         gr.update(choices=ranges, value=span if span in ranges else ranges[0])]
    return (*slot_updates, gr.update(choices=ranges, value=ranges[0]),
            gr.update(choices=attrs, value=attrs[0] if attrs else None), gr.update(choices=attrs, value=[]),
            latent_ui.update(entry, latent), class_ui.update(entry, label))


def _attribute_names(clf) -> list[str]:
    if clf is None:
        return []
    names = []
    for a in clf.attributes:
        names += [f"{a.name}={k}" for k in range(a.classes)] if a.kind == "class" else [a.name]
    return names


def find(services: Services, model: str | None, method_label: str, k, span: str, attribute: str | None,
         keep: list | None, seeds_a: str, seeds_b: str, name: str):
    """Handler: find directions, save them beside the model; (table markdown, SLOTS direction-list updates)."""
    entry = find_entry(services, model)
    method = METHODS[inputs.choice(method_label, "The method", METHODS)]
    k = inputs.whole_within(k, "Number of directions", limits.FOUND)
    G = generator(services, entry)
    ranges = layer_ranges(G)
    with user_errors(RenderError):
        if method == "sefa":
            if not isinstance(span, str) or span not in ranges:
                raise gr.Error(f"Layer range {inputs.shown(span)} does not fit this model; pick one from the list.")
            found = services.edits.find_sefa(entry.path, k, ranges[span])
        elif method == "pca":
            found = services.edits.find_pca(entry.path, k)
        elif method == "supervised":
            attribute = inputs.name(attribute, "The attribute")
            if not attribute:
                raise gr.Error("Pick the attribute to find (the list comes from the model's attribute classifier).")
            if not isinstance(keep or [], list):
                raise gr.Error(f"Keep unchanged takes a list of attributes; got {inputs.shown(keep)}.")
            keep = [inputs.name(a, "An attribute to keep") for a in keep or []]
            found = [services.edits.find_supervised(entry.path, attribute, [a for a in keep if a and a != attribute])]
        else:
            a = inputs.seeds(seeds_a, "seeds in group A", limits.MEANS_SEEDS)
            b = inputs.seeds(seeds_b, "seeds in group B", limits.MEANS_SEEDS)
            name = inputs.name(name, "The name")
            label = (name or "").strip() or f"means {seeds_a.strip()} → {seeds_b.strip()}"
            found = [services.edits.find_means(entry.path, label, a, b)]
    for d in found:
        dirs.save_direction(entry.path, d)
    rows = ["| direction | method | statistic | std (latent units) |", "|---|---|---|---|"]
    for d in found:
        stat = ", ".join(f"{key} {val:.4g}" for key, val in d.stats.items() if isinstance(val, float))
        rows.append(f"| {d.name} | {d.method} | {stat} | {d.std:.4g} |")
    names = [NONE, *saved_directions(services, entry)]
    return "\n".join(rows), *(gr.update(choices=names) for _ in range(SLOTS))


def first_if_none(services: Services, model: str | None, current):
    """Handler after Find and save: slot 1's (direction, strength), the model's first choice at strength 0
    where slot 1 has no direction yet (its strength moved nothing), so a drag of it moves the picture."""
    if isinstance(current, str) and current and current != NONE:
        return gr.skip(), gr.skip()
    return gr.update(value=first_name(saved_directions(services, find_entry(services, model)))), gr.update(value=0.0)


# --- recipes -----------------------------------------------------------------------------------


def build_recipe(services: Services, model, seed, psi, *slot_values):
    entry = find_entry(services, model)
    slots = [slot_values[i:i + 3] for i in range(0, 3 * SLOTS, 3)]
    applied = edits(services, entry, slots)
    names = [s[0] for s in slots if s[0] and s[0] != NONE and float(s[1])]  # edits() checked them
    uses = [DirectionUse(n, list(e.vector), e.strength, e.std, list(e.layers) if e.layers else None)
            for n, e in zip(names, applied)]
    source = _source(seed, slot_values)
    label = _label(services, entry, slot_values) if not isinstance(source, str) else None
    recipe = image_recipe_ui.new_recipe(services, entry, "edit", [source],
                                        truncation_psi=float(psi) if offers_psi(entry) else 1.0,
                                        directions=uses, classes=class_ui.recipe_classes(label, 1))
    return recipe, render(services, model, seed, psi, *slot_values)[1]


def restore(services: Services, r, entry: ModelEntry):
    """Updates for [model, seed, psi, *SLOTS x (direction, strength, range), from, class, original, edited,
    info]."""
    if len(r.directions) > SLOTS:
        raise gr.Error(f"This recipe applies {len(r.directions)} directions; the tab has {SLOTS} slots.")
    saved = saved_directions(services, entry)
    ranges = {v: k for k, v in layer_ranges(generator(services, entry)).items()}
    G = generator(services, entry)
    for u in r.directions:  # a direction the recipe carries but this model lacks is saved again
        if len(u.vector) != G.w_dim:
            raise gr.Error(f"Direction {u.name!r} has {len(u.vector)} values; this model's latents have {G.w_dim}.")
        span = (0, G.num_ws) if u.layers is None else tuple(u.layers)
        if span not in ranges:
            raise gr.Error(f"Direction {u.name!r} acts on ws {span[0]}..{span[1]}, which is no layer range here.")
    for u in r.directions:
        if u.name not in saved or [float(x) for x in saved[u.name].vector] != u.vector or saved[u.name].std != u.std:
            dirs.save_direction(entry.path, dirs.Direction(u.name, "recipe", u.vector, u.std, None,
                                                           dirs.latent_space(G)))
    names = [NONE, *saved_directions(services, entry)]
    slot_vals = []
    for i in range(SLOTS):
        if i < len(r.directions):
            u = r.directions[i]
            span = ranges[(0, G.num_ws) if u.layers is None else tuple(u.layers)]
            slot_vals += [u.name, u.strength, span]
        else:
            slot_vals += [NONE, 0.0, ranges[(0, G.num_ws)]]
    psi = r.truncation_psi if offers_psi(entry) else 1.0  # image_recipe_ui.psi_note says why
    seed, latent = latent_ui.split(r.seeds[0])
    label = class_ui.recipe_class(services, r, entry)
    shown = render(services, entry.name, seed or 0, psi, *slot_vals, latent, label)
    updates = []
    for i in range(SLOTS):
        updates += [gr.update(choices=names, value=slot_vals[3 * i]), slot_vals[3 * i + 1],
                    gr.update(choices=list(ranges.values()), value=slot_vals[3 * i + 2])]
    return (entry.name, gr.skip() if seed is None else seed, gr.update(value=psi, visible=offers_psi(entry)), *updates,
            latent_ui.update(entry, latent), class_ui.update(entry, label), *shown)
