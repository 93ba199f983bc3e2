"""Import checkpoints made by other code, without running any of it.

import_checkpoint(FILE, weights_dir, name) sniffs what FILE is, converts it and writes
weights_dir/name.safetensors + name.json, the JSON last (the commit point), recording the source
format and the original file's sha256. Supported: rosinality/stylegan2-pytorch (.pt with 'g_ema'),
NVIDIA stylegan2-ada-pytorch / stylegan3 pickles of StyleGAN2 and StyleGAN3-T/-R generators, unconditional
or class-conditional (.pkl with 'G_ema'), PyTorch GAN Zoo PGAN
(.pt/.pth with 'config' and 'netG'/'avgG'). torch files are opened with weights_only=True (the two
configuration classes they may pickle are stand-ins registered under their names); NVIDIA pickles go
through safe_pickle's allowlist. Anything else is an ImportRefused with a sentence that says what to do."""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

from .errors import SUPPORTED, ImportRefused, refused_global, unreadable, unsupported

__all__ = ["ImportRefused", "ImportResult", "import_checkpoint", "sniff", "MAX_IMPORT_BYTES"]

MAX_IMPORT_BYTES = 4 * 1024**3   # the largest file the importer opens (FFHQ-1024 pickles are ~360 MB)
NAME_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
TORCH_LEGACY_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"  # protocol 2, LONG1 magic number


@dataclass(frozen=True)
class ImportResult:
    json_path: Path      # the written checkpoint's .json
    arch: str
    config: dict
    source_format: str   # "rosinality" | "nvidia-pkl" | "ganzoo-pgan"
    sha256: str          # of the original file


def sniff(path: str | os.PathLike) -> str:
    """'torch-zip', 'torch-legacy' or 'pickle' by the file's first bytes; ImportRefused for anything else,
    saying what the file looks like."""
    p = Path(path)
    size = p.stat().st_size
    if size == 0:
        raise unreadable(f"{p.name} is empty. {SUPPORTED}")
    with open(p, "rb") as f:
        head = f.read(64)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        try:
            with zipfile.ZipFile(p) as z:
                names = z.namelist()
        except (zipfile.BadZipFile, OSError):
            raise unreadable(f"{p.name} is a zip archive that is truncated or damaged (its directory is missing); "
                             "download or copy it again.") from None
        if any(n.endswith("data.pkl") for n in names):
            return "torch-zip"
        raise unsupported(f"{p.name} is a zip archive but not a PyTorch checkpoint (no data.pkl inside; it holds "
                          f"{names[:3]}). A zip of images is a dataset: train on it in the Train tab. {SUPPORTED}")
    if head.startswith(TORCH_LEGACY_MAGIC):
        return "torch-legacy"
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "pickle"
    if len(head) >= 10 and head[8:10] in (b'{"', b"{'") or head[8:9] == b"{":
        raise unsupported(f"{p.name} looks like a safetensors file. A GAN Explorer checkpoint is a .safetensors "
                          "file plus a .json file of the same name: copy both into weights/ instead of importing.")
    known = {b"\x89HDF": "an HDF5/Keras file", b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image",
             b"GIF8": "a GIF image", b"\x1f\x8b": "a gzip archive", b"\x08\x01\x12": "a TensorFlow/ONNX protobuf",
             b"{": "a JSON or text file", b"<": "an HTML or XML page (a download link that returned a web page?)"}
    for magic, what in known.items():
        if head.startswith(magic):
            raise unsupported(f"{p.name} is {what}, not a checkpoint. {SUPPORTED}")
    raise unsupported(f"{p.name} is not a format GAN Explorer knows (it starts with bytes {head[:8].hex(' ')}). "
                      f"{SUPPORTED}")


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_torch_file(path: Path) -> dict:
    """A torch.save'd dict, opened weights-only; the GAN Zoo's config and rosinality's argparse args load
    as inert stand-ins registered under their own names, and anything else that wants code is refused."""
    from .ganzoo import ZooConfig
    from .rosinality import TrainArgs

    stand_ins = [(ZooConfig, "models.utils.config.BaseConfig"), (TrainArgs, "argparse.Namespace")]
    try:
        with torch.serialization.safe_globals(stand_ins):
            data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        m = re.search(r"GLOBAL ([\w.]+)", str(e))
        if m:
            raise refused_global(m.group(1)) from None
        raise unreadable(f"{path.name} is truncated or damaged ({str(e).splitlines()[0][:160]}); "
                         "download or copy it again.") from None
    except (RuntimeError, EOFError, ValueError, OSError, zipfile.BadZipFile) as e:
        raise unreadable(f"{path.name} is truncated or damaged ({str(e).splitlines()[0][:160]}); "
                         "download or copy it again.") from None
    if not isinstance(data, dict):
        raise unsupported(f"{path.name} holds a {type(data).__name__}, not a dict of weights. {SUPPORTED}")
    return data


def convert_file(path: Path) -> tuple[str, str, dict, dict, dict]:
    """(source format, arch, config, state dict, json extras) for the checkpoint at path."""
    from . import ganzoo, nvidia, rosinality

    kind = sniff(path)
    if kind == "pickle":
        with open(path, "rb") as f:
            G, training_set_kwargs = nvidia.read_snapshot(f)
        arch, config, sd, notes = nvidia.convert_network(G, training_set_kwargs)
        return "nvidia-pkl", arch, config, sd, {"import": notes}
    data = load_torch_file(path)
    if "g_ema" in data:
        config, sd, notes = rosinality.convert(data)
        return "rosinality", "stylegan", config, sd, {"import": notes}
    if "config" in data and ("netG" in data or "avgG" in data):
        config, sd, train, notes = ganzoo.convert(data)
        return "ganzoo-pgan", "progan", config, sd, {"import": notes, **train}
    if "G_ema" in data:
        raise unsupported(f"{path.name} is a torch file with 'G_ema' (a stylegan2-ada training state?); import "
                          "the network-snapshot-*.pkl pickle instead.")
    keys = sorted(map(str, data))[:8]
    raise unsupported(f"{path.name} is a PyTorch checkpoint, but of no kind GAN Explorer knows (its keys: {keys}). "
                      f"{SUPPORTED}")


def import_checkpoint(src: str | os.PathLike, weights_dir: str | os.PathLike, name: str, *,
                      overwrite: bool = False, max_bytes: int = MAX_IMPORT_BYTES,
                      original_name: str | None = None) -> ImportResult:
    """Convert the checkpoint at `src` and write weights_dir/name.safetensors + name.json."""
    from ..models import build_generator
    from ..weights import save_generator
    from .rosinality import estimate_w_avg

    src, weights_dir = Path(src), Path(weights_dir)
    if not NAME_OK.fullmatch(name or ""):
        raise ImportRefused("unsupported", f"{name!r} cannot be a model name: use 1-64 letters, digits, '.', '_' "
                                           "or '-', starting with a letter or digit.")
    if not src.is_file():
        raise unreadable(f"{src} is not a file.")
    size = src.stat().st_size
    if size > max_bytes:
        raise unsupported(f"{src.name} is {size / 2**20:.0f} MB, over the {max_bytes / 2**20:.0f} MB import limit.")
    target = weights_dir / f"{name}.json"
    if not overwrite and (target.exists() or target.with_suffix(".safetensors").exists()):
        raise ImportRefused("unsupported", f"A model named {name!r} already exists in {weights_dir}; pick another "
                                           "name (or pass --force on the command line to replace it).")
    fmt, arch, config, sd, extras = convert_file(src)
    try:
        G = build_generator(arch, config)
    except (TypeError, ValueError) as e:
        raise unsupported(f"The converted model's config is not one we can build ({e}).") from None
    if "w_avg" in G.state_dict() and "w_avg" not in sd:
        G.load_state_dict({**G.state_dict(), **sd}, strict=True)
        sd["w_avg"] = estimate_w_avg(G)
    expected = G.state_dict()
    missing, extra = sorted(set(expected) - set(sd)), sorted(set(sd) - set(expected))
    wrong = sorted(k for k in set(expected) & set(sd) if sd[k].shape != expected[k].shape)
    if missing or extra or wrong:
        raise unsupported(f"The converted weights do not fit the model: missing {missing[:3]}, unexpected "
                          f"{extra[:3]}, wrong shape {wrong[:3]}.")
    G.load_state_dict(sd, strict=True)
    digest = sha256_of(src)
    train = {"kimg": None, "recipe": f"imported ({fmt})", "source_format": fmt,
             "source_file": original_name or src.name, "source_sha256": digest,
             "dataset_licence": "as the original checkpoint's (see its source)", **extras}
    jp = save_generator(weights_dir / name, G, arch, config, train)
    return ImportResult(jp, arch, config, fmt, digest)
