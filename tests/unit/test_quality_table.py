"""bench/quality.py: the shipped models' metric figures beside the real-data floors, from the cards alone."""

import importlib.util
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _quality():
    spec = importlib.util.spec_from_file_location("bench_quality", REPO / "bench" / "quality.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _row(metric, value, net="domain:faces", n=2500, **extra):
    return {"metric": metric, "value": value, "net": net, "n_fake": n, "n_real": n, **extra}


def test_a_card_prints_its_figures_beside_the_floors_and_nothing_is_written(tmp_path, capsys):
    card = {"format": 1, "arch": "stylegan", "config": {"res": 64}, "train": {"data": "faces", "kimg": 240.0},
            "metrics": [_row("fid", 99.0), _row("fid", 20.19), _row("kid", 0.6168), _row("precision", 0.22),
                        _row("recall", 0.006), _row("kid", 0.216, net="lite0", n=500)],
            "reference": [_row("fid", 0.2463), _row("kid", 0.00308), _row("precision", 0.9),
                          _row("recall", 0.88), _row("kid", 0.0004, net="lite0", n=1000)]}
    (tmp_path / "fake-faces.json").write_text(json.dumps(card))
    (tmp_path / "notes.json").write_text("[1, 2]")  # not a checkpoint's card: left out
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    rows = _quality().main(["--weights", str(tmp_path)])
    table = capsys.readouterr().out
    assert "| `fake-faces` | faces | 240 | domain:faces | 2500 | 20.2 (0.246) | 0.617 (0.00308) | 0.22 (0.9) " \
           "| 0.006 (0.88) |" in table  # the latest of the two FIDs
    assert "| `fake-faces` | faces | 240 | lite0 | 500 |  | 0.216 (0.0004 @1000) |  |  |" in table
    assert len(rows) == 2 and "notes" not in table
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # read-only over the folder


def test_a_figure_without_any_floor_says_so(tmp_path, capsys):
    card = {"arch": "dcgan", "config": {}, "train": {"data": "mnist", "kimg": 3.0}, "metrics": [_row("kid", 0.05, "lite0", 100)]}
    (tmp_path / "bare.json").write_text(json.dumps(card))
    (tmp_path / "unmeasured.json").write_text(json.dumps({"arch": "dcgan", "config": {}, "train": {}}))
    _quality().main(["--weights", str(tmp_path)])
    table = capsys.readouterr().out
    assert "| `bare` | mnist | 3 | lite0 | 100 |  | 0.05 (—) |  |  |" in table
    assert "| `unmeasured` | ? |  | no metrics |" in table
