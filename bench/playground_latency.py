"""Other tabs' latency while Playground trainings play (its CPU-heavy job), through the real server.

`python app.py` in a subprocess over a copy of weights/; one client drags the Generate tab's ψ (a grid of
4 on stylegan2-faces) and the Inspect tab's part strength, first alone, then while PLAYERS other clients
(the server's limit) press Play on the WGAN-GP preset at full speed. Prints JSON: each endpoint's median and
p95 latency in both phases, and how many iterations the playgrounds trained meanwhile.

    python bench/playground_latency.py [--seconds 20] [--threads 1]"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from inspect_latency import beside, summary  # noqa: E402

PLAYERS = 2  # explorer/ui/playground_runner.MAX_RUNNING


def g_steps(info: str) -> int:
    m = re.search(r"(\d+)\** G steps", info)
    return int(m.group(1)) if m else 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=20.0, help="length of the phase with the trainings playing")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)

    def play(url: str) -> list[int]:
        from gradio_client import Client

        players = [Client(url, verbose=False) for _ in range(PLAYERS)]
        for c in players:
            c.predict("wgan-gp", api_name="/playground_preset")
            c.predict(50, api_name="/playground_speed")
            c.predict(50, api_name="/playground_play")
        time.sleep(a.seconds)
        return [g_steps(c.predict(50, api_name="/playground_pause")[1]) for c in players]

    alone, during, trained = beside(play, a.threads, "gan-explorer-playground-")
    print(json.dumps({"threads": a.threads, "seconds": a.seconds, "players": PLAYERS,
                      "playground_iterations": trained,
                      "alone": {k: summary(v) for k, v in alone.items()},
                      "during_playground": {k: summary(v) for k, v in during.items()}}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
