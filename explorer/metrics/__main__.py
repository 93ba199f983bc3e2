"""`python -m explorer.metrics`: measure a checkpoint, print a table, append the rows to its card.

    python -m explorer.metrics --model dcgan-mnist --metric fid,kid,pr,ppl,sep --n 5000
    python -m explorer.metrics --model runs/stylegan2-faces --all-snapshots --metric kid --n 1000
    python -m explorer.metrics --model stylegan2-faces --metric fid --inception ~/inception-2015-12-05.pt
    python -m explorer.metrics --model dcgan-mnist --metric fid,kid,pr --n 2500 --reference

--model is a name from the app's model list (shipped "NAME" or "run: RUN"), a checkpoint .json,
or a run directory (its newest snapshot; every snapshot with --all-snapshots, for a curve over kimg).
Real-data features are cached under $GAN_EXPLORER_CACHE (default ~/.cache/gan-explorer)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from ..paths import WEIGHTS
from ..attributes import ClassifierError
from ..device import set_threads
from .evaluate import METRICS, Job, MetricError, append_to_card, reference_for, run
from .features import FeatureNetError
from .maths import SampleCountError



def resolve_model(model: str, weights_dir: str | Path, runs_dir: str | Path, all_snapshots: bool = False) -> list[str]:
    """Checkpoint .json paths for a model name, a .json path or a run directory."""
    from ..weights import list_checkpoints

    p = Path(model)
    if p.is_dir():
        snaps = sorted((p / "snapshots").glob("*.json"))
        if not snaps:
            raise MetricError(f"{p} has no snapshots/*.json; is it a run directory?")
        return [str(s) for s in snaps] if all_snapshots else [str(snaps[-1])]
    if p.suffix == ".json" and p.is_file():
        return [str(p)]
    for entry in list_checkpoints(weights_dir, runs_dir):
        if entry.name == model:
            if all_snapshots and entry.source == "run":
                return resolve_model(str(Path(entry.path).parent.parent), weights_dir, runs_dir, True)
            return [entry.path]
    names = ", ".join(e.name for e in list_checkpoints(weights_dir, runs_dir)) or "none"
    raise MetricError(f"No model {model!r}; give a checkpoint .json, a run directory or one of: {names}.")


def format_table(rows: list[dict]) -> str:
    head = f"{'metric':<10} {'value':>12}  {'n_real':>6} {'n_fake':>6} {'seconds':>8}  network"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['metric']:<10} {r['value']:>12.5g}  {r['n_real']:>6} {r['n_fake']:>6} "
                     f"{r['seconds']:>8.1f}  {r['net']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m explorer.metrics", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="model name, checkpoint .json or run directory")
    p.add_argument("--metric", default="fid,kid,pr", help=f"comma-separated, from {','.join(METRICS)}")
    p.add_argument("--n", type=int, default=5000, help="generated samples (and real ones; mnist has 5,000)")
    p.add_argument("--net", help="feature networks, comma-separated: inception, lite0, domain "
                                 "(default: inception if its file is given, else lite0; projected models add domain)")
    p.add_argument("--inception", help="local inception-2015-12-05.pt (TorchScript); never downloaded")
    p.add_argument("--weights", default=str(WEIGHTS), help="folder of shipped checkpoints (for model names)")
    p.add_argument("--runs", default="runs", help="folder of training runs (for 'run: NAME' model names)")
    p.add_argument("--all-snapshots", action="store_true", help="every snapshot of a run, oldest first")
    p.add_argument("--seed", type=int, default=0, help="latent and noise seed")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a busy 2-core box)")
    p.add_argument("--reference", action="store_true",
                   help="also measure two disjoint halves of the real data against each other, n each (the "
                        "floor a perfect model would reach at this n); stored in the card's \"reference\"")
    p.add_argument("--no-save", action="store_true", help="print only; leave the model's card as it is")
    a = p.parse_args(argv)
    set_threads(a.threads)
    try:
        paths = resolve_model(a.model, a.weights, a.runs, a.all_snapshots)
        for path in paths:
            job = Job(path, tuple(m.strip() for m in a.metric.split(",") if m.strip()), a.n,
                      tuple(s.strip() for s in a.net.split(",")) if a.net else (), a.inception, seed=a.seed)
            show = lambda f, s: print(f"\r{s}: {100 * f:5.1f} %", end="", file=sys.stderr, flush=True)  # noqa: E731
            # The reference first: its 2n real images are cached, and the model's n are their first n.
            ref = reference_for(job, show) if a.reference else []
            rows = run(job, progress=show)
            print(file=sys.stderr)
            print(f"{path} (kimg {rows[0]['kimg'] if rows else '?'})")
            print(format_table(rows))
            if ref:
                print("real data, one half against the other:")
                print(format_table(ref))
            if not a.no_save:
                append_to_card(path, rows)
                if ref:
                    append_to_card(path, ref, key="reference")
    except (MetricError, FeatureNetError, SampleCountError, ClassifierError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    raise SystemExit(main())
