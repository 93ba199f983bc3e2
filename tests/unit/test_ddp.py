"""Two processes (gloo on CPU) train one model: every rank ends with identical weights."""

import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from helpers import spawn_ranks

ROOT = Path(__file__).resolve().parents[2]


def _worker(rank: int, world: int, init_file: str, out_dir: str, steps: int) -> None:
    import torch.distributed as dist

    from explorer.train.datasets import load_dataset
    from explorer.train.loop import DistInfo, Trainer
    from explorer.train.recipes import make_train_config

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        cfg = make_train_config("dcgan", res=16, channels=3, model={"ngf": 8, "ndf": 8, "z_dim": 16},
                                data="faces", batch=8, seed=0)  # the same config on every rank
        tr = Trainer(cfg, load_dataset("faces", 16, size=64), dist_info=DistInfo(rank, world))
        init = {k: v.clone() for k, v in tr.G.state_dict().items()}
        for _ in range(steps):
            tr.train_step()
        torch.save({"G": tr.G.state_dict(), "D": tr.D.state_dict(), "G_init": init, "nimg": tr.cur_nimg},
                   os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def test_two_ranks_hold_identical_weights(tmp_path):
    spawn_ranks(_worker, 2, str(tmp_path / "rdzv"), str(tmp_path), 3)
    a, b = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2))
    assert a["nimg"] == b["nimg"] == 3 * 8  # the global batch counts once
    for net in ("G", "D"):
        assert a[net].keys() == b[net].keys()
        for k in a[net]:
            assert torch.equal(a[net][k], b[net][k]), f"{net}.{k} differs between ranks"
    assert any(not torch.equal(a["G"][k], a["G_init"][k]) for k in a["G"])  # and training did happen


def test_torchrun_cli_trains_with_rank0_writing(tmp_path):
    run = tmp_path / "run"
    torchrun = Path(sys.executable).with_name("torchrun")
    res = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node=2", "-m", "explorer.train",
                          "--recipe", "dcgan", "--data", "faces", "--data-size", "64", "--res", "16",
                          "--ngf", "8", "--ndf", "8", "--z-dim", "16", "--batch", "8", "--kimg", "0.048",
                          "--tick-kimg", "0.016", "--num-samples", "4", "--no-progress", "--out", str(run)],
                         cwd=ROOT, capture_output=True, text=True, timeout=180,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert res.returncode == 0, res.stderr[-3000:]
    assert "x2 processes" in res.stderr
    recs = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["tick"] for r in recs] == [1, 2, 3]  # one writer: no duplicated records
    assert (run / "resume" / "state.pt").is_file()
    state = torch.load(run / "resume" / "state.pt", weights_only=True)
    assert len(state["rng"]) == 2  # both ranks' random streams, for an exact resume
