"""Everything the UI calls, built once and injected into the tabs. No gradio here."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..render import Renderer
from ..weights import ModelEntry, list_checkpoints


@dataclass
class Services:
    weights_dir: Path                 # shipped checkpoints (weights/)
    runs_dir: Path                    # training runs, whose newest snapshots are listed too
    device: torch.device
    renderer: Renderer = field(init=False)

    def __post_init__(self):
        self.weights_dir, self.runs_dir = Path(self.weights_dir), Path(self.runs_dir)
        self.renderer = Renderer(self.device)

    def models(self) -> list[ModelEntry]:
        """Rescanned on every call, so a new snapshot shows up after Refresh."""
        return list_checkpoints(self.weights_dir, self.runs_dir)

    def find_model(self, name: str) -> ModelEntry | None:
        return next((m for m in self.models() if m.name == name), None)
