"""One projection from an upload to the files beside the model: what the CLI and the Project tab run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import torch

from . import store
from .projector import ProjectConfig, Projection, Result, Step
from .target import Target, load_target


def dataset_of(meta: dict) -> str | None:
    train = meta.get("train")
    return train.get("data") if isinstance(train, dict) and isinstance(train.get("data"), str) else None


def prepare(G, meta: dict, source: bytes | str | os.PathLike, cfg: ProjectConfig,
            device: torch.device | str = "cpu") -> tuple[Target, Projection]:
    """Read the upload and set up the projection (TargetError / ValueError sentences for bad input)."""
    target = load_target(source, G.img_resolution, G.img_channels)
    return target, Projection(G, meta, target.image, cfg, device, dataset_of(meta))


def save_result(checkpoint: str | os.PathLike, key: str, target: Target, projection: Projection, result: Result,
                source_name: str, meta: dict) -> Path:
    """Write the projection beside the checkpoint (store.save). -> KEY.json."""
    source = {"file": Path(source_name).name[:200] if source_name else "", "sha256": target.sha256,
              "size": list(target.size), "crop": list(target.crop), "notes": list(target.notes)}
    return store.save(checkpoint, key, space=result.space, latent=result.latent, target=target.picture,
                      source=source, config=projection.cfg.to_dict(), history=result.history, final=result.final,
                      best_step=result.best_step, seconds=result.seconds, stopped=result.stopped, tuned=result.G,
                      arch=meta["arch"], model_config=meta["config"], train=meta.get("train"))


def project_file(checkpoint: str | os.PathLike, G, meta: dict, source: bytes | str | os.PathLike, cfg: ProjectConfig,
                 key: str, *, source_name: str = "", device: torch.device | str = "cpu",
                 should_stop: Callable[[], bool] = lambda: False,
                 on_step: Callable[[Step], None] | None = None) -> tuple[Target, Result, Path]:
    target, projection = prepare(G, meta, source, cfg, device)
    result = projection.run(should_stop, on_step)
    return target, result, save_result(checkpoint, key, target, projection, result, source_name, meta)
