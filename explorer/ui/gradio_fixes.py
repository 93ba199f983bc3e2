"""A fix for the Gradio release the app pins (requirements.txt), applied when the app is built.

Gradio stores every picture a handler returns at <cache>/<hash of its PNG bytes>/image.png and
writes it there again, in place, each time the same picture is returned. Two visitors who render
the same picture (the default seeds, say) then race: while one answer rewrites the file, the page
of the other fetches it truncated or empty, and shows a broken image. bench/load_app.py saw it as
"peer closed connection without sending complete message body" on 2 of 1,443 fetches with 8 users;
a writer and a reader in two threads see thousands of short reads in 2,000 saves.

`save_pil_to_cache` below writes the way Gradio's own `save_file_to_cache` does: under a temporary
name, renamed into place, so a reader sees the whole old file or the whole new one. A picture that
is already there (same bytes, same name) is not written again, only touched, so that
`delete_cache`, which ages files by their ctime, keeps it while pages still fetch it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from gradio import processing_utils


def save_pil_to_cache(img, cache_dir: str, name: str = "image", format: str = "webp") -> str:
    """Gradio's save_pil_to_cache, written atomically and only when the file is not already there."""
    data = processing_utils.encode_pil_to_bytes(img, format)
    folder = Path(cache_dir) / processing_utils.hash_bytes(data)
    folder.mkdir(exist_ok=True, parents=True)
    path = (folder / f"{name}.{format}").resolve()
    try:
        if path.stat().st_size == len(data):
            os.utime(path)
            return str(path)
    except OSError:
        pass
    fd, staging = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(staging, 0o644)  # as a plain write would leave it; mkstemp makes it 0600
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
    return str(path)


def apply() -> None:
    """Install the fix (idempotent). Gradio looks the function up on its module at each save."""
    processing_utils.save_pil_to_cache = save_pil_to_cache
