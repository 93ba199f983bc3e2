"""The Edit tab: find latent directions on the opened model (SeFa, PCA, supervised attribute
directions, difference of means), save them beside it, and apply several at once with a strength
(in standard deviations) and a layer range each, re-rendering while a slider is dragged. Works for
every family: in w with a mapping network, in z otherwise."""

from __future__ import annotations

import gradio as gr

from .. import limits
from ..edit import directions as dirs
from ..edit.latents import MAX_SEED
from ..edit.mixing import PRESET_RANGES, preset_span
from ..edit.image_recipe import DirectionUse
from ..render.edit import Edit
from ..render import LIVE_PX, RenderError, display_factor, enlarge
from ..weights import ModelEntry
from . import LIVE, inputs, recipe_ui
from .services import Services
from .shown import Shown

# The model the tab opens on: of the shipped ones, its supervised directions move their named factor most
# cleanly (bench/direction_factors.py; the first StyleGAN's move several factors at once).
DEFAULT_MODEL = "stylegan2-faces"
SLOTS = 8        # directions applied at once
SHOWN = 4        # slots open at first; the rest sit in a closed accordion
NONE = "(none)"
METHODS = {"SeFa (closed form)": "sefa", "PCA (GANSpace)": "pca", "Supervised attribute": "supervised",
           "Difference of means": "means"}
INTRO = ("Move the image along up to eight **directions** at once in this model's latent space (*w* behind a "
         "mapping network, *z* otherwise). The shipped models come with directions (SeFa, PCA, attributes "
         "named in words), and Direction 1 opens on the most telling one: drag its strength. Strengths are in "
         "standard deviations of the model's own latents; a layer range applies a direction to some style inputs "
         "only (coarse = layout, fine = colour). Directions you find below are saved beside the model and listed "
         "when it is opened again.")


# --- handlers ----------------------------------------------------------------------------------


def _entry(services: Services, name: str | None) -> ModelEntry:
    name = inputs.name(name, "Model")
    if not name:
        raise gr.Error("No model is selected. Train or import one, then press Refresh list.")
    entry = services.find_model(name)
    if entry is None:
        raise gr.Error(f"Model {name!r} is no longer there; press Refresh list.")
    return entry


def _model(services: Services, entry: ModelEntry):
    try:
        return services.renderer.model(entry.path)[0]
    except RenderError as e:
        raise gr.Error(str(e)) from None


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


def _directions(services: Services, entry: ModelEntry) -> dict[str, dirs.Direction]:
    G = _model(services, entry)
    return {d.name: d for d in dirs.load_directions(entry.path, G.w_dim)}


_whole = inputs.whole


def edits(services: Services, entry: ModelEntry, slots) -> tuple[Edit, ...]:
    """slots: SLOTS triples (direction name, strength, layer range label) -> the Edits applied."""
    saved, ranges = _directions(services, entry), layer_ranges(_model(services, entry))
    out = []
    for name, strength, span in slots:
        name = inputs.name(name, "A direction")
        strength = inputs.number(strength, "A strength (standard deviations)", -dirs.MAX_STRENGTH, dirs.MAX_STRENGTH)
        if not name or name == NONE or not strength:
            continue
        if name not in saved:
            raise gr.Error(f"Direction {inputs.shown(name)} is not saved beside this model; pick one from the list.")
        if not isinstance(span, str) or span not in ranges:
            raise gr.Error(f"Layer range {inputs.shown(span)} does not fit this model; pick one from the list.")
        d = saved[name]
        out.append(Edit(tuple(float(x) for x in d.vector), strength, d.std, ranges[span]))
    return tuple(out)


def _show(picture):
    return recipe_ui.squeeze(enlarge(picture[None], display_factor(picture.shape[0], LIVE_PX))[0])


def render(services: Services, model: str | None, seed, psi, *slot_values):
    """Handler: (original picture, edited picture, info markdown)."""
    entry = _entry(services, model)
    seed = _whole(seed, "Seed", 0, MAX_SEED)
    slots = [slot_values[i:i + 3] for i in range(0, 3 * SLOTS, 3)]
    applied = edits(services, entry, slots)
    psi = inputs.number(psi, "Truncation ψ", 0.0, 1.5) if recipe_ui.offers_psi(entry) else 1.0
    try:
        original = services.edits.render(entry.path, seed, psi, (), key="edit-original")
        edited = services.edits.render(entry.path, seed, psi, applied)
    except RenderError as e:
        raise gr.Error(str(e)) from None
    runs = "" if edited.layers_run < 0 else f", {edited.layers_run} synthesis layers re-run"
    info = (f"{len(applied)} direction{'s' if len(applied) != 1 else ''} applied in "
            f"{services.edits.space(entry.path)} · edited image in {edited.ms:.1f} ms{runs}")
    return _show(original.picture), _show(edited.picture), info


def open_model(services: Services, model: str | None, slot_values=None):
    """Handler: direction lists and layer ranges for the model (SLOTS x (direction, strength, range)), the
    finder's layer-range and attribute choices. A model just opened has its most telling saved direction in
    slot 1 at strength 0, so the first drag of that strength moves the picture; with slot_values (SLOTS
    triples the page shows for this same model) the user's choices are kept where they are still saved."""
    entry = _entry(services, model)
    saved = _directions(services, entry)
    names = [NONE, *saved]
    ranges = list(layer_ranges(_model(services, entry)))
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
            gr.update(choices=attrs, value=attrs[0] if attrs else None), gr.update(choices=attrs, value=[]))


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
    entry = _entry(services, model)
    method = METHODS[inputs.choice(method_label, "The method", METHODS)]
    k = _whole(k, "Number of directions", 1, limits.DIRECTIONS_FOUND)
    G = _model(services, entry)
    ranges = layer_ranges(G)
    try:
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
    except RenderError as e:
        raise gr.Error(str(e)) from None
    for d in found:
        dirs.save_direction(entry.path, d)
    rows = ["| direction | method | statistic | std (latent units) |", "|---|---|---|---|"]
    for d in found:
        stat = ", ".join(f"{key} {val:.4g}" for key, val in d.stats.items() if isinstance(val, float))
        rows.append(f"| {d.name} | {d.method} | {stat} | {d.std:.4g} |")
    names = [NONE, *_directions(services, entry)]
    return "\n".join(rows), *(gr.update(choices=names) for _ in range(SLOTS))


def first_if_none(services: Services, model: str | None, current):
    """Handler after Find and save: slot 1's (direction, strength), the model's first choice at strength 0
    where slot 1 has no direction yet (its strength moved nothing), so a drag of it moves the picture."""
    if isinstance(current, str) and current and current != NONE:
        return gr.skip(), gr.skip()
    return gr.update(value=first_name(_directions(services, _entry(services, model)))), gr.update(value=0.0)


# --- recipes -----------------------------------------------------------------------------------


def build_recipe(services: Services, model, seed, psi, *slot_values):
    entry = _entry(services, model)
    slots = [slot_values[i:i + 3] for i in range(0, 3 * SLOTS, 3)]
    applied = edits(services, entry, slots)
    names = [s[0] for s in slots if s[0] and s[0] != NONE and float(s[1])]  # edits() checked them
    uses = [DirectionUse(n, list(e.vector), e.strength, e.std, list(e.layers) if e.layers else None)
            for n, e in zip(names, applied)]
    recipe = recipe_ui.new_recipe(services, entry, "edit", [_whole(seed, "Seed", 0, MAX_SEED)],
                                  truncation_psi=float(psi) if recipe_ui.offers_psi(entry) else 1.0,
                                  directions=uses)
    return recipe, render(services, model, seed, psi, *slot_values)[1]


def restore(services: Services, r, entry: ModelEntry):
    """Updates for [model, seed, psi, *SLOTS x (direction, strength, range), original, edited, info]."""
    if len(r.directions) > SLOTS:
        raise gr.Error(f"This recipe applies {len(r.directions)} directions; the tab has {SLOTS} slots.")
    saved = _directions(services, entry)
    ranges = {v: k for k, v in layer_ranges(_model(services, entry)).items()}
    G = _model(services, entry)
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
    names = [NONE, *_directions(services, entry)]
    slot_vals = []
    for i in range(SLOTS):
        if i < len(r.directions):
            u = r.directions[i]
            span = ranges[(0, G.num_ws) if u.layers is None else tuple(u.layers)]
            slot_vals += [u.name, u.strength, span]
        else:
            slot_vals += [NONE, 0.0, ranges[(0, G.num_ws)]]
    psi = r.truncation_psi if recipe_ui.offers_psi(entry) else 1.0  # recipe_ui.psi_note says why
    shown = render(services, entry.name, r.seeds[0], psi, *slot_vals)
    updates = []
    for i in range(SLOTS):
        updates += [gr.update(choices=names, value=slot_vals[3 * i]), slot_vals[3 * i + 1],
                    gr.update(choices=list(ranges.values()), value=slot_vals[3 * i + 2])]
    return (entry.name, r.seeds[0], gr.update(value=psi, visible=recipe_ui.offers_psi(entry)), *updates, *shown)


# --- layout and wiring ---------------------------------------------------------------------------


def create_edit_tab(services: Services) -> dict:
    entries = services.models()
    names = [m.name for m in entries]
    start = default_model(entries)
    entry = next((e for e in entries if e.name == start), None)
    # Slot 1's direction and every slot's layer ranges, so the controls hold valid values before the page
    # load fills them (an API call with the defaults works too).
    try:
        saved, ranges = (_directions(services, entry), list(layer_ranges(_model(services, entry)))) if entry \
            else ({}, [])
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
            psi = gr.Slider(0.0, 1.5, value=1.0, step=0.05, label="Truncation ψ", elem_id="ed-psi",
                            visible=recipe_ui.offers_psi(entry))
        with gr.Row():
            original = gr.Image(label="Original", type="numpy", format="png", interactive=False, height=256,
                                elem_id="ed-original")
            edited = gr.Image(label="Edited", type="numpy", format="png", interactive=False, height=256,
                              elem_id="ed-edited")
        info = gr.Markdown(elem_id="ed-info")
        slots = []  # dropdowns take any value: a direction saved after page load; the handler checks names

        def slot_row(i: int) -> list:
            with gr.Row():
                value = first if i == 0 else NONE
                return [gr.Dropdown([NONE, *saved], value=value, label=f"Direction {i + 1}",
                                    scale=3, elem_id=f"ed-dir{i}", allow_custom_value=True),
                        gr.Slider(-dirs.MAX_STRENGTH, dirs.MAX_STRENGTH, value=0.0, step=0.1,
                                  label="Strength (std)", scale=3, elem_id=f"ed-strength{i}"),
                        gr.Dropdown(ranges, value=ranges[0] if ranges else None, label="Layers", scale=2,
                                    elem_id=f"ed-layers{i}", allow_custom_value=True)]

        for i in range(SHOWN):
            slots += slot_row(i)
        with gr.Accordion(f"More directions ({SHOWN + 1}–{SLOTS})", open=False):
            for i in range(SHOWN, SLOTS):
                slots += slot_row(i)
        rec = recipe_ui.recipe_row("ed")
        with gr.Accordion("Find directions", open=True):
            gr.Markdown("**SeFa**: eigenvectors of the style weights of the chosen layers (eigenvalue). **PCA**: "
                        "principal axes of 2,000 sampled *w* with a mapping network; without one, of the first "
                        "4×4 layer's activations for 2,000 sampled *z*, each regressed back to *z* (the fraction "
                        "of their variance explained). **Supervised**: a linear classifier separating samples "
                        "the attribute classifier labels; *keep* projects out other attributes. **Difference of "
                        "means**: from group A's seeds to group B's.")
            with gr.Row():
                method = gr.Radio(list(METHODS), value="SeFa (closed form)", label="Method", elem_id="ed-method")
                k = gr.Slider(1, limits.DIRECTIONS_FOUND, value=8, step=1, label="How many (SeFa, PCA)",
                              elem_id="ed-k")
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

    inputs = [model, seed, psi, *slots]
    drawn = [  # what a render draws: the pictures, then their info
        original, edited, info]
    shown = [*drawn, seen.state]
    dir_dropdowns = slots[0::3]
    opened = [*slots, span, attribute, keep]

    @seen.skipping
    def _render(*args):
        return render(services, *args)

    def _open(m, seed, psi, slot_values=None):
        if not m:
            return (gr.skip(),) * (len(opened) + len(drawn))
        ups = open_model(services, m, slot_values)
        vals = [m, seed, psi, *(u["value"] for u in ups[:3 * SLOTS])]
        return (*ups, *render(services, *vals))

    @seen.recording
    def _refresh(m, seed=0, psi=1.0, *slot_values):
        """On page load (the model alone) the model opens afresh; the Refresh button also sends the seed, ψ
        and slots, kept while the model is still listed."""
        entries = services.models()
        names = [e.name for e in entries]
        value = m if m in names else default_model(entries)
        kept = list(slot_values) if len(slot_values) == 3 * SLOTS and value == m else None
        return gr.update(choices=names, value=value), *_open(value, seed, psi, kept)

    def _find(*args):
        return find(services, *args)

    live = LIVE
    gr.on([*(s.input for s in slots), psi.input, seed.submit, seed.blur], _render, [*inputs, seen.state], shown,
          api_name="edit_render", **live)
    model.input(seen.recording(_open), [model, seed, psi], [*opened, *shown], api_name="edit_select",
                concurrency_limit=2, trigger_mode="always_last")
    model.change(lambda m: recipe_ui.psi_control(services, m), [model], [psi], api_visibility="private",
                 concurrency_limit=None)  # every way a model is chosen: a pick, a page load, Refresh
    refresh_btn.click(_refresh, inputs, [model, *opened, *shown], api_name="edit_refresh", concurrency_limit=2)
    find_btn.click(_find, [model, method, k, span, attribute, keep, seeds_a, seeds_b, name],
                   [table, *dir_dropdowns], api_name="edit_find", concurrency_limit=1).success(
        lambda m, d: first_if_none(services, m, d), [model, dir_dropdowns[0]], slots[:2], api_visibility="private")
    recipe_ui.wire(rec, services, "edit", lambda *a: build_recipe(services, *a), inputs,
                   seen.recording(lambda r, e: restore(services, r, e)), [*inputs, *shown], "edit")
    return {"model": model, "seed": seed, "psi": psi, "slots": slots, "original": original, "edited": edited,
            "info": info, "recipe": rec, "method": method, "k": k, "span": span, "attribute": attribute,
            "keep": keep, "seeds_a": seeds_a, "seeds_b": seeds_b, "name": name, "find": find_btn, "table": table,
            "refresh": refresh_btn, "open_fn": _open, "refresh_fn": _refresh, "refresh_outputs": [*opened, *shown]}
