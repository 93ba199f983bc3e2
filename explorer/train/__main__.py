"""`python -m explorer.train`: train a recipe into a run directory, or --resume one.

    python -m explorer.train --recipe dcgan --data mnist --res 32 --kimg 20 --out runs/dcgan-mnist
    python -m explorer.train --resume runs/dcgan-mnist --kimg 40
    python -m explorer.train --resume runs/dcgan-mnist --lr-g 1e-4 --lr-d 1e-4   (after a divergence)
    python -m explorer.train --recipe stylegan2 --data mnist --conditional --out runs/digits   (one class per digit)

Ctrl-C stops after the current step and saves everything needed to resume. Under
`torchrun --nproc_per_node=N` the same command trains one model on N processes (gloo on CPU,
NCCL on CUDA); rank 0 alone writes the run directory.

Faults: a kill at any moment leaves the last snapshot and resume state complete, and --resume
continues from them (a run killed before its first snapshot starts again from the beginning).
Losses that stop being finite, or a full disk, stop the run at once: exit code 1, status.json
"failed", and a message naming the last good snapshot and what to do."""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import time

import torch

from ..device import pick_device, set_threads
from ..fsutil import is_disk_full
from .datasets import DatasetError, load_dataset
from .options import MODEL_FLAGS, RESUME_FIELDS, add_config_flags, flag, given_config_flags, key_value, \
    new_run_flags
from .recipes import TRAINING_RECIPES, TrainConfig, conditional_problem, make_train_config, with_classes
from .run import RunDir, RunError


def build_parser() -> argparse.ArgumentParser:
    """The run flags, then one flag per TrainConfig field (explorer.train.options), then the architecture's."""
    p = argparse.ArgumentParser(prog="python -m explorer.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", help="new run directory")
    p.add_argument("--resume", help="continue the run in this directory")
    p.add_argument("--train-opt", action="append", type=key_value, metavar="KEY=VALUE",
                   help="any TrainConfig field, the value as JSON (null for None), e.g. --train-opt ema_kimg=null")
    p.add_argument("--sample-sec", type=float, help="also refresh samples/latest.png every this many seconds "
                                                    "(a live preview; default: only at sample ticks)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | mps")
    p.add_argument("--threads", type=int, help="torch CPU threads per process")
    p.add_argument("--no-progress", action="store_true", help="print one line per tick instead of a bar")
    add_config_flags(p)
    arch = p.add_argument_group("architecture (not given: the recipe's value, else the architecture's default)")
    for name, (kind, text) in MODEL_FLAGS.items():
        arch.add_argument(flag(name), type=kind, help=text)
    arch.add_argument("--model-opt", action="append", type=key_value, metavar="KEY=VALUE",
                      help="any architecture field, e.g. --model-opt channel_max=64 --model-opt variant=adain")
    return p


def _new_config(args, channels: int) -> TrainConfig:
    """A new run's TrainConfig: the recipe's values, then the flags given, then --train-opt entries;
    `channels` is the loaded data's."""
    model = {k: getattr(args, k) for k in MODEL_FLAGS if getattr(args, k) is not None}
    model.update(dict(args.model_opt or []))
    fixed = {"recipe", "arch", "model", "res", "channels"}
    overrides = {k: v for k, v in given_config_flags(args).items() if k not in fixed}
    for key, value in args.train_opt or []:
        if key in fixed or key not in TrainConfig.__dataclass_fields__:
            raise ValueError(f"--train-opt {key}: not a TrainConfig field that may be set this way; "
                             f"choose from {', '.join(sorted(set(TrainConfig.__dataclass_fields__) - fixed))}.")
        overrides[key] = value
    overrides.setdefault("data", _default("data"))
    return make_train_config(args.recipe or _default("recipe"), res=args.res or _default("res"), channels=channels,
                             model=model, **overrides)


def _default(name: str):
    return TrainConfig.__dataclass_fields__[name].default


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
    """Set up the processes, the run (new or resumed) and the console, then fit."""
    from .loop import DistInfo, Hooks, Trainer

    device = _init_processes(args, world)
    # The run: a new one from the flags, or the one named by --resume with its config.json and resume state.
    cfg, dataset, run, state = (_resume_run if args.resume else _new_run)(args, rank)
    if world > 1:
        torch.distributed.barrier()  # rank 0 has written the run directory

    # The console and Ctrl-C, then the Trainer, restored from the resume state when there is one.
    verbose = rank == 0
    if verbose and dataset.skipped:
        print(f"Skipped {dataset.skipped} unreadable file(s), e.g. {dataset.skipped_examples[0]}", file=sys.stderr)
    stop = _StopFlag(verbose)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    console = _Console(cfg.kimg, verbose, per_tick=args.no_progress)
    trainer = Trainer(cfg, dataset, device=device, run=run, dist_info=DistInfo(rank, world),
                      hooks=Hooks(should_stop=lambda: stop.stop, on_step=console.on_step, on_tick=console.on_tick),
                      sample_sec=args.sample_sec)
    if state is not None:
        trainer.load_state_dict(state)
        trainer.ensure_snapshot()  # the resume point's snapshot, if a kill came between the two
        console.bar.n = trainer.kimg
    if verbose:
        print(f"{'Resuming' if state else 'Training'} {cfg.recipe} on {cfg.data} ({len(dataset)} images, "
              f"{dataset.channels}x{cfg.res}x{cfg.res}) on {device}" + (f" x{world} processes" if world > 1 else "")
              + f" -> {run.root}", file=sys.stderr, flush=True)
    return _fit(trainer, run, cfg, console, verbose)


def _init_processes(args, world: int) -> torch.device:
    """The device, and under torchrun the process group (NCCL on CUDA, one GPU per local rank; gloo on CPU);
    torch threads as asked (one per process when several share a CPU)."""
    device = pick_device(args.device)
    if world > 1:
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        torch.distributed.init_process_group(backend=backend)
    set_threads(args.threads if args.threads else (1 if world > 1 and device.type == "cpu" else None))
    return device


def _new_run(args, rank: int):
    """(cfg, dataset, run, None) for --out: the data first (its channels and, for --conditional, its classes),
    then the config, then the folder. A conditional run the recipe or the data cannot make is refused before
    anything is written."""
    conditional = bool(dict(args.train_opt or []).get("conditional", args.conditional))
    recipe = args.recipe or _default("recipe")
    if conditional and recipe in TRAINING_RECIPES and conditional_problem(recipe):
        raise ValueError(conditional_problem(recipe))
    dataset = load_dataset(args.data or _default("data"), args.res or _default("res"), channels=args.channels,
                           size=args.data_size, seed=args.seed or 0, classes=conditional)
    cfg = with_classes(_new_config(args, dataset.channels), dataset.class_names)  # c_dim, names in config.json
    run = RunDir(args.out)
    if rank == 0:
        run.create(cfg)
    return cfg, dataset, run, None


def _resume_run(args, rank: int):
    """(cfg, dataset, run, resume state or None) for --resume: the run's config.json with the RESUME_FIELDS
    given changed; any other flag that shapes a run is refused."""
    run = RunDir(args.resume)
    cfg = run.read_config()
    given = [f for f in new_run_flags() if getattr(args, f, None) is not None]
    if given:
        may = [flag(k) for k in RESUME_FIELDS] + ["--device", "--threads", "--sample-sec", "--no-progress"]
        raise RunError(f"--resume continues the run as configured in {run.config_path}; "
                       f"drop {', '.join(flag(g) for g in given)} (only {', '.join(may)} may change).")
    for k in RESUME_FIELDS:
        if k != "kimg" and getattr(args, k) is not None:
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
    dataset = load_dataset(cfg.data, cfg.res, channels=cfg.channels, size=cfg.data_size, seed=cfg.seed,
                           classes=cfg.conditional)
    if rank == 0:
        run.write_config(cfg)
        run.truncate_log(done_kimg)
    return cfg, dataset, run, state


class _Console:
    """What a person at the terminal sees: a kimg bar with the losses and speed, or with per_tick one line
    per tick (the job manager's console.log). Silent on ranks other than 0."""

    def __init__(self, total_kimg: float, verbose: bool, per_tick: bool):
        from tqdm import tqdm

        self.verbose, self.per_tick, self.sec_per_kimg = verbose, per_tick, None
        self.bar = tqdm(total=total_kimg, unit="kimg", dynamic_ncols=True, disable=not verbose or per_tick,
                        bar_format="{l_bar}{bar}| {n:.1f}/{total:g} kimg [{elapsed}<{remaining}{postfix}]")

    def on_step(self, info: dict) -> None:
        self.bar.n = info["kimg"]
        post = f"D {info['loss_D']:.3f} G {info['loss_G']:.3f}"
        if self.sec_per_kimg is not None:
            post += f" {self.sec_per_kimg:.1f} s/kimg"
        self.bar.set_postfix_str(post, refresh=False)
        self.bar.refresh()

    def on_tick(self, rec: dict) -> None:
        self.sec_per_kimg = rec["sec_per_kimg"]
        if self.verbose and self.per_tick:
            print(f"tick {rec['tick']} kimg {rec['kimg']:.1f} loss_D {rec['loss_D']:.4f} "
                  f"loss_G {rec['loss_G']:.4f} sec/kimg {rec['sec_per_kimg']:.2f}", flush=True)


def _fit(trainer, run: RunDir, cfg: TrainConfig, console: _Console, verbose: bool) -> int:
    """Train, keeping status.json current: "running" with this pid now, then how it ended. A process killed
    outright leaves "running" behind with a dead pid, which watchers (explorer.train.jobs) report as crashed.
    Returns the exit code: 0, or 1 for a failure explained on the console (diverged, disk full)."""
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
        console.bar.close()
        if verbose:
            print(f"\nerror: {failure}", file=sys.stderr, flush=True)
        return 1
    if verbose:
        run.write_status("stopped" if status == "stopped" else "finished", pid=os.getpid(), kimg=trainer.kimg,
                         total_kimg=cfg.kimg)
    console.bar.close()
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
