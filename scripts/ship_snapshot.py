"""Copy a run's snapshot into weights/ as a shipped demo model, after checking it loads.

    python -m explorer.train --recipe dcgan --data mnist --res 32 --kimg 150 --out runs/demo-dcgan-mnist
    python scripts/ship_snapshot.py runs/demo-dcgan-mnist dcgan-mnist

Refuses files over 10 MB (the limit for shipped weights) and names the run in the JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from explorer.fsutil import atomic_write_bytes  # noqa: E402
from explorer.weights import load_generator  # noqa: E402

MAX_BYTES = 10 * 1024 * 1024


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", help="run directory")
    p.add_argument("name", help="name in weights/ (letters, digits, - and _)")
    p.add_argument("--snapshot", help="a specific snapshot .json (default: the newest)")
    p.add_argument("--weights", default=str(Path(__file__).resolve().parents[1] / "weights"))
    args = p.parse_args(argv)
    snap = Path(args.snapshot) if args.snapshot else sorted((Path(args.run) / "snapshots").glob("*.json"))[-1]
    load_generator(snap)  # refuse anything that would not open in the app
    tensors = snap.with_suffix(".safetensors").read_bytes()
    if len(tensors) > MAX_BYTES:
        print(f"error: {snap.with_suffix('.safetensors')} is {len(tensors) / 2**20:.1f} MB; shipped weights "
              "must stay under 10 MB.", file=sys.stderr)
        return 2
    meta = json.loads(snap.read_text())
    run_cfg = json.loads((Path(args.run) / "config.json").read_text())
    meta["train"]["run_config"] = run_cfg
    out = Path(args.weights) / args.name
    atomic_write_bytes(out.with_suffix(".safetensors"), tensors)
    atomic_write_bytes(out.with_suffix(".json"), json.dumps(meta, indent=2, sort_keys=True).encode())
    print(f"shipped {snap} as {out}.safetensors ({len(tensors) / 2**20:.1f} MB) + .json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
