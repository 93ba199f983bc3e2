"""The run directory: the contract between a training process and whatever watches it.

    config.json   the resolved TrainConfig
    log.jsonl     one JSON object per tick (kimg, losses, sec_per_kimg, ...)
    samples/      fixed-z grids (fakes000123.png = after 123 kimg; reals.png; latest.png, the newest)
    status.json   {"state": "running" | "finished" | "stopped" | "failed" | "crashed", "pid", "kimg", "error"},
                  written by the training process at its start and end; "failed" = it stopped itself (the
                  losses diverged, the disk is full) and "error" says what to do; "running" with a dead
                  pid = killed
    snapshots/    snapshot-000123.safetensors + .json (123 kimg; snapshot-000000_500 = 0.5 kimg), loadable
                  by the explorer; the .json is written last, so a snapshot without one is incomplete
    resume/       state.pt: everything needed to continue exactly (weights_only loadable)

Every file but log.jsonl is replaced atomically, so a kill at any moment leaves complete files and
perhaps a hidden temp file (.NAME.tmp), which a resume deletes.
"""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import torch

from ..fsutil import atomic_write_bytes, remove_temp_files
from .recipes import TrainConfig


class RunError(ValueError):
    """A run directory that cannot be used as asked; the message says what to do."""


class RunDir:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.config_path = self.root / "config.json"
        self.log_path = self.root / "log.jsonl"
        self.samples = self.root / "samples"
        self.snapshots = self.root / "snapshots"
        self.resume_path = self.root / "resume" / "state.pt"
        self.status_path = self.root / "status.json"
        self.live_sample_path = self.samples / "latest.png"

    def create(self, cfg: TrainConfig) -> "RunDir":
        if self.config_path.exists():
            raise RunError(f"{self.root} already holds a run; continue it with --resume {self.root} "
                           "or choose another --out.")
        for d in (self.samples, self.snapshots, self.resume_path.parent):
            d.mkdir(parents=True, exist_ok=True)
        self.write_config(cfg)
        return self

    def write_config(self, cfg: TrainConfig) -> None:
        atomic_write_bytes(self.config_path, json.dumps(cfg.to_dict(), indent=2).encode())

    def read_config(self) -> TrainConfig:
        if not self.config_path.is_file():
            raise RunError(f"{self.root} is not a run directory (no config.json); start a run with --out.")
        try:
            return TrainConfig.from_dict(json.loads(self.config_path.read_text()))
        except (json.JSONDecodeError, TypeError, ValueError) as e:
            raise RunError(f"{self.config_path} is unreadable ({e}).") from None

    def append_log(self, record: dict) -> None:
        with open(self.log_path, "a") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()

    def read_log(self) -> list[dict]:
        """Every complete record; a torn last line (a kill mid-write) is ignored."""
        if not self.log_path.is_file():
            return []
        out = []
        for line in self.log_path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out

    def truncate_log(self, kimg: float) -> None:
        """Drop records written after the resume point, so a resumed run's log has no duplicates."""
        keep = [r for r in self.read_log() if r.get("kimg", 0) <= kimg + 1e-9]
        atomic_write_bytes(self.log_path, "".join(json.dumps(r) + "\n" for r in keep).encode())

    def write_status(self, state: str, **extra) -> None:
        """The training process says it is running, or how it ended; watchers combine it with its pid."""
        atomic_write_bytes(self.status_path, json.dumps({"state": state, "time": time.time(), **extra}).encode())

    def read_status(self) -> dict | None:
        try:
            status = json.loads(self.status_path.read_text())
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            return None
        return status if isinstance(status, dict) else None

    def save_resume(self, state: dict) -> None:
        buf = io.BytesIO()
        torch.save(state, buf)
        atomic_write_bytes(self.resume_path, buf.getvalue())

    def load_resume(self) -> dict:
        if not self.resume_path.is_file():
            raise RunError(f"{self.root} has no resume state yet ({self.resume_path}); start it again with --out.")
        try:
            return torch.load(self.resume_path, map_location="cpu", weights_only=True)
        except Exception as e:  # a foreign or damaged file: say so, never run its code
            raise RunError(f"{self.resume_path} could not be read ({type(e).__name__}: {e}).") from None

    def snapshot_stem(self, kimg: float) -> Path:
        """snapshot-000012 at 12 kimg, snapshot-000012_250 at 12.25 kimg: one name per snapshot (ticks
        shorter than 1 kimg must not overwrite each other), sorting in kimg order."""
        nimg = int(round(kimg * 1000))
        whole, frac = divmod(nimg, 1000)
        return self.snapshots / (f"snapshot-{whole:06d}" + (f"_{frac:03d}" if frac else ""))

    def list_snapshots(self) -> list[tuple[float, Path]]:
        """[(kimg, .json path)] of the complete snapshots (a readable .json beside its .safetensors), oldest
        first; temp files and a .safetensors whose .json was never written are not snapshots."""
        out = []
        for jp in sorted(self.snapshots.glob("snapshot-*.json")):
            whole, _, frac = jp.stem.removeprefix("snapshot-").partition("_")
            try:
                kimg = json.loads(jp.read_text()).get("train", {}).get("kimg")
                kimg = float(kimg if kimg is not None else f"{int(whole)}.{frac or 0}")
            except (OSError, ValueError, AttributeError):
                continue
            if jp.with_suffix(".safetensors").is_file():
                out.append((kimg, jp))
        return out

    def remove_temp_files(self) -> list[Path]:
        """The temp files a killed training process left behind (call it before training resumes)."""
        return [p for d in (self.root, self.samples, self.snapshots, self.resume_path.parent)
                for p in remove_temp_files(d)]

    def sample_path(self, kimg: float) -> Path:
        return self.samples / f"fakes{int(round(kimg)):06d}.png"
