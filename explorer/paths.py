"""The folders of a checkout, in one place: where the shipped checkpoints, the classifiers and the
training runs live by default. Every command line and the app take these as defaults only; each has a
flag (--weights, --runs) to point elsewhere."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the checkout: app.py, explorer/, weights/
WEIGHTS = ROOT / "weights"                  # shipped checkpoints (*.safetensors + *.json) and their directions
CLASSIFIERS = WEIGHTS / "classifiers"       # attribute classifiers (a sub-folder: the model list skips it)
RUNS = ROOT / "runs"                        # training runs started from the app or the CLI
