"""Builders for the job-manager and Train-tab tests: a tiny DCGAN job, polling, and bad uploads."""

from __future__ import annotations

import io
import struct
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from explorer.train.jobs import JobSpec


TINY_MODEL = {"ngf": 8, "ndf": 8, "z_dim": 16}


TINY_OPTIONS = {"tick_kimg": 0.5, "snapshot_ticks": 1, "sample_ticks": 100, "num_samples": 16}


def tiny_spec(name: str, kimg: float = 500.0, data: str = "mnist", **kw) -> JobSpec:
    return JobSpec("dcgan", data, 16, kimg, batch=16, device="cpu", model=dict(TINY_MODEL),
                   options=dict(TINY_OPTIONS), name=name, **kw)


def wait_for(fn, what: str, timeout: float = 90.0, interval: float = 0.2):
    """Poll fn() every `interval` s until it returns something truthy; fail naming `what` after `timeout` s."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = fn()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def png_bytes(size: int = 20, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def huge_png_bytes(side: int = 100_000) -> bytes:
    """A small PNG whose header claims side x side pixels (a decompression bomb by its size)."""
    data = png_bytes(4)
    ihdr = data[8:33]  # length, b"IHDR", 13 bytes of data, crc
    body = b"IHDR" + struct.pack(">II", side, side) + ihdr[16:21]
    return data[:8] + ihdr[:4] + body + struct.pack(">I", zlib.crc32(body)) + data[33:]


def make_zip(path: Path, members: dict, compression=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name) if isinstance(name, str) else name, data, compress_type=compression)
    return path


def bad_uploads(folder: Path) -> dict[str, tuple[Path, str]]:
    """{case: (file, words its refusal must contain)} for every kind of bad upload."""
    folder.mkdir(parents=True, exist_ok=True)
    notzip = folder / "notazip.zip"
    notzip.write_bytes(b"these are not the bytes of a zip file" * 10)
    link = zipfile.ZipInfo("link.png")
    link.external_attr = (0o120777 << 16)
    return {
        "not a zip": (notzip, "is not a zip file"),
        "no images": (make_zip(folder / "noimages.zip", {"readme.txt": b"hello", "data.csv": b"1,2"}),
                      "holds no readable image"),
        "traversal": (make_zip(folder / "traversal.zip", {"ok.png": png_bytes(), "../../evil.png": png_bytes(seed=1)}),
                      "unsafe path"),
        "symlink": (make_zip(folder / "symlink.zip", {"ok.png": png_bytes(), link: b"/etc/passwd"}), "symbolic link"),
        "zip bomb": (make_zip(folder / "bomb.zip", {"bomb.png": b"\0" * (20 * 2**20)}), "zip bomb"),
        "huge image": (make_zip(folder / "huge.zip", {"ok.png": png_bytes(), "huge.png": huge_png_bytes()},
                                zipfile.ZIP_STORED), "megapixels"),
        "corrupt image": (make_zip(folder / "corrupt.zip", {"broken.png": png_bytes()[:60]}), "not a readable image"),
    }
