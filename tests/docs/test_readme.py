"""The README keeps its promises: its test command is what CI runs, its pictures exist, and its
table of shipped models shows the figures in the models' own cards."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
sys.path.insert(0, str(ROOT / "scripts"))

import ship_snapshot  # noqa: E402


def _commands() -> list[str]:
    return [line.strip() for block in re.findall(r"```bash\n(.*?)```", README, re.S) for line in block.splitlines()
            if line.strip().startswith("python3 -m venv")]


def test_the_first_two_commands_run_the_app_and_the_tests():
    app, tests = _commands()[:2]
    assert app.endswith("pip install -r requirements.txt && python app.py")
    assert tests.endswith("python -m pytest -q")
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests in ci, ".ci/run must run exactly the README's test command"


def test_every_picture_the_readme_shows_is_in_assets():
    pictures = (re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README) + re.findall(r"\]\((assets/[^)]+)\)", README)
                + re.findall(r'<img src="([^"]+)"', README))
    assert len(set(pictures)) >= 8 and all(p.startswith("assets/") for p in pictures)
    missing = [p for p in pictures if not (ROOT / p).is_file()]
    assert not missing, f"README links to missing files: {missing}"


def test_readme_model_table_is_the_cards():
    """The figures in the README are the shipped cards' figures: regenerate with --table."""
    assert ship_snapshot.model_table(ROOT / "weights") in README, \
        "README's model table differs from the cards; paste `python scripts/ship_snapshot.py --table`"
