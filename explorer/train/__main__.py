"""`python -m explorer.train`: train a recipe into a run directory, or --resume one.

    python -m explorer.train --recipe dcgan --data mnist --res 32 --kimg 20 --out runs/dcgan-mnist
    python -m explorer.train --resume runs/dcgan-mnist --kimg 40
    python -m explorer.train --resume runs/dcgan-mnist --lr-g 1e-4 --lr-d 1e-4   (after a divergence)

Ctrl-C stops after the current step and saves everything needed to resume. Under
`torchrun --nproc_per_node=N` the same command trains one model on N processes (gloo on CPU,
NCCL on CUDA); rank 0 alone writes the run directory.

Faults: a kill at any moment leaves the last snapshot and resume state complete, and --resume
continues from them (a run killed before its first snapshot starts again from the beginning).
Losses that stop being finite, or a full disk, stop the run at once: exit code 1, status.json
"failed", and a message naming the last good snapshot and what to do."""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time

import torch

from ..device import pick_device, set_threads
from ..fsutil import is_disk_full
from .datasets import DatasetError, load_dataset
from .recipes import TRAINING_RECIPES, TrainConfig, make_train_config
from .run import RunDir, RunError

# Flags that shape a new run; on --resume they come from the run's config.json instead (the learning
# rates may change there, to continue a run that diverged).
NEW_RUN_FLAGS = ("recipe", "data", "res", "channels", "data_size", "batch", "seed", "n_critic",
                 "gp_lambda", "label_smoothing", "label_noise", "label_flip", "ema_kimg", "ngf", "ndf", "z_dim",
                 "d_dropout", "num_samples", "drift", "fade_kimg", "stable_kimg", "stage_batch", "fmap_base",
                 "fmap_max", "r1_gamma", "r1_interval", "style_mixing", "pl_weight", "pl_interval", "ema_rampup",
                 "model_opt", "train_opt")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m explorer.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", choices=sorted(TRAINING_RECIPES), help="training recipe (default dcgan)")
    p.add_argument("--data", help="mnist | faces | emoji | a folder or .zip of images (default mnist)")
    p.add_argument("--res", type=int, help="resolution in pixels, a power of two (default 32)")
    p.add_argument("--channels", type=int, choices=(1, 3), help="1 grayscale or 3 RGB (default: the data's own)")
    p.add_argument("--data-size", type=int, help="use at most this many images (faces: how many to render)")
    p.add_argument("--kimg", type=float, help="train until this many thousand real images (default 20); "
                                              "with --resume, a larger value extends the run")
    p.add_argument("--out", help="new run directory")
    p.add_argument("--resume", help="continue the run in this directory")
    p.add_argument("--batch", type=int, help="global batch size (default from the recipe)")
    p.add_argument("--seed", type=int, help="random seed (default 0)")
    p.add_argument("--lr-g", type=float, help="G learning rate (with --resume: a new one from there on)")
    p.add_argument("--lr-d", type=float, help="D learning rate (with --resume: a new one from there on)")
    p.add_argument("--n-critic", type=int, help="D steps per G step")
    p.add_argument("--gp-lambda", type=float, help="gradient penalty weight")
    p.add_argument("--label-smoothing", type=float, help="one-sided: real target = 1 - this (bce)")
    p.add_argument("--label-noise", type=float, help="std of noise on D targets (bce)")
    p.add_argument("--label-flip", type=float, help="probability of flipping a D target (bce)")
    p.add_argument("--d-dropout", type=float, help="dropout after each D block")
    p.add_argument("--ema-kimg", type=float, help="G_ema half-life in kimg (default: no EMA)")
    p.add_argument("--ngf", type=int, help="G width")
    p.add_argument("--ndf", type=int, help="D width")
    p.add_argument("--z-dim", type=int, help="latent size")
    p.add_argument("--fmap-base", type=int, help="ProGAN width rule: stage s has fmap_base/2^(s+1) channels")
    p.add_argument("--fmap-max", type=int, help="ProGAN widest layer")
    p.add_argument("--drift", type=float, help="weight of E[D(x)^2] (ProGAN: 0.001)")
    p.add_argument("--fade-kimg", type=float, help="progressive: kimg for a new stage's alpha to rise 0 -> 1")
    p.add_argument("--stable-kimg", type=float, help="progressive: kimg per stage at alpha 1")
    p.add_argument("--stage-batch", type=_stage_batch, help="progressive: per-resolution batch, e.g. 4:64,8:64,64:16")
    p.add_argument("--r1-gamma", type=float, help="R1 penalty weight (StyleGAN)")
    p.add_argument("--r1-interval", type=int, help="lazy R1 every N D steps")
    p.add_argument("--style-mixing", type=float, help="style-mixing probability (StyleGAN)")
    p.add_argument("--pl-weight", type=float, help="path-length regulariser weight (StyleGAN2)")
    p.add_argument("--pl-interval", type=int, help="lazy path-length regulariser every N G steps")
    p.add_argument("--ema-rampup", type=float, help="cap G_ema's half-life at this fraction of kimg so far")
    p.add_argument("--model-opt", action="append", type=_model_opt, metavar="KEY=VALUE",
                   help="any architecture field, e.g. --model-opt channel_max=64 --model-opt variant=adain")
    p.add_argument("--train-opt", action="append", type=_model_opt, metavar="KEY=VALUE",
                   help="any TrainConfig field without a flag of its own, e.g. --train-opt beta2=0.9")
    p.add_argument("--num-samples", type=int, help="images in each sample grid (default 64)")
    p.add_argument("--tick-kimg", type=float, help="kimg per log record (default 1)")
    p.add_argument("--sample-ticks", type=int, help="sample grid every N ticks (default 2)")
    p.add_argument("--snapshot-ticks", type=int, help="snapshot + resume state every N ticks (default 5)")
    p.add_argument("--sample-sec", type=float, help="also refresh samples/latest.png every this many seconds "
                                                    "(a live preview; default: only at sample ticks)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | mps")
    p.add_argument("--threads", type=int, help="torch CPU threads per process")
    p.add_argument("--no-progress", action="store_true", help="print one line per tick instead of a bar")
    return p


def _stage_batch(text: str) -> dict:
    """"4:64,8:64,64:16" -> {"4": 64, "8": 64, "64": 16}."""
    try:
        pairs = [p.split(":") for p in text.split(",") if p.strip()]
        return {str(int(r)): int(b) for r, b in pairs}
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected RES:BATCH pairs like 4:64,8:64,64:16, got {text!r}") from None


def _model_opt(text: str) -> tuple[str, object]:
    """"channel_max=64" -> ("channel_max", 64); values are JSON when they parse, else strings."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key.strip(), json.loads(value)
    except json.JSONDecodeError:
        return key.strip(), value


def _new_config(args, channels: int):
    model = {k: getattr(args, k) for k in ("ngf", "ndf", "z_dim", "d_dropout", "fmap_base", "fmap_max")
             if getattr(args, k) is not None}
    model.update(dict(args.model_opt or []))
    overrides = {k: getattr(args, k) for k in ("data", "data_size", "kimg", "batch", "seed", "lr_g", "lr_d",
                                               "n_critic", "gp_lambda", "label_smoothing", "label_noise",
                                               "label_flip", "ema_kimg", "num_samples", "tick_kimg", "drift",
                                               "fade_kimg", "stable_kimg", "stage_batch", "r1_gamma",
                                               "r1_interval", "style_mixing", "pl_weight", "pl_interval",
                                               "ema_rampup",
                                               "sample_ticks", "snapshot_ticks")
                 if getattr(args, k) is not None}
    fixed = {"recipe", "arch", "model", "res", "channels"}
    for key, value in args.train_opt or []:
        if key in fixed or key not in TrainConfig.__dataclass_fields__:
            raise ValueError(f"--train-opt {key}: not a TrainConfig field that may be set this way; "
                             f"choose from {', '.join(sorted(set(TrainConfig.__dataclass_fields__) - fixed))}.")
        overrides[key] = value
    overrides.setdefault("data", "mnist")
    return make_train_config(args.recipe or "dcgan", res=args.res or 32, channels=channels, model=model, **overrides)


class _StopFlag:
    """First Ctrl-C (or SIGTERM): stop after this step and save. Another Ctrl-C later than
    REPEAT_S: abort now. Under torchrun one Ctrl-C arrives twice (from the terminal and
    forwarded by torchrun), so repeats within REPEAT_S count as the same one."""

    REPEAT_S = 2.0

    def __init__(self, verbose: bool):
        self.stop, self.verbose, self.since = False, verbose, 0.0

    def __call__(self, signum, frame):
        if self.stop:
            if signum == signal.SIGINT and time.monotonic() - self.since > self.REPEAT_S:
                raise KeyboardInterrupt
            return
        self.stop, self.since = True, time.monotonic()
        if self.verbose:
            print("\nStopping after this step and saving the resume state (Ctrl-C again to abort)...",
                  file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if bool(args.out) == bool(args.resume):
        print("error: give either --out DIR (a new run) or --resume DIR (continue one).", file=sys.stderr)
        return 2
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    try:
        return _train(args, rank, world)
    except (DatasetError, RunError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        if world > 1 and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def _train(args, rank: int, world: int) -> int:
    from tqdm import tqdm

    from .loop import DistInfo, Hooks, Trainer

    device = pick_device(args.device)
    if world > 1:
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        torch.distributed.init_process_group(backend=backend)
    set_threads(args.threads if args.threads else (1 if world > 1 and device.type == "cpu" else None))

    if args.resume:
        run = RunDir(args.resume)
        cfg = run.read_config()
        given = [f for f in NEW_RUN_FLAGS if getattr(args, f, None) is not None]
        if given:
            raise RunError(f"--resume continues the run as configured in {run.config_path}; "
                           f"drop {', '.join('--' + g.replace('_', '-') for g in given)} (only --kimg, cadences, "
                           "--lr-g, --lr-d, --device and --threads may change).")
        for k in ("tick_kimg", "sample_ticks", "snapshot_ticks", "lr_g", "lr_d"):
            if getattr(args, k) is not None:
                setattr(cfg, k, getattr(args, k))
        if not all(math.isfinite(lr) and lr > 0 for lr in (cfg.lr_g, cfg.lr_d)):
            raise RunError(f"learning rates must be positive numbers, got --lr-g {cfg.lr_g} --lr-d {cfg.lr_d}.")
        if rank == 0:
            run.remove_temp_files()  # a killed process's half-written files
        state = run.load_resume() if run.resume_path.is_file() else None
        if state is None and rank == 0:
            print(f"{run.root} saved no resume state before it ended; starting it again from the beginning.",
                  file=sys.stderr, flush=True)
        done_kimg = state["counters"]["cur_nimg"] / 1000.0 if state else 0.0
        if args.kimg is not None:
            if args.kimg <= done_kimg:
                raise RunError(f"{run.root} has already trained {done_kimg:g} kimg; pass a larger --kimg to extend it.")
            cfg.kimg = args.kimg
        dataset = load_dataset(cfg.data, cfg.res, channels=cfg.channels, size=cfg.data_size, seed=cfg.seed)
        if rank == 0:
            run.write_config(cfg)
            run.truncate_log(done_kimg)
    else:
        dataset = load_dataset(args.data or "mnist", args.res or 32, channels=args.channels,
                               size=args.data_size, seed=args.seed or 0)
        cfg = _new_config(args, dataset.channels)
        run = RunDir(args.out)
        if rank == 0:
            run.create(cfg)
        state = None
    if world > 1:
        torch.distributed.barrier()

    verbose = rank == 0
    if verbose and dataset.skipped:
        print(f"Skipped {dataset.skipped} unreadable file(s), e.g. {dataset.skipped_examples[0]}", file=sys.stderr)
    flag = _StopFlag(verbose)
    signal.signal(signal.SIGINT, flag)
    signal.signal(signal.SIGTERM, flag)

    bar = tqdm(total=cfg.kimg, unit="kimg", dynamic_ncols=True, disable=not verbose or args.no_progress,
               bar_format="{l_bar}{bar}| {n:.1f}/{total:g} kimg [{elapsed}<{remaining}{postfix}]")
    last = {"sec_per_kimg": None}

    def on_step(info):
        bar.n = info["kimg"]
        post = f"D {info['loss_D']:.3f} G {info['loss_G']:.3f}"
        if last["sec_per_kimg"] is not None:
            post += f" {last['sec_per_kimg']:.1f} s/kimg"
        bar.set_postfix_str(post, refresh=False)
        bar.refresh()

    def on_tick(rec):
        last["sec_per_kimg"] = rec["sec_per_kimg"]
        if verbose and args.no_progress:
            print(f"tick {rec['tick']} kimg {rec['kimg']:.1f} loss_D {rec['loss_D']:.4f} "
                  f"loss_G {rec['loss_G']:.4f} sec/kimg {rec['sec_per_kimg']:.2f}", flush=True)

    trainer = Trainer(cfg, dataset, device=device, run=run, dist_info=DistInfo(rank, world),
                      hooks=Hooks(should_stop=lambda: flag.stop, on_step=on_step, on_tick=on_tick),
                      sample_sec=args.sample_sec)
    if state is not None:
        trainer.load_state_dict(state)
        trainer.ensure_snapshot()  # the resume point's snapshot, if a kill came between the two
        bar.n = trainer.kimg
    if verbose:
        print(f"{'Resuming' if state else 'Training'} {cfg.recipe} on {cfg.data} ({len(dataset)} images, "
              f"{dataset.channels}x{cfg.res}x{cfg.res}) on {device}" + (f" x{world} processes" if world > 1 else "")
              + f" -> {run.root}", file=sys.stderr, flush=True)
    # status.json: "running" with this pid now; how it ended, below. A process killed outright leaves
    # "running" behind with a dead pid, which watchers (explorer.train.jobs) report as crashed.
    if verbose:
        run.write_status("running", pid=os.getpid(), kimg=trainer.kimg, total_kimg=cfg.kimg)
    try:
        status = trainer.fit()
    except BaseException as e:
        failure = _failure_message(e, run, cfg)  # None: not a failure we can explain, a crash
        if verbose:
            try:
                run.write_status("failed" if failure else "crashed", pid=os.getpid(), kimg=trainer.kimg,
                                 total_kimg=cfg.kimg, error=failure or (f"{type(e).__name__}: {e}" if str(e)
                                                                        else type(e).__name__))
            except OSError:  # the disk is full: the message below still reaches the console
                pass
        if failure is None:
            raise
        bar.close()
        if verbose:
            print(f"\nerror: {failure}", file=sys.stderr, flush=True)
        return 1
    if verbose:
        run.write_status("stopped" if status == "stopped" else "finished", pid=os.getpid(), kimg=trainer.kimg,
                         total_kimg=cfg.kimg)
    bar.close()
    if verbose:
        if status == "stopped":
            print(f"Stopped at {trainer.kimg:.1f} kimg. Continue with: python -m explorer.train --resume {run.root}",
                  file=sys.stderr)
        else:
            print(f"Done: {trainer.kimg:.1f} kimg. Snapshots in {run.snapshots}; open them in the app "
                  f"(python app.py) or extend with --resume {run.root} --kimg N.", file=sys.stderr)
    return 0


def _failure_message(e: BaseException, run: RunDir, cfg) -> str | None:
    """What went wrong and what to do, for a run that stopped itself (diverged, disk full); None otherwise."""
    from .loop import TrainingDiverged

    snaps = run.list_snapshots()
    last = f"the last good snapshot is {snaps[-1][1].with_suffix('')} ({snaps[-1][0]:g} kimg)" if snaps \
        else "no snapshot was saved yet"
    if isinstance(e, TrainingDiverged):
        return (f"{e} Nothing was saved after it: {last}. Lower the learning rate (now lr_g {cfg.lr_g:g}, lr_d "
                f"{cfg.lr_d:g}) and continue from there: python -m explorer.train --resume {run.root} "
                f"--lr-g {cfg.lr_g / 10:g} --lr-d {cfg.lr_d / 10:g}")
    if is_disk_full(e):
        what = str(e) if str(e).startswith("the disk is full") else f"the disk is full ({e})"
        return (f"Training stopped: {what}. The previous snapshot and resume state are intact ({last}). "
                f"Free some space (delete old runs or snapshots), then continue with: "
                f"python -m explorer.train --resume {run.root}")
    return None


if __name__ == "__main__":
    sys.exit(main())
