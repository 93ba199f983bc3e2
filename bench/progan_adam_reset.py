"""Does clearing Adam's moments where a ProGAN fade-in starts and ends (the reference code's
reset_opt_for_new_lod) matter at this project's sizes? Two arms of the `progan` recipe on the
procedural faces, identical but for --train-opt reset_adam_at_growth, trained side by side (one
torch thread each) to the same kimg, then scored by KID and precision/recall on the faces' own
attribute classifier (domain:faces) from G_ema, with the real-vs-real floor at the same n.

    python bench/progan_adam_reset.py                        # 32 px, fades of 10 kimg, 70 kimg: ~25 min on 2 cores
    python bench/progan_adam_reset.py --kimg 6 --fade 1 --stable 1 --n 200   # a quick check of the script

Prints one JSON object (and writes it, with each arm's run folder, under --out)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from explorer.metrics.evaluate import Job, reference, run  # noqa: E402
from explorer.metrics.features import load_feature_net  # noqa: E402


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--res", type=int, default=32)
    ap.add_argument("--kimg", type=float, default=70.0)
    ap.add_argument("--fade", type=float, default=10.0, help="fade_kimg of each new stage")
    ap.add_argument("--stable", type=float, default=10.0, help="stable_kimg of each stage")
    ap.add_argument("--n", type=int, default=1000, help="images scored per arm")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="out/progan_adam_reset")
    a = ap.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    procs, t0 = {}, time.time()
    for reset in (False, True):
        arm = out / f"reset-{str(reset).lower()}"
        cmd = [sys.executable, "-m", "explorer.train", "--recipe", "progan", "--data", "faces", "--res", str(a.res),
               "--kimg", f"{a.kimg:g}", "--fade-kimg", f"{a.fade:g}", "--stable-kimg", f"{a.stable:g}",
               "--seed", str(a.seed), "--threads", "1", "--no-progress", "--out", str(arm),
               "--train-opt", f"reset_adam_at_growth={str(reset).lower()}"]
        procs[reset] = (arm, subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                              stderr=open(out / f"reset-{str(reset).lower()}.log", "w")))
    for reset, (_arm, p) in procs.items():
        if p.wait():
            raise SystemExit(f"the arm reset={reset} failed; see {out}/reset-{str(reset).lower()}.log")
    train_sec = time.time() - t0
    result = {"res": a.res, "kimg": a.kimg, "fade_kimg": a.fade, "stable_kimg": a.stable, "n": a.n,
              "train_wall_sec": round(train_sec), "arms": {}}
    for reset, (arm, _) in procs.items():
        snap = sorted((arm / "snapshots").glob("snapshot-*.json"))[-1]
        rows = run(Job(str(snap), ("kid", "pr"), a.n, ("domain",)))
        result["arms"][f"reset={str(reset).lower()}"] = {r["metric"]: r["value"] for r in rows}
    floor = reference("faces", a.res, 3, ("kid", "pr"), a.n, [load_feature_net("domain", dataset="faces")])
    result["real_floor"] = {r["metric"]: r["value"] for r in floor}
    (out / "progan_adam_reset.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
