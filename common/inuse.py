"""Whether a file is still being written by a live session, in this process or any other.

A writer holds a shared flock on its file for as long as it writes (`hold`); anyone may ask
whether such a hold exists (`in_use`). The kernel drops the flock when the writer's process dies,
so a file left by a crash is never taken for a live one. flock belongs to an open file, so two
sessions of one process (the listener) see each other too.
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path


def hold(path: Path) -> int:
    """Open `path` and hold a shared flock on it; give the descriptor to `release` when done."""
    fd = os.open(path, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_SH)
    return fd


def release(fd: int) -> None:
    os.close(fd)  # closing drops the flock


def in_use(path: Path) -> bool:
    """True while some writer holds `path` (it cannot be locked exclusively right now)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also drops the lock just taken
    return False
