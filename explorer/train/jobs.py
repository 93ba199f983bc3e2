"""Training jobs: `python -m explorer.train` in a process of its own, watched through its run directory.

The job manager launches the same command a user types (so a run started here and one started from
a terminal look alike), with its own torch thread count, a lower CPU priority and its own session
(process group), so the app stays responsive and a job outlives a page reload or an app restart.
Everything a watcher shows is read back from the run directory (explorer.train.run): the state
comes from status.json plus whether its pid is still a live trainer, so a restarted app re-attaches
to a running job, and a job killed outright (status "running", pid gone) shows as crashed.
No UI here."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .. import limits, paths
from ..device import pick_device
from .datasets import BUILTIN, DatasetError, _check_res, builtin_problem, check_readable, class_names_of, \
    extract_upload
# The form's options live in explorer.train.options; these names stay importable from here.
from .options import FORM_FIELDS, IDENTITY_FIELDS, RUN_OPTIONS, JobError, Option, all_option_names, \
    arch_options, config_argv, default_channels, field_notes, parse_model_opts, parse_option, \
    recipe_options  # noqa: F401
from .recipes import TRAINING_RECIPES, TrainConfig, conditional_problem, make_train_config
from .run import RunDir

RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
ACTIVE = ("starting", "running")


# ------------------------------------------------------------------------------------- jobs
@dataclass
class JobSpec:
    recipe: str                   # name in TRAINING_RECIPES
    data: str                     # "mnist" | "faces" | a folder or .zip on the server | "upload"
    res: int                      # resolution in pixels
    kimg: float                   # training length
    batch: int | None = None      # None = the recipe's
    lr_g: float | None = None     # None = the recipe's
    lr_d: float | None = None     # None = the recipe's
    seed: int = 0
    device: str = "auto"          # "auto" | "cpu" | "cuda"
    options: dict = field(default_factory=dict)  # recipe options: {TrainConfig field: value}
    model: dict = field(default_factory=dict)    # architecture fields
    name: str | None = None       # run folder name; None = recipe-data-time
    upload: str | None = None     # data == "upload": the uploaded zip's path
    conditional: bool = False     # one class per label (TrainConfig.conditional): stylegan recipes, data with classes


@dataclass
class RunStatus:
    name: str
    state: str                    # "starting" | "running" | "finished" | "stopped" | "failed" | "crashed" | "missing"
    kimg: float = 0.0             # kimg of the newest log record
    total_kimg: float = 0.0       # the run's configured length
    sec_per_kimg: float | None = None
    records: list = field(default_factory=list)  # log.jsonl
    error: str | None = None      # why it failed or crashed, when known
    pid: int | None = None

    @property
    def eta_sec(self) -> float | None:
        if self.sec_per_kimg is None or self.state not in ACTIVE:
            return None
        return max(self.total_kimg - self.kimg, 0.0) * self.sec_per_kimg


def pid_is_trainer(pid: int | None) -> bool:
    """Whether `pid` is a live `explorer.train` process (not a zombie, not a reused pid)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return False
        return b"explorer.train" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, IndexError):
        return True  # no /proc (macOS): the pid exists, trust it


class JobManager:
    def __init__(self, runs_dir: str | os.PathLike, *, max_jobs: int = 1, threads: int = 1, niceness: int = 10,
                 sample_sec: float = 2.0, allow_server_paths: bool = True):
        self.runs_dir = Path(runs_dir)
        self.max_jobs = max_jobs                      # jobs running at once in runs_dir (CLI ones count)
        self.threads = threads                        # torch threads of each training process
        self.niceness = niceness                      # added to its CPU niceness (lower priority)
        self.sample_sec = sample_sec                  # live sample grid cadence, seconds
        self.allow_server_paths = allow_server_paths  # may --data name a folder on this machine
        self._procs: dict[str, subprocess.Popen] = {}  # jobs this process launched, reaped on poll
        self._errors: dict[str, str] = {}              # starts that failed before the run existed

    @classmethod
    def from_env(cls, runs_dir) -> "JobManager":
        """Settings from GAN_EXPLORER_MAX_JOBS / _TRAIN_THREADS / _SAMPLE_SEC / _SERVER_PATHS (1: --data
        may name a folder on this machine; default 1, but 0 on a Space; app.py sets 0 when it listens
        beyond this machine)."""
        env = os.environ.get
        server_paths = env("GAN_EXPLORER_SERVER_PATHS", "0" if env("SPACE_ID") else "1") == "1"
        return cls(runs_dir, max_jobs=int(env("GAN_EXPLORER_MAX_JOBS", "1")),
                   threads=int(env("GAN_EXPLORER_TRAIN_THREADS", "1")),
                   sample_sec=float(env("GAN_EXPLORER_SAMPLE_SEC", "2")), allow_server_paths=server_paths)

    # --------------------------------------------------------------- reading runs
    def runs(self) -> list[str]:
        """Run folders (with a config.json, or being started here), newest first."""
        if not self.runs_dir.is_dir():
            return []
        found = [p for p in self.runs_dir.iterdir() if p.is_dir() and RUN_NAME.fullmatch(p.name)
                 and ((p / "config.json").is_file() or p.name in self._procs)]
        return [p.name for p in sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)]

    def run_dir(self, name: str) -> RunDir:
        if not name or not RUN_NAME.fullmatch(name):
            raise JobError(f"{name!r} is not a run name (letters, digits, '.', '_' and '-').")
        return RunDir(self.runs_dir / name)

    def status(self, name: str, with_log: bool = True) -> RunStatus:
        """The run's state; with_log=False skips reading log.jsonl (kimg then comes from status.json)."""
        run = self.run_dir(name)
        proc = self._procs.get(name)
        if proc is not None and proc.poll() is not None:  # ended: reap it
            del self._procs[name]
            if not run.config_path.is_file():  # it failed before creating the run: leave nothing
                self._errors[name] = _tail(run.root / "console.log", 6) or f"exit code {proc.returncode}"
                shutil.rmtree(run.root, ignore_errors=True)
            proc = None
        if name in self._errors and not run.root.exists():
            return RunStatus(name, "crashed", error=self._errors[name])
        if not run.config_path.is_file():
            return RunStatus(name, "starting" if proc else "missing")
        records = run.read_log() if with_log else []
        cfg = json.loads(run.config_path.read_text())
        status = run.read_status() or {}
        st = RunStatus(name, "stopped", records=records, total_kimg=float(cfg.get("kimg", 0)),
                       kimg=float(status.get("kimg", 0.0)))
        if records:
            st.kimg, st.sec_per_kimg = float(records[-1].get("kimg", 0)), records[-1].get("sec_per_kimg")
        st.pid = status.get("pid")
        if proc is not None:
            st.state = status.get("state", "starting") if st.pid == proc.pid else "starting"
            st.pid = proc.pid
        elif status.get("state") == "running":
            st.state = "running" if pid_is_trainer(st.pid) else "crashed"
            if st.state == "crashed":
                st.error = "the training process ended without saving (killed, or out of memory)"
        elif status.get("state") in ("finished", "stopped", "failed", "crashed"):
            st.state, st.error = status["state"], status.get("error")
        elif st.kimg >= st.total_kimg > 0:  # a run from before status.json existed
            st.state = "finished"
        return st

    def active(self) -> list[str]:
        return [n for n in self.runs() if self.status(n, with_log=False).state in ACTIVE]

    def snapshots(self, name: str) -> list[tuple[float, Path]]:
        """[(kimg, .json path)] of the run's complete snapshots, oldest first."""
        return self.run_dir(name).list_snapshots()

    def console_tail(self, name: str, lines: int = 15) -> str:
        """The job's own output (the CLI's lines), else the newest log records as text."""
        run = self.run_dir(name)
        text = _tail(run.root / "console.log", lines)
        if text:
            return text
        return "\n".join(json.dumps(r) for r in run.read_log()[-lines:])

    # --------------------------------------------------------------- starting and stopping
    def _check_capacity(self) -> None:
        active = self.active()
        if len(active) >= self.max_jobs:
            st = self.status(active[0])
            raise BusyError(active[0], f"A training job is already running: {active[0]} "
                                       f"({st.kimg:g} of {st.total_kimg:g} kimg). This server runs "
                                       f"{self.max_jobs} at a time; watch it, or stop it before starting another.")

    def validate(self, spec: JobSpec) -> TrainConfig:
        """The TrainConfig the job would get; JobError naming the value and what is allowed."""
        if spec.recipe not in TRAINING_RECIPES:
            raise JobError(f"Unknown recipe {spec.recipe!r}; choose one of {', '.join(TRAINING_RECIPES)}.")
        if spec.conditional and conditional_problem(spec.recipe):
            raise JobError(conditional_problem(spec.recipe))
        if spec.data == "upload":
            if not spec.upload:
                raise JobError("Choose a .zip of images to upload first.")
        elif spec.data in BUILTIN:
            problem = builtin_problem(spec.data)
            if problem:
                raise JobError(problem)
        else:
            if not self.allow_server_paths:
                raise JobError(f"This server does not read folders on its disk; choose {', '.join(BUILTIN)} "
                               "or upload a .zip of images.")
            p = Path(spec.data).expanduser()
            if not (p.is_dir() or (p.is_file() and p.suffix.lower() == ".zip")):
                raise JobError(f"{spec.data!r} is not a folder or .zip on this server; give an existing path.")
            try:  # refused here with the reason, rather than started and shown as a crashed run
                check_readable(p)
            except DatasetError as e:
                raise JobError(str(e)) from None
        if spec.conditional:  # the data's classes, from file names alone: a flat folder or the faces are refused
            try:
                class_names_of(spec.upload if spec.data == "upload" else spec.data)
            except DatasetError as e:
                raise JobError(str(e)) from None
        if spec.name is not None and not RUN_NAME.fullmatch(spec.name):
            raise JobError(f"Run name {spec.name!r}: use 1-64 letters, digits, '.', '_' or '-', "
                           "starting with a letter or digit.")
        try:
            _check_res(int(spec.res))
            pick_device(spec.device)
            if spec.device not in ("auto", "cpu", "cuda"):
                raise ValueError(f"Device must be auto, cpu or cuda, got {spec.device!r}.")
            opts = dict(spec.options)
            bad = sorted(set(opts) - set(TrainConfig.__dataclass_fields__) - set(IDENTITY_FIELDS) - {"res"})
            if bad or set(opts) & {"recipe", "res", "channels", "data", *IDENTITY_FIELDS}:
                raise ValueError(f"Unknown or fixed options {sorted(bad or opts)}; the recipe's options are "
                                 f"{', '.join(o.name for o in recipe_options(spec.recipe))}.")
            given = {k: v for k, v in (("batch", spec.batch), ("lr_g", spec.lr_g), ("lr_d", spec.lr_d))
                     if v is not None}
            if spec.kimg is None or not spec.kimg > 0 or any(v <= 0 for v in given.values()):
                raise ValueError("kimg, batch size and learning rates must be positive.")
            if spec.kimg > limits.TRAIN_KIMG or (spec.batch or 0) > limits.TRAIN_BATCH:
                raise ValueError(f"A job here trains at most {limits.TRAIN_KIMG:,} kimg with batches of at most "
                                 f"{limits.TRAIN_BATCH:,}; you asked for {spec.kimg:g} kimg, batch {spec.batch}. "
                                 "Longer runs: python -m explorer.train on the command line.")
            if spec.conditional:
                opts["conditional"] = True
            return make_train_config(spec.recipe, res=int(spec.res), channels=default_channels(spec.data),
                                     model=spec.model, data=spec.data, kimg=float(spec.kimg), seed=int(spec.seed),
                                     **given, **opts)
        except (ValueError, TypeError) as e:  # DatasetError and the configs' own messages included
            raise JobError(str(e)) from None

    def start(self, spec: JobSpec) -> str:
        """Validate, make the run folder (with the upload's images), launch the command that makes the
        validated TrainConfig (config_argv); returns the run name."""
        cfg = self.validate(spec)
        self._check_capacity()
        name = spec.name or f"{spec.recipe}-{Path(spec.data).stem if spec.data != 'upload' else 'upload'}-" \
                            f"{time.strftime('%Y%m%d-%H%M%S')}"
        run = self.run_dir(name)
        if run.root.exists():
            raise JobError(f"A run named {name!r} exists already; choose another name or resume it.")
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        data = spec.data
        if spec.data == "upload":
            # The images go to a hidden folder first and the run appears in one rename, complete or not at all.
            staging = self.runs_dir / f".upload-{uuid.uuid4().hex}"
            staging.mkdir()
            try:
                extract_upload(spec.upload, staging / "data", classes=cfg.conditional)  # class sub-folders kept
                staging.rename(run.root)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            data = str((run.root / "data").resolve())
        else:
            run.root.mkdir()
            if data not in BUILTIN:
                data = str(Path(data).expanduser().resolve())
        args = ["--out", str(run.root), *config_argv(dataclasses.replace(cfg, data=data)), "--device", spec.device]
        try:
            self._launch(name, args)
        except BaseException:
            shutil.rmtree(run.root, ignore_errors=True)
            raise
        return name

    def resume(self, name: str, kimg: float | None = None, device: str = "auto") -> None:
        """Continue a stopped, crashed or finished run (a larger kimg extends a finished one)."""
        st = self.status(name)
        if st.state in ACTIVE:
            raise JobError(f"{name} is running already.")
        if st.state == "missing":
            raise JobError(f"There is no run named {name!r} in {self.runs_dir}.")
        run = self.run_dir(name)
        snaps = self.snapshots(name)
        # Nothing saved yet (killed before its first snapshot): the resume starts it again from the beginning.
        done = snaps[-1][0] if snaps and run.resume_path.is_file() else 0.0
        if kimg is None and done >= st.total_kimg:
            raise JobError(f"{name} has finished its {st.total_kimg:g} kimg; set kimg above {done:g} to extend it.")
        if kimg is not None and kimg <= done:
            raise JobError(f"{name} has trained {done:g} kimg already; set kimg above that to extend it.")
        try:
            pick_device(device)
        except ValueError as e:
            raise JobError(str(e)) from None
        self._check_capacity()
        self._errors.pop(name, None)
        args = ["--resume", str(run.root), "--device", device] + (["--kimg", f"{kimg:g}"] if kimg else [])
        self._launch(name, args)

    def stop(self, name: str) -> None:
        """Ctrl-C the job: it finishes the current step, writes a snapshot and the resume state, exits."""
        st = self.status(name)
        if st.state not in ACTIVE or not st.pid:
            raise JobError(f"{name} is not running (it is {st.state}).")
        os.kill(st.pid, signal.SIGINT)

    def _launch(self, name: str, args: list[str]) -> None:
        argv = [sys.executable, "-m", "explorer.train", *args, "--threads", str(self.threads),
                "--sample-sec", f"{self.sample_sec:g}", "--no-progress"]
        nice = shutil.which("nice")
        if nice and self.niceness:
            argv = [nice, "-n", str(self.niceness), *argv]
        root = str(paths.ROOT)  # so `-m explorer.train` imports this copy
        env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS=str(self.threads),
                   PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
        run = self.run_dir(name)
        with open(run.root / "console.log", "ab") as log:
            log.write(f"$ {' '.join(argv)}\n".encode())
            log.flush()
            # Its own session: a Ctrl-C meant for the app does not reach the job, and the job outlives the app.
            self._procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                                 stdin=subprocess.DEVNULL, env=env, start_new_session=True)


class BusyError(JobError):
    """Another job holds the server's job slot; .run names it."""

    def __init__(self, run: str, message: str):
        super().__init__(message)
        self.run = run


def _tail(path: Path, lines: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 16384))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
