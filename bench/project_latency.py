"""Other tabs' latency while the Project tab projects a picture (its CPU-heavy job), through the real server.

`python app.py` in a subprocess over a copy of weights/; one client drags the Generate tab's ψ (a grid of
4 on stylegan2-faces) and the Inspect tab's part strength, first alone, then while another client uploads
a procedural face (a seed the shipped models never trained on) and presses Start in the Project tab with
its defaults (w+, 250 steps) on stylegan2-faces, until the projection is saved. Prints JSON: each
endpoint's median and p95 latency in both phases, and the projection's wall time.

    python bench/project_latency.py [--threads 1] [--steps 250] [--pti]"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from inspect_latency import MODEL, beside, summary  # noqa: E402

FACE_SEED = 9_000_000  # make_faces(seed=...): not a training seed of the shipped models


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=250)
    p.add_argument("--pti", action="store_true", help="with PTI (300 steps)")
    a = p.parse_args(argv)
    from PIL import Image

    from explorer.project.projector import ProjectConfig
    from explorer.train.datasets.faces import make_faces

    photo = Path(tempfile.mkdtemp(prefix="gan-explorer-project-")) / "face.png"
    Image.fromarray(make_faces(1, 256, seed=FACE_SEED)[0][0]).save(photo)
    d = ProjectConfig()

    def project(url: str) -> float:
        from gradio_client import Client, handle_file

        c = Client(url, verbose=False)
        t0 = time.perf_counter()
        form = ["w+", a.steps, a.pti, 300, d.lr, d.perceptual, "auto (the data set's own network where it has one)",
                d.net_res, d.pixel, False, d.noise_reg, d.initial_noise, d.pti_lr, d.pti_locality, 0]
        c.predict(MODEL, handle_file(str(photo)), "bench-face", *form, api_name="/project_start")
        while True:  # saved: listed, and picked as the newest (the answer is an update {"choices", "value"})
            picked = c.predict(MODEL, None, api_name="/project_refresh")[2]
            if (picked.get("value") if isinstance(picked, dict) else picked) == "@bench-face":
                break
            time.sleep(0.5)
        return time.perf_counter() - t0

    alone, during, seconds = beside(project, a.threads, "gan-explorer-project-")
    print(json.dumps({"threads": a.threads, "steps": a.steps, "pti": a.pti, "projection_s": round(seconds, 1),
                      "alone": {k: summary(v) for k, v in alone.items()},
                      "during_projection": {k: summary(v) for k, v in during.items()}}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
