"""The Metrics tab: FID, KID, precision/recall, path length and separability of a model, with a
progress bar, appended to the model's card; its history as a table and, for a run, a curve over kimg."""

from __future__ import annotations

import json
import os
from pathlib import Path

import gradio as gr
import pandas as pd

from .. import limits
from ..attributes import ClassifierError
from ..metrics.evaluate import METRICS, Job, MetricError, append_to_card, estimate, history, run
from ..metrics.features import INCEPTION_ENV, FeatureNetError
from ..metrics.maths import SampleCountError
from . import inputs
from .common import TabHandle, find_entry, model_list, user_errors
from .services import Services

TABLE_COLUMNS = ["snapshot", "kimg", "metric", "value", "net", "n_real", "n_fake", "seconds", "date"]
INTRO = (
    "Numbers to judge a model by, each with the **feature network** it used: `lite0` (EfficientNet-Lite0 trained "
    "on ImageNet, shipped on PyPI), `domain` (the project's own attribute classifier for faces or MNIST, no "
    "ImageNet in it) or `inception` (the standard FID network, only when the server was started with "
    f"`{INCEPTION_ENV}` pointing to its file). Compare numbers only when the network and sample counts match. "
    "FID needs more samples than the network has features (1,280 for lite0); KID is unbiased at any count. "
    "Results are appended to the model's card; a training run shows all its snapshots. The same from a "
    "terminal: `python -m explorer.metrics --model NAME --metric fid,kid,pr,ppl,sep --n 5000`.")


def net_choices() -> list[str]:
    return ["lite0", "domain"] + (["inception"] if os.environ.get(INCEPTION_ENV) else [])


def nets_for(services: Services, model_name: str | None) -> list[str]:
    """The tab's feature network for a model: its own data's classifier (domain) where the data set has
    one, which is quick and knows the domain; lite0 otherwise."""
    entry = services.find_model(model_name) if model_name else None
    try:
        data = json.loads(Path(entry.path).read_text()).get("train", {}).get("data") if entry else None
    except (OSError, ValueError, AttributeError):
        data = None
    return ["domain"] if data in ("faces", "mnist") else ["lite0"]


def _duration(seconds: float) -> str:
    m, s = divmod(round(seconds), 60)
    return f"{m} min {s:02d} s" if m else f"{max(s, 1)} s"


def estimate_text(services: Services, model_name: str | None, metrics, n, nets) -> str:
    """Handler: how long Measure will take on this machine, said before it starts (or why it cannot run)."""
    entry = services.find_model(inputs.name(model_name, "Model")) if model_name else None
    if entry is None:
        return ""
    try:
        metrics, nets = _ticked(metrics, "Metrics"), _ticked(nets, "Feature networks")
        n = inputs.whole_within(n, "Samples", limits.METRIC_N)
    except gr.Error as e:
        return f"⚠️ {e.message}"
    if not metrics or set(metrics) - set(METRICS) or (not nets and set(metrics) - {"sep"}) \
            or set(nets) - set(net_choices()):
        return "Tick at least one metric and one feature network."
    try:
        seconds, what = estimate(Job(entry.path, tuple(m for m in METRICS if m in metrics), n, tuple(nets)))
    except MetricError as e:
        return f"⚠️ {e}"
    text = f"About **{_duration(seconds)}** on this machine: {what}."
    return text + " Fewer samples give a quicker, noisier number." if seconds > 60 else text


def history_table(checkpoint: str) -> pd.DataFrame:
    rows = history(checkpoint)
    return pd.DataFrame([{c: r.get(c) for c in TABLE_COLUMNS} for r in rows], columns=TABLE_COLUMNS)


def history_curve(checkpoint: str):
    """Long-format (kimg, value, series) over a run's snapshots, or None when there is no curve to draw."""
    rows = [r for r in history(checkpoint) if isinstance(r.get("kimg"), (int, float))]
    frame = pd.DataFrame({"kimg": [float(r["kimg"]) for r in rows], "value": [float(r["value"]) for r in rows],
                          "series": [f"{r['metric']} · {r['net']}" for r in rows]})
    return frame if frame["kimg"].nunique() > 1 else None


def show_history(services: Services, model_name: str | None):
    """Handler: (history table, curve update) for the model; nothing when no model is chosen."""
    entry = services.find_model(model_name) if model_name else None
    if entry is None:
        return pd.DataFrame(columns=TABLE_COLUMNS), gr.update(value=None, visible=False)
    curve = history_curve(entry.path)
    return history_table(entry.path), gr.update(value=curve, visible=curve is not None)


def measure(services: Services, model_name: str | None, metrics: list[str], n, nets: list[str],
            progress=gr.Progress()):
    """Handler: run the metrics, append them to the card; (summary markdown, this run's table, history, curve)."""
    entry = find_entry(services, model_name, "No model is selected. Pick one, or train one and press Refresh list.")
    metrics, nets = _ticked(metrics, "Metrics"), _ticked(nets, "Feature networks")
    if not metrics:
        raise gr.Error("Tick at least one metric.")
    if not nets and set(metrics) - {"sep"}:
        raise gr.Error("Tick at least one feature network.")
    n = inputs.whole_within(n, "Samples", limits.METRIC_N)
    unknown = set(nets) - set(net_choices())
    if unknown:
        raise gr.Error(f"Unknown feature network(s) {sorted(unknown)}; choose from {', '.join(net_choices())}.")
    if set(metrics) - set(METRICS):
        raise gr.Error(f"Unknown metric(s) {sorted(set(metrics) - set(METRICS))}; choose from {', '.join(METRICS)}.")
    job = Job(entry.path, tuple(m for m in METRICS if m in metrics), n, tuple(nets) or ("lite0",))
    with user_errors(MetricError, FeatureNetError, SampleCountError, ClassifierError):
        progress(0.0, desc="loading networks")
        rows = run(job, progress=lambda f, s: progress(f, desc=s))
        append_to_card(entry.path, rows)
    table = pd.DataFrame([{c: r.get(c) for c in TABLE_COLUMNS} for r in rows], columns=TABLE_COLUMNS)
    total = sum(r["seconds"] for r in rows)
    summary = (f"**{entry.name}** at {rows[0]['kimg'] if rows else '?'} kimg: {len(rows)} "
               f"number{'s' if len(rows) != 1 else ''} in {total:.0f} s, appended to its card.")
    hist, curve = show_history(services, entry.name)
    return summary, table, hist, curve


def _ticked(values, what: str) -> list[str]:
    """A checkbox group's value: a list of names (which are checked against the choices after)."""
    if not isinstance(values or [], list) or len(values or []) > 16 or not all(isinstance(v, str) for v in values or []):
        raise gr.Error(f"{what} takes a list of up to 16 names; got {inputs.shown(values)}.")
    return [inputs.name(v, what) for v in values or []]


def refresh(services: Services, current: str | None):
    picker = model_list(services, current)
    return (picker, *show_history(services, picker["value"]))


def create_metrics_tab(services: Services) -> TabHandle:
    names = [m.name for m in services.models()]
    with gr.Tab("Metrics", id="metrics"):
        gr.Markdown(INTRO)
        with gr.Row():
            model = gr.Dropdown(names, value=names[0] if names else None, label="Model", scale=4,
                                allow_custom_value=True, elem_id="mt-model")
            refresh_btn = gr.Button("Refresh list", size="sm", scale=1, min_width=120, elem_id="mt-refresh")
        with gr.Row():
            metrics = gr.CheckboxGroup([(f"{k}: {v}", k) for k, v in METRICS.items()], value=["kid"], label="Metrics",
                                       scale=3, elem_id="mt-metrics")
            with gr.Column(scale=1):
                n = gr.Number(1000, label="Samples", precision=0, minimum=limits.METRIC_N.lo, maximum=limits.METRIC_N.hi,
                              info="generated (and real) images; 5,000 or more for FID", elem_id="mt-n")
                nets = gr.CheckboxGroup(net_choices(), value=nets_for(services, names[0] if names else None),
                                        label="Feature networks", elem_id="mt-nets")
                go = gr.Button("Measure", variant="primary", elem_id="mt-button")
                how_long = gr.Markdown(elem_id="mt-estimate")
        summary = gr.Markdown(elem_id="mt-summary")
        result = gr.Dataframe(headers=TABLE_COLUMNS, label="This measurement", interactive=False, elem_id="mt-result")
        # Created without a value: a LinePlot first given an empty, untyped frame never draws lines (gradio 6.31).
        curve = gr.LinePlot(x="kimg", y="value", color="series", label="Over the run's snapshots", height=260,
                            visible=False, elem_id="mt-curve")
        table = gr.Dataframe(headers=TABLE_COLUMNS, label="History (the model's card)", interactive=False,
                             elem_id="mt-history")

    def _measure(m, ms, k, ns, progress=gr.Progress()):
        return measure(services, m, ms, k, ns, progress)

    def _history(m):
        return show_history(services, m)

    def _refresh(m):
        return refresh(services, m)

    def _estimate(m, ms, k, ns):
        return estimate_text(services, m, ms, k, ns)

    def _model_chosen(m, ms, k):
        ns = nets_for(services, m)
        return (ns, *show_history(services, m), estimate_text(services, m, ms, k, ns))

    go.click(_measure, [model, metrics, n, nets], [summary, result, table, curve], api_name="metrics_measure",
             concurrency_limit=1).success(_estimate, [model, metrics, n, nets], [how_long], api_visibility="private",
                                          concurrency_limit=2)  # the real features are cached now
    model.input(_history, [model], [table, curve], api_name="metrics_history", concurrency_limit=2)
    # A model picked: its own feature network, its history, and how long measuring it takes.
    model.input(_model_chosen, [model, metrics, n], [nets, table, curve, how_long], api_visibility="private",
                concurrency_limit=2)
    n.input(_estimate, [model, metrics, n, nets], [how_long], api_name="metrics_estimate", concurrency_limit=2,
            trigger_mode="always_last")
    for control in (metrics, nets):
        control.input(_estimate, [model, metrics, n, nets], [how_long], api_visibility="private",
                      concurrency_limit=2, trigger_mode="always_last")
    refresh_btn.click(_refresh, [model], [model, table, curve], api_name="metrics_refresh", concurrency_limit=2)
    # A page load: rescan the models, show the chosen one's history, then how long measuring it takes.
    on_load = ((_refresh, [model], [model, table, curve]), (_estimate, [model, metrics, n, nets], [how_long]))
    return TabHandle("metrics", model, on_load=on_load, parts={
        "model": model, "metrics": metrics, "n": n, "nets": nets, "button": go, "table": table, "curve": curve,
        "result": result, "summary": summary, "refresh_fn": _refresh, "estimate": how_long, "estimate_fn": _estimate})
