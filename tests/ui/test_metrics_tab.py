"""The Metrics tab: handlers called directly, then the launched app over HTTP (gradio_client)."""

from __future__ import annotations

import json
import os

import gradio as gr
import pytest
import torch
from helpers import AppDirs, launch_app, make_tiny_checkpoint

from explorer.metrics import evaluate
from explorer.ui import metrics_tab
from explorer.ui.services import Services


def _no_progress(*args, **kwargs):
    pass


@pytest.fixture(scope="module")
def metrics_dirs(tmp_path_factory) -> AppDirs:
    """Own folders (measuring writes to the cards): a shipped tiny DCGAN and a run with two snapshots."""
    root = tmp_path_factory.mktemp("app-metrics")
    dirs = AppDirs(root / "weights", root / "runs")
    make_tiny_checkpoint(dirs.weights / "tiny")
    for i, kimg in enumerate([1.0, 2.0]):
        make_tiny_checkpoint(dirs.runs / "grow" / "snapshots" / f"snapshot-{i:06d}", seed=i,
                             train={"kimg": kimg, "data": "faces", "recipe": "dcgan"})
    old = os.environ.get(evaluate.CACHE_ENV)
    os.environ[evaluate.CACHE_ENV] = str(root / "cache")
    yield dirs
    if old is None:
        os.environ.pop(evaluate.CACHE_ENV)
    else:
        os.environ[evaluate.CACHE_ENV] = old


@pytest.fixture(scope="module")
def services(metrics_dirs):
    return Services(metrics_dirs.weights, metrics_dirs.runs, torch.device("cpu"))


def test_measure_appends_to_the_card_and_shows_history(services, metrics_dirs):
    summary, table, hist, curve = metrics_tab.measure(services, "tiny", ["kid", "pr"], 40, ["domain"], _no_progress)
    assert "appended" in summary
    assert list(table["metric"]) == ["kid", "precision", "recall"]
    assert set(table["net"]) == {"domain:faces"} and set(table["n_fake"]) == {40}
    card = json.loads((metrics_dirs.weights / "tiny.json").read_text())
    assert [r["metric"] for r in card["metrics"]] == ["kid", "precision", "recall"]
    assert len(hist) == 3 and curve["visible"] is False  # one checkpoint: a table, no curve


def test_measure_errors_are_sentences(services):
    with pytest.raises(gr.Error, match="KID"):
        metrics_tab.measure(services, "tiny", ["fid"], 30, ["domain"], _no_progress)
    with pytest.raises(gr.Error, match="no longer there"):
        metrics_tab.measure(services, "gone", ["kid"], 30, ["domain"], _no_progress)
    with pytest.raises(gr.Error, match="whole number"):
        metrics_tab.measure(services, "tiny", ["kid"], 2.5, ["domain"], _no_progress)
    with pytest.raises(gr.Error, match="Unknown feature network"):
        metrics_tab.measure(services, "tiny", ["kid"], 30, ["inception"], _no_progress)


def test_a_runs_snapshots_make_a_curve_over_kimg(services, metrics_dirs):
    snaps = metrics_dirs.runs / "grow" / "snapshots"
    for i, value in enumerate([0.3, 0.1]):
        evaluate.append_to_card(snaps / f"snapshot-{i:06d}.json",
                                [{"metric": "kid", "value": value, "net": "lite0", "kimg": float(i + 1)}])
    table, curve = metrics_tab.show_history(services, "run: grow")
    assert list(table["snapshot"]) == ["snapshot-000000", "snapshot-000001"]
    assert curve["visible"] is True
    assert curve["value"]["kimg"].tolist() == [1.0, 2.0] and curve["value"]["value"].tolist() == [0.3, 0.1]
    assert set(curve["value"]["series"]) == {"kid · lite0"}


def test_launched_app_measures_over_http(metrics_dirs):
    from gradio_client import Client

    server = launch_app(metrics_dirs)
    app = next(server)
    try:
        client = Client(app.url, verbose=False)
        summary, result, hist, _curve = client.predict("tiny", ["kid"], 30, ["domain"], api_name="/metrics_measure")
        assert "appended" in summary
        assert [row[2] for row in result["data"]] == ["kid"]
        assert hist["data"][-1][2] == "kid" and hist["data"][-1][4] == "domain:faces"
        with pytest.raises(Exception, match="KID"):
            client.predict("tiny", ["fid"], 30, ["domain"], api_name="/metrics_measure")
    finally:
        server.close()


def test_how_long_measuring_takes_is_said_before_it_starts(services):
    """The estimate names what the time goes on; real features computed once are then cached, and said so."""
    first = metrics_tab.estimate_text(services, "tiny", ["kid"], 50, ["domain"])  # more than other tests measured
    assert first.startswith("About **") and " s** on this machine" in first
    assert "50 generated images through domain:faces" in first and "50 real ones (cached after this run)" in first
    metrics_tab.measure(services, "tiny", ["kid"], 50, ["domain"], _no_progress)
    again = metrics_tab.estimate_text(services, "tiny", ["kid"], 50, ["domain"])
    assert "50 generated images" in again and "real ones" not in again
    assert "path length over 80 pairs" in metrics_tab.estimate_text(services, "tiny", ["kid", "ppl"], 40, ["domain"])
    seconds, _ = evaluate.estimate(evaluate.Job(services.find_model("tiny").path, ("kid",), 4000, ("domain",)))
    assert seconds > evaluate.estimate(evaluate.Job(services.find_model("tiny").path, ("kid",), 40, ("domain",)))[0]
    # What cannot run is said instead of a time, and nothing is measured.
    assert "whole number" in metrics_tab.estimate_text(services, "tiny", ["kid"], 2.5, ["domain"])
    assert metrics_tab.estimate_text(services, "tiny", [], 40, ["domain"]).startswith("Tick at least one")
    assert metrics_tab.estimate_text(services, None, ["kid"], 40, ["domain"]) == ""


def test_each_model_gets_the_feature_network_its_data_has(services, tmp_path):
    assert metrics_tab.nets_for(services, "tiny") == ["domain"]  # trained on faces
    make_tiny_checkpoint(tmp_path / "w" / "own", train={"kimg": 1.0, "data": "/some/folder", "recipe": "dcgan"})
    other = Services(tmp_path / "w", tmp_path / "r", torch.device("cpu"))
    assert metrics_tab.nets_for(other, "own") == ["lite0"] and metrics_tab.nets_for(other, None) == ["lite0"]
