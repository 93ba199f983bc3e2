"""Other tabs' latency while the Inspect tab dissects a layer (its CPU-heavy job), through the real server.

`python app.py` in a subprocess over a copy of weights/; one client drags the Generate tab's ψ (a grid of
4) and the Edit tab's strength, first alone, then while another client presses Dissect this layer on
stylegan2-faces (200 samples). Prints JSON: each endpoint's median and p95 latency in both phases, and
a dissection's wall time (four layers are dissected one after another).

    python bench/inspect_latency.py [--samples 200] [--threads 1]"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from load_app import App, percentile  # noqa: E402

MODEL = "stylegan2-faces"
LAYERS = ("b16.conv0", "b32.conv0", "b32.conv1", "b64.conv0")  # dissected one after another


def drag(client, stop: threading.Event, out: dict, min_calls: int = 10) -> None:
    i = 0
    while not stop.is_set() or i < min_calls:
        t = time.perf_counter()
        client.predict(MODEL, "0-3", round(0.5 + (i % 10) / 20, 2), api_name="/generate_psi")
        out["generate_psi"].append(time.perf_counter() - t)
        t = time.perf_counter()
        client.predict(MODEL, 0, 1.0, "b16.conv1", "All channels", 0, 1, 0.0, 1.0, 0, 1.0, "mouth", 8,
                       "Switch off (zero)", round((i % 10) / 10, 1), 1.0, [0.5, 0.5], api_name="/inspect_render")
        out["inspect_render"].append(time.perf_counter() - t)
        i += 1


def summary(values: list[float]) -> dict:
    return {"n": len(values), "p50_ms": round(statistics.median(values) * 1000, 1),
            "p95_ms": round(percentile(sorted(values), 95) * 1000, 1)}


def beside(job, threads: int = 1, prefix: str = "gan-explorer-bench-"):
    """The app over a copy of weights/; a user's drags measured alone, then while job(url) runs (the CPU-heavy
    work, from its own clients). Returns (alone, during, what job returned)."""
    from gradio_client import Client

    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        shutil.copytree(ROOT / "weights", work / "weights")
        (work / "runs").mkdir()
        app = App(work / "weights", work / "runs", work, threads=threads).start()
        try:
            user = Client(app.url, verbose=False)
            alone = {"generate_psi": [], "inspect_render": []}
            stop = threading.Event()
            stop.set()
            drag(user, stop, alone, min_calls=15)
            during = {"generate_psi": [], "inspect_render": []}
            stop = threading.Event()
            t = threading.Thread(target=drag, args=(user, stop, during, 3))
            t.start()
            try:
                result = job(app.url)
            finally:
                stop.set()
                t.join()
        finally:
            app.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return alone, during, result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--samples", type=int, default=200)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)

    def dissect(url: str) -> float:
        from gradio_client import Client

        admin = Client(url, verbose=False)
        t0 = time.perf_counter()
        for layer in LAYERS:
            admin.predict(MODEL, layer, a.samples, 0, api_name="/inspect_dissect")
        return (time.perf_counter() - t0) / len(LAYERS)

    alone, during, dissect_s = beside(dissect, a.threads, "gan-explorer-inspect-")
    print(json.dumps({"threads": a.threads, "samples": a.samples, "dissect_s_per_layer": round(dissect_s, 1),
                      "alone": {k: summary(v) for k, v in alone.items()},
                      "during_dissection": {k: summary(v) for k, v in during.items()}}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
