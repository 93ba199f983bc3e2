"""Everything the UI calls, built once and injected into the tabs. No gradio here."""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..render.edit import EditRenderer
from ..render.inspect import InspectRenderer
from ..render import Renderer
from ..render.style import StyleRenderer
from ..models import ARCHITECTURES
from ..train.jobs import JobManager
from .project_runner import ProjectRunner
from ..weights import ModelEntry, checkpoint_entry, list_checkpoints


MODELS_TTL_S = 2.0  # a scanned model list is reused this long while its folders' stamp is unchanged


@dataclass
class Services:
    weights_dir: Path                 # shipped checkpoints (weights/)
    runs_dir: Path                    # training runs, whose newest snapshots are listed too
    device: torch.device
    renderer: Renderer = field(init=False)
    style: StyleRenderer = field(init=False)  # the StyleGAN tab's renders, on the renderer's model cache
    edits: EditRenderer = field(init=False)   # the Edit and Interpolate tabs' renders and direction finding
    inspect: InspectRenderer = field(init=False)  # the Inspect tab's layer views, unit edits and dissections
    export_max_age_s: float = 3600.0  # downloads older than this are deleted when a new one is written
    jobs: JobManager | None = None  # training jobs in runs_dir (the Train tab); None: settings from the environment
    projections: ProjectRunner = field(init=False)  # the Project tab's projections, one at a time

    def __post_init__(self):
        self.weights_dir, self.runs_dir = Path(self.weights_dir), Path(self.runs_dir)
        self.renderer = Renderer(self.device)
        self.style = StyleRenderer(self.renderer)
        self.edits = EditRenderer(self.renderer, self.style)
        self.inspect = InspectRenderer(self.renderer)
        self.projections = ProjectRunner(self.device)
        self._export_root: Path | None = None
        if self.jobs is None:
            self.jobs = JobManager.from_env(self.runs_dir)
        self._opened: dict[str, str] = {}  # older snapshots opened from the Train tab: name -> .json path
        self._scan: tuple | None = None    # (folders' stamp, monotonic time, entries) of the last scan

    def _stamp(self) -> tuple:
        """What changes when a checkpoint or snapshot is added, removed or rewritten (they are written by
        rename): the mtimes of weights/, runs/ and every run's snapshots/ folder. A few stats, no file read."""
        parts = []
        for folder in (self.weights_dir, self.runs_dir):
            try:
                parts.append(folder.stat().st_mtime_ns)
            except OSError:
                parts.append(None)
        try:
            with os.scandir(self.runs_dir) as it:
                runs = sorted(e.path for e in it if e.is_dir())
        except OSError:
            runs = []
        for run in runs:
            try:
                parts.append((run, os.stat(os.path.join(run, "snapshots")).st_mtime_ns))
            except OSError:
                parts.append((run, None))
        return tuple(parts)

    def models(self) -> list[ModelEntry]:
        """The shipped models and every run's newest snapshot. Scanned again whenever a folder changed,
        and at least every MODELS_TTL_S (a file edited in place): a slider drag, which looks its model up
        on every event, no longer reads every checkpoint's JSON each time."""
        stamp, now = self._stamp(), time.monotonic()
        scan = self._scan
        if scan is not None and scan[0] == stamp and now - scan[1] < MODELS_TTL_S:
            found = list(scan[2])
        else:
            found = list_checkpoints(self.weights_dir, self.runs_dir)
            self._scan = (stamp, now, tuple(found))
        names = {m.name for m in found}
        extra = [checkpoint_entry(p, n, "run") for n, p in self._opened.items() if n not in names]
        return found + [e for e in extra if e is not None]

    def open_snapshot(self, path: str | Path, name: str) -> ModelEntry | None:
        """List a run's snapshot (not only its newest) under `name` for the explorer tabs."""
        entry = checkpoint_entry(path, name, "run")
        if entry is not None:
            self._opened[name] = str(path)
        return entry

    def find_model(self, name: str) -> ModelEntry | None:
        return next((m for m in self.models() if m.name == name), None)

    def models_with(self, capability: str) -> list[ModelEntry]:
        """The models whose architecture has a capability ("progressive", "mixing", ...)."""
        return [m for m in self.models() if getattr(ARCHITECTURES[m.arch].capabilities, capability)]

    def pick_model(self, name: str | None, capability: str, family: str, lacks: str) -> ModelEntry:
        """The named model, which must have `capability`; LookupError with a sentence otherwise.
        family: what the tab calls such models ("ProGAN"); lacks: what the others miss."""
        if not name:
            raise LookupError(f"No {family} model is selected. Train one (the command is at the top of this "
                              "tab), then press Refresh list.")
        entry = next((m for m in self.models_with(capability) if m.name == name), None)
        if entry is None:
            other = self.find_model(name)
            if other is not None:
                raise LookupError(f"{name!r} is a {ARCHITECTURES[other.arch].title} model, which {lacks}; "
                                  f"pick a {family} model from the list.")
            raise LookupError(f"Model {name!r} is no longer there; press Refresh list.")
        return entry

    def export_path(self, filename: str) -> Path:
        """A fresh path named `filename` (made safe) for a file the user downloads.

        It lies under the system temp folder, which Gradio serves returned files from (never the
        weights or runs folders). Each call gets its own sub-folder, so two requests never write one
        file, and folders older than export_max_age_s are removed on the way."""
        if self._export_root is None or not self._export_root.is_dir():
            self._export_root = Path(tempfile.mkdtemp(prefix="gan-explorer-exports-"))
            atexit.register(shutil.rmtree, self._export_root, ignore_errors=True)
        cutoff = time.time() - self.export_max_age_s
        for old in self._export_root.iterdir():
            try:
                if old.stat().st_mtime < cutoff:
                    shutil.rmtree(old, ignore_errors=True)
            except FileNotFoundError:  # another request removed it first
                pass
        safe = re.sub(r"[^A-Za-z0-9._-]+", "-", filename).strip("-.") or "export"
        return Path(tempfile.mkdtemp(dir=self._export_root)) / safe
