"""scripts/ship_snapshot.py: a shipped model's card holds the command that trains it again."""

from __future__ import annotations

import dataclasses
import json
import shlex
import sys
from pathlib import Path

import pytest
from helpers import make_tiny_checkpoint

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import ship_snapshot  # noqa: E402

from explorer.train.__main__ import _new_config, build_parser  # noqa: E402
from explorer.train.recipes import make_train_config  # noqa: E402


def _reparse(command: str, channels: int):
    argv = shlex.split(command)
    assert argv[:3] == ["python", "-m", "explorer.train"]
    return _new_config(build_parser().parse_args(argv[3:]), channels)


@pytest.mark.parametrize("recipe,res,channels,kw", [
    ("dcgan", 32, 1, dict(data="mnist", tick_kimg=2.0, label_smoothing=0.1, model={"ngf": 32, "d_norm": "batch"})),
    ("wgan-gp", 32, 1, dict(data="mnist", batch=32, lr_g=3e-4)),
    ("progan", 32, 3, dict(data="faces", fade_kimg=10.0, stage_batch={"4": 64, "32": 16})),
    ("stylegan2", 64, 3, dict(data="faces", batch=16, model={"variant": "modulated", "upsample": "bilinear"})),
    ("projected", 32, 3, dict(data="faces", augment="color", model={"backbone": "lite0"})),
])
def test_the_card_command_trains_the_same_config(recipe, res, channels, kw):
    cfg = make_train_config(recipe, res=res, channels=channels, kimg=400.0, **kw)
    run_cfg = json.loads(json.dumps(dataclasses.asdict(cfg)))  # as config.json holds it
    command = ship_snapshot.train_command(run_cfg, 123.4, "runs/x")
    again = dataclasses.asdict(_reparse(command, channels))
    assert again.pop("kimg") == 123.4
    run_cfg.pop("kimg")
    assert json.loads(json.dumps(again)) == run_cfg
    # Only what differs from the recipe is spelled out.
    assert ("--batch" in command) == ("batch" in kw)


def test_an_old_run_keeps_the_architecture_default_the_recipe_has_since_changed():
    cfg = dataclasses.asdict(make_train_config("stylegan2", res=64, channels=3, data="faces"))
    del cfg["model"]["upsample"]  # written before the recipe chose "fir"
    assert "--model-opt upsample=bilinear" in ship_snapshot.train_command(cfg, 32.0, "runs/x")


def test_ship_writes_a_card_and_the_table_reads_it(tmp_path):
    run = tmp_path / "runs" / "demo"
    snap = make_tiny_checkpoint(run / "snapshots" / "snapshot-000001", train={"kimg": 1.0, "data": "faces",
                                                                                "dataset_licence": "ours",
                                                                                "total_sec": 90.0})
    cfg = dataclasses.asdict(make_train_config("dcgan", res=16, channels=3, data="faces"))
    (run / "config.json").write_text(json.dumps(cfg))
    weights = tmp_path / "weights"
    weights.mkdir()
    ship_snapshot.ship(run, "demo", weights, "test box")
    card = json.loads((weights / "demo.json").read_text())
    assert card["card"]["hardware"] == "test box" and card["card"]["wall_time_sec"] == 90.0
    assert card["card"]["command"].endswith("--kimg 1 --out runs/demo")
    assert (weights / "demo.safetensors").read_bytes() == snap.with_suffix(".safetensors").read_bytes()
    rows = [{"metric": "kid", "value": 0.25, "net": "lite0", "n_fake": 100},
            {"metric": "fid", "value": 40.0, "net": "lite0", "n_fake": 100}]
    card["metrics"], card["reference"] = rows, [{**r, "value": r["value"] / 10} for r in rows]
    (weights / "demo.json").write_text(json.dumps(card))
    table = ship_snapshot.model_table(weights)
    assert "| `demo` | dcgan, 16×16 | faces (ours) | 1 | 2 min, test box | lite0 | 100 | 40 (4) | 0.25 (0.025) |" in table

