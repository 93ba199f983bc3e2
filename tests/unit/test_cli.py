"""`python -m explorer.train` as a user runs it: train, Ctrl-C, resume, extend, clear errors."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--recipe", "dcgan", "--data", "faces", "--data-size", "64", "--res", "16", "--ngf", "8", "--ndf", "8",
        "--z-dim", "16", "--batch", "8", "--tick-kimg", "0.016", "--num-samples", "4", "--threads", "1"]


def cli(*args, **kw):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "explorer.train", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, **kw)


def log_records(run: Path) -> list[dict]:
    p = run / "log.jsonl"
    return [json.loads(line) for line in p.read_text().splitlines()] if p.exists() else []


def test_ctrl_c_then_resume_and_extend(tmp_path):
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "explorer.train", *TINY, "--kimg", "1000", "--no-progress",
                             "--out", str(run)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        deadline = time.time() + 90
        while len(log_records(run)) < 2 and time.time() < deadline:
            time.sleep(0.2)
        assert len(log_records(run)) >= 2, "training did not start"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Stopped at" in err and "--resume" in err
    assert "loss_D" in out  # one line per tick with --no-progress
    state_kimg = json.loads(sorted((run / "snapshots").glob("*.json"))[-1].read_text())["train"]["kimg"]
    assert (run / "resume" / "state.pt").is_file()
    assert {"config.json", "log.jsonl", "samples", "snapshots", "resume"} <= {p.name for p in run.iterdir()}

    target = round(state_kimg + 0.032, 3)
    res = cli("--resume", str(run), "--kimg", str(target), "--no-progress")
    assert res.returncode == 0, res.stderr
    assert "Resuming" in res.stderr and "Done" in res.stderr
    recs = log_records(run)
    assert recs[-1]["kimg"] >= target
    ticks = [r["tick"] for r in recs]
    assert ticks == list(range(1, len(ticks) + 1))  # no duplicate or missing tick after the resume
    assert json.loads((run / "config.json").read_text())["kimg"] == target

    again = cli("--resume", str(run), "--kimg", str(target))
    assert again.returncode == 2 and "larger --kimg" in again.stderr


def test_progress_bar_shows_kimg_losses_and_speed(tmp_path):
    res = cli(*TINY, "--kimg", "0.064", "--out", str(tmp_path / "run"))
    assert res.returncode == 0, res.stderr
    assert "kimg" in res.stderr and "D " in res.stderr and "s/kimg" in res.stderr


@pytest.mark.parametrize("args,msg", [
    (["--data", "/nonexistent/folder", "--out", "{tmp}/x"], "does not exist"),
    (["--resume", "{tmp}/nothing"], "not a run directory"),
    (["--out", "{tmp}/a", "--resume", "{tmp}/b"], "either --out"),
    (["--res", "24", "--out", "{tmp}/x"], "power of two"),
])
def test_cli_errors_are_one_clear_line(tmp_path, args, msg):
    res = cli(*[a.format(tmp=tmp_path) for a in args])
    assert res.returncode == 2
    assert msg in res.stderr and "Traceback" not in res.stderr


def test_out_refuses_an_existing_run_and_resume_refuses_new_flags(tmp_path):
    run = tmp_path / "run"
    assert cli(*TINY, "--kimg", "0.016", "--out", str(run)).returncode == 0
    again = cli(*TINY, "--kimg", "0.016", "--out", str(run))
    assert again.returncode == 2 and "already holds a run" in again.stderr
    changed = cli("--resume", str(run), "--res", "32", "--kimg", "1")
    assert changed.returncode == 2 and "--res" in changed.stderr
    beta = cli("--resume", str(run), "--beta1", "0.1", "--kimg", "1")  # a flag made from a TrainConfig field
    assert beta.returncode == 2 and "drop --beta1" in beta.stderr
    # What a resume may change: the length, the cadences and the learning rates.
    more = cli("--resume", str(run), "--kimg", "0.032", "--lr-g", "1e-4", "--lr-d", "5e-5", "--sample-ticks", "3")
    assert more.returncode == 0, more.stderr
    cfg = json.loads((run / "config.json").read_text())
    assert (cfg["kimg"], cfg["lr_g"], cfg["lr_d"], cfg["sample_ticks"]) == (0.032, 1e-4, 5e-5, 3)
