"""Checkpoints: name.safetensors (tensors only) + name.json (what rebuilds the generator).

JSON: {"format": 1, "arch": ..., "config": {...}, "train": {...}}. Nothing is pickled, so a
checkpoint never runs code and never needs this project's classes to be importable by name."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from ..fsutil import atomic_write_bytes
from ..models import ARCHITECTURES, build_generator

FORMAT = 1
MAX_CHECKPOINT_BYTES = 2 * 1024**3


class CheckpointError(ValueError):
    """A checkpoint that cannot be opened; the message says what to do."""


def _stem(path: str | os.PathLike) -> Path:
    p = Path(path)
    return p.with_suffix("") if p.suffix in (".json", ".safetensors") else p


def save_generator(path: str | os.PathLike, G: nn.Module, arch: str, config: dict, train: dict | None = None) -> Path:
    """Write path.safetensors then path.json, each atomically; the JSON is the commit point."""
    stem = _stem(path)
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in G.state_dict().items()}
    meta = {"format": FORMAT, "arch": arch, "config": config, "train": train or {}}
    atomic_write_bytes(stem.with_suffix(".safetensors"), st_save(tensors))
    atomic_write_bytes(stem.with_suffix(".json"), json.dumps(meta, indent=2, sort_keys=True).encode())
    return stem.with_suffix(".json")


def read_meta(path: str | os.PathLike) -> dict:
    stem = _stem(path)
    jp = stem.with_suffix(".json")
    try:
        meta = json.loads(jp.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{jp} is missing: a checkpoint is a .safetensors file plus a .json file "
                              "with the same name.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{jp} is not valid JSON ({e}); re-export the checkpoint.") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{jp} is not a GAN Explorer checkpoint of format {FORMAT}.")
    if meta.get("arch") not in ARCHITECTURES:
        raise CheckpointError(f"{jp} names architecture {meta.get('arch')!r}; this version knows "
                              f"{', '.join(ARCHITECTURES)}.")
    if not isinstance(meta.get("config"), dict):
        raise CheckpointError(f"{jp} has no 'config' object.")
    return meta


def load_generator(path: str | os.PathLike, device: torch.device | str = "cpu") -> tuple[nn.Module, dict]:
    """Rebuild G from its JSON config and load its tensors strictly; G is in eval mode."""
    stem = _stem(path)
    meta = read_meta(stem)
    try:
        G = build_generator(meta["arch"], meta["config"])
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{stem.with_suffix('.json')} has an invalid config: {e}") from None
    sp = stem.with_suffix(".safetensors")
    try:
        if sp.stat().st_size > MAX_CHECKPOINT_BYTES:
            raise CheckpointError(f"{sp} is larger than {MAX_CHECKPOINT_BYTES // 2**30} GiB; refusing to load it.")
        tensors = st_load(sp.read_bytes())
    except FileNotFoundError:
        raise CheckpointError(f"{sp} is missing; copy it next to {stem.with_suffix('.json').name}.") from None
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{sp} is not a readable safetensors file ({e}); re-download or re-export it.") from None
    expected = G.state_dict()
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    wrong = sorted(k for k in set(expected) & set(tensors) if tensors[k].shape != expected[k].shape)
    if missing or extra or wrong:
        raise CheckpointError(f"{sp} does not match its config: missing {missing[:3]}, unexpected {extra[:3]}, "
                              f"wrong shape {wrong[:3]}. The .json and .safetensors files belong to different models.")
    G.load_state_dict(tensors, strict=True)
    return G.to(device).eval().requires_grad_(False), meta


@dataclass(frozen=True)
class ModelEntry:
    name: str          # unique label shown in the UI
    path: str          # the .json file
    arch: str
    res: int
    channels: int
    source: str        # "shipped" (weights/) or "run" (a training run's snapshot)
    kimg: float | None

    @property
    def facts(self) -> ModelFacts | None:
        """Size and style structure, for the model picker (None when the files cannot be read)."""
        return model_facts(self.path)

    @property
    def summary(self) -> str:
        """One line for the picker: parameters, file size, mapping depth, num_ws, where it came from."""
        f = self.facts
        if f is None:
            return ""
        parts = [f"{f.params / 1e6:.2f} M params ({f.megabytes:.1f} MB)"]
        if f.mapping_layers:
            parts.append(f"mapping depth {f.mapping_layers}")
        parts.append(f"num_ws {f.num_ws}")
        if f.classes:
            parts.append(f"conditional: {f.classes} classes")
        if f.imported_from:
            parts.append(f"imported from {f.imported_from}")
        return " · ".join(parts)


@dataclass(frozen=True)
class ModelFacts:
    params: int                # generator parameters (buffers such as noise maps not counted)
    megabytes: float           # size of the .safetensors file, MiB
    mapping_layers: int        # depth of the mapping network z -> w (0: none, w is z)
    num_ws: int                # style inputs ws [N, num_ws, w_dim] (1 for families without per-layer styles)
    imported_from: str | None  # source format of an imported checkpoint ("nvidia-pkl", ...), else None
    classes: int = 0           # classes of a conditional generator (0: unconditional)


@functools.lru_cache(maxsize=64)
def _structure(arch: str, config_json: str) -> tuple[int, int, int]:
    """(params, mapping depth, num_ws) of a generator, built on the meta device (no memory, no init cost)."""
    with torch.device("meta"):
        G = build_generator(arch, json.loads(config_json))
    mapping = getattr(G, "mapping_net", None)
    return sum(p.numel() for p in G.parameters()), len(mapping.fcs) if mapping is not None else 0, int(G.num_ws)


def model_facts(path: str | os.PathLike) -> ModelFacts | None:
    stem = _stem(path)
    try:
        meta = read_meta(stem)
        params, depth, num_ws = _structure(meta["arch"], json.dumps(meta["config"], sort_keys=True))
        size = stem.with_suffix(".safetensors").stat().st_size
    except (CheckpointError, OSError, TypeError, ValueError):
        return None
    c_dim = meta["config"].get("c_dim", 0)
    return ModelFacts(params, size / 2**20, depth, num_ws, meta.get("train", {}).get("source_format"),
                      c_dim if isinstance(c_dim, int) and c_dim > 0 else 0)


_NAME_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def checkpoint_entry(jp: str | os.PathLike, name: str, source: str) -> ModelEntry | None:
    """The list entry for one checkpoint's .json, or None when it is broken or half-written."""
    jp = Path(jp)
    try:
        meta = read_meta(jp)
    except CheckpointError:
        return None
    if not jp.with_suffix(".safetensors").is_file():
        return None
    cfg = meta["config"]
    fields = {f.name: f.default for f in dataclasses.fields(ARCHITECTURES[meta["arch"]].config)}
    return ModelEntry(name, str(jp), meta["arch"], int(cfg.get("res", fields.get("res", 0))),
                      int(cfg.get("channels", fields.get("channels", 3))), source, meta.get("train", {}).get("kimg"))


def list_checkpoints(weights_dir: str | os.PathLike | None = None, runs_dir: str | os.PathLike | None = None
                     ) -> list[ModelEntry]:
    """Shipped checkpoints in weights_dir, then every run's newest snapshot in runs_dir.
    Broken entries are left out here; opening one names what is wrong."""
    entries: list[ModelEntry] = []

    def add(jp: Path, name: str, source: str):
        entry = checkpoint_entry(jp, name, source)
        if entry is not None:
            entries.append(entry)

    if weights_dir and Path(weights_dir).is_dir():
        for jp in sorted(Path(weights_dir).glob("*.json")):
            if _NAME_OK.fullmatch(jp.stem):
                add(jp, jp.stem, "shipped")
    if runs_dir and Path(runs_dir).is_dir():
        for run in sorted(p for p in Path(runs_dir).iterdir() if p.is_dir()):
            snaps = sorted((run / "snapshots").glob("*.json"))
            if snaps and _NAME_OK.fullmatch(run.name):
                add(snaps[-1], f"run: {run.name}", "run")
    return entries
