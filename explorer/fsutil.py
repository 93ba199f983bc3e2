"""Atomic file writes: a kill at any moment leaves either the old file or the new one.

A write that fails (a full disk included) removes its temp file and leaves the old file as it was;
a full disk raises DiskFullError, an OSError whose message names the file and what to do.

Fault injection (tests only): GAN_EXPLORER_WRITE_PAUSE_S=<seconds> makes every atomic write stop
halfway through its temp file for that long, so a test can kill the writer inside the write."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

DISK_FULL = (errno.ENOSPC, errno.EDQUOT)  # no space left, quota exceeded


class DiskFullError(OSError):
    """A write failed because its disk (or the user's quota) is full; str() is the sentence to show."""

    def __str__(self) -> str:
        return self.strerror


def is_disk_full(e: BaseException) -> bool:
    return isinstance(e, OSError) and e.errno in DISK_FULL


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write to a temp file in the same folder, fsync, rename over `path`, fsync the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pause = float(os.environ.get("GAN_EXPLORER_WRITE_PAUSE_S") or 0)
    try:
        with open(tmp, "wb") as f:
            if pause > 0:
                half = len(data) // 2
                f.write(data[:half])
                f.flush()
                time.sleep(pause)
                data = data[half:]
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        if is_disk_full(e) and not isinstance(e, DiskFullError):
            raise DiskFullError(e.errno, f"the disk is full: {path} could not be written ({e.strerror}); "
                                         f"free some space on the disk holding {path.parent}", str(path)) from e
        raise
    finally:
        if tmp.exists():
            tmp.unlink()
    try:
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:  # some filesystems (and Windows) cannot fsync a folder
        pass
    return path


def remove_temp_files(folder: str | os.PathLike) -> list[Path]:
    """Delete the temp files (.NAME.tmp, .NAME.PID.tmp) a killed writer left in `folder`; returns them.
    Call it only when no writer is running there."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    gone = [p for p in folder.glob(".*.tmp") if p.is_file()]
    for p in gone:
        p.unlink(missing_ok=True)
    return gone
