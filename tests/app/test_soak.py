"""A short soak of the launched app (bench/load_app.py's soak): `python app.py` in a subprocess over
the tiny test models, a tiny DCGAN training through the Train tab's API meanwhile, and two
simulated users dragging the Generate, ProGAN, StyleGAN and Edit sliders for 10 seconds. Every
render must answer, none may fail, and the job must keep training. About 25 s on 2 cores
(the job adds about 4 s: its start and its stop)."""

from __future__ import annotations

import importlib.util
import signal

import pytest
from helpers import (REPO, TINY_NAME, TINY_PROGAN_NAME, TINY_STYLEGAN_NAME, make_tiny_checkpoint,
                      make_tiny_progan_checkpoint, make_tiny_stylegan_checkpoint)

pytestmark = [pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]


def load_bench():
    spec = importlib.util.spec_from_file_location("load_app", REPO / "bench" / "load_app.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_percentile_interpolates_between_ranks():
    p = load_bench().percentile
    assert p([], 50) is None
    assert p([3.0], 99) == 3.0
    assert p([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert p(list(map(float, range(101))), 95) == 95.0


def test_two_users_for_ten_seconds_while_a_job_trains(tmp_path):
    weights = tmp_path / "weights"
    make_tiny_checkpoint(weights / TINY_NAME)
    make_tiny_progan_checkpoint(weights / TINY_PROGAN_NAME)
    make_tiny_stylegan_checkpoint(weights / TINY_STYLEGAN_NAME, "modulated")
    bench = load_bench()

    # Short drags and pauses, so that each user gets round every tab even on a loaded machine.
    out = bench.soak(users=2, seconds=10, max_requests=5000, weights=weights, train=True, burst=2,
                     think=(0.05, 0.2), read_settings=False)  # building the app in-process takes ~5 s

    print("\nsoak:", {e: (v["ok"], v["p95_s"]) for e, v in out["endpoints"].items()}, out["training"],
          {k: v for k, v in out["settings"].items() if k.endswith("_s")})
    assert out["errors"] == 0, out["endpoints"]
    assert out["hung_users"] == 0
    assert set(out["endpoints"]) == set(bench.ENDPOINTS)
    for name, e in out["endpoints"].items():
        assert e["ok"] >= 1 and e["errors"] == 0, (name, e)
        assert 0 < e["p50_s"] <= e["p95_s"] <= e["p99_s"] <= e["max_s"], (name, e)
    assert out["requests"] == sum(e["ok"] for e in out["endpoints"].values())
    models = out["settings"]["models"]
    assert sorted(models["all"]) == sorted([TINY_NAME, TINY_PROGAN_NAME, TINY_STYLEGAN_NAME])
    assert models["progan"] == [TINY_PROGAN_NAME] and models["stylegan"] == [TINY_STYLEGAN_NAME]
    assert out["settings"]["edit"]["direction"] == "sefa #0"
    job = out["training"]
    assert job["started"] and "Started **soak**" in job["notice"]
    assert job["kimg_end"] > job["kimg_start"] >= 0, job   # training advanced during the soak
    assert job["state_after_stop"] == "stopped"
    # The app goes on Ctrl-C (SIGINT) or, if its graceful shutdown outlasts the 20 s grace period on a loaded
    # machine (seen once in CI), on SIGTERM; it must never need SIGKILL.
    assert out["app_exit"] in (0, -signal.SIGTERM), (out["app_exit"], out.get("app_exit_s"))


def test_max_requests_bounds_the_requests_sent():
    stats = load_bench().Stats(max_requests=6)
    assert [stats.claim() for _ in range(8)] == [True] * 6 + [False] * 2
