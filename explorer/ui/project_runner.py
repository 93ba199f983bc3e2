"""The Project tab's projections: one at a time per server, in a background thread of its own, so the
page only polls and a reload or a slow client never stops it. No gradio here.

A projection belongs to the page that started it (Gradio's session hash): only that page can stop it,
and a second Start anywhere while it runs is told to wait. Its result is written beside the model
(explorer/project/store.py) when it finishes or is stopped (the best so far is kept); a failure is kept
as a sentence and nothing is written."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from .. import images
from ..project import run as prun
from ..project.projector import ProjectConfig, Projection, Result, Step
from ..project.target import Target


@dataclass
class Job:
    owner: str                         # the session hash of the page that started it
    model: str                         # the model's name in the list
    checkpoint: str                    # its .json
    key: str                           # the name the result is saved under
    target: Target
    projection: Projection
    source_name: str
    meta: dict
    started: float = field(default_factory=time.monotonic)
    state: str = "running"             # "running" | "done" | "stopped" | "failed"
    stop: bool = False
    error: str | None = None
    result: Result | None = None
    saved: str | None = None           # KEY.json's path once written
    version: int = 0                   # bumped on every step, so a poll sends pictures only when they moved
    thread: threading.Thread | None = None

    @property
    def steps_total(self) -> int:
        cfg = self.projection.cfg
        return cfg.steps + cfg.pti_steps

    def done_steps(self) -> int:
        return len(self.projection.history)

    def latest(self) -> tuple[Step | None, np.ndarray | None]:
        hit = self.projection.latest
        if hit is None:
            return None, None
        step, img = hit
        return step, images.to_uint8(img.detach().float().clamp(-1, 1))[0]


class ProjectRunner:
    def __init__(self, device: torch.device | str = "cpu"):
        self.device = torch.device(device)
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}     # the last job of each page (a few, each holding a Projection)
        self._running: Job | None = None

    def busy(self) -> Job | None:
        with self._lock:
            return self._running if self._running is not None and self._running.state == "running" else None

    def job(self, owner: str | None) -> Job | None:
        with self._lock:
            return self._jobs.get(owner) if owner else None

    def start(self, owner: str, model: str, checkpoint: str, G, meta: dict, source, source_name: str,
              cfg: ProjectConfig, key: str) -> Job:
        """Check the upload and the settings, then project in the background. ValueError (TargetError
        included) with a sentence when anything is wrong, or when a projection is already running."""
        with self._lock:
            running = self._running
            if running is not None and running.state == "running":
                whose = "this page's" if running.owner == owner else "another page's"
                raise ValueError(f"A projection is running on this server ({whose}, into {running.model}); one runs "
                                 "at a time. Wait for it, or press Stop on the page that started it.")
        target, projection = prun.prepare(G, meta, source, cfg, self.device)
        job = Job(owner, model, checkpoint, key, target, projection, source_name, meta)
        with self._lock:
            if self._running is not None and self._running.state == "running":
                raise ValueError("Another projection started a moment ago; wait for it to finish.")
            self._running = job
            self._jobs[owner] = job
            while len(self._jobs) > 16:
                self._jobs.pop(next(iter(self._jobs)))
        job.thread = threading.Thread(target=self._run, args=(job,), daemon=True, name="projection")
        job.thread.start()
        return job

    def stop(self, owner: str) -> Job | None:
        job = self.job(owner)
        if job is not None and job.state == "running":
            job.stop = True
        return job

    def _run(self, job: Job) -> None:
        def on_step(_s):
            job.version += 1

        try:
            result = job.projection.run(lambda: job.stop, on_step)
            job.result = result
            job.saved = str(prun.save_result(job.checkpoint, job.key, job.target, job.projection, result,
                                             job.source_name, job.meta))
            job.state = "stopped" if result.stopped else "done"
        except Exception as e:  # noqa: BLE001 - shown on the page, never raised into the server
            job.error, job.state = f"The projection failed: {e}", "failed"
        finally:
            job.version += 1
