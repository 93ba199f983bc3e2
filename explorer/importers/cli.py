"""`python -m explorer.weights import FILE --name NAME`: convert a checkpoint into weights/NAME.*"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import paths
from . import MAX_IMPORT_BYTES, ImportRefused, import_checkpoint



def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m explorer.weights", description="Checkpoint tools.")
    sub = p.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import", help="convert a rosinality .pt, NVIDIA StyleGAN2 .pkl or GAN Zoo PGAN .pt "
                                        "into a GAN Explorer checkpoint (nothing in the file is run)")
    imp.add_argument("file", type=Path, help="the checkpoint to convert")
    imp.add_argument("--name", required=True, help="model name: writes WEIGHTS/NAME.safetensors and NAME.json")
    imp.add_argument("--weights", type=Path, default=paths.WEIGHTS, help=f"output folder (default {paths.WEIGHTS})")
    imp.add_argument("--force", action="store_true", help="replace a model of the same name")
    args = p.parse_args(argv)
    try:
        r = import_checkpoint(args.file, args.weights, args.name, overwrite=args.force, max_bytes=MAX_IMPORT_BYTES)
    except ImportRefused as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    cfg = r.config
    classes = ""
    if cfg.get("c_dim"):
        names = cfg.get("class_names")
        classes = f", {cfg['c_dim']} classes" + (f" ({', '.join(names)})" if names else " (unnamed: shown as indices)")
    print(f"imported {args.file.name} ({r.source_format}, sha256 {r.sha256[:12]}...) as {r.json_path} "
          f"[{r.arch}, {cfg['res']}x{cfg['res']}{classes}]; it opens in the app's model lists after Refresh.")
    return 0
