"""The state directory: transcripts, collection history, locks, resume journals, accounts, keys.

Everything is written atomically (temp name, fsync, rename) so a crash never leaves half a file.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def default_state_dir() -> Path:
    env = os.environ.get("PEP_STATE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "azs-pep"


def atomic_write(path: str | Path, data: bytes | str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_json(path: str | Path, value: Any) -> None:
    atomic_write(path, json.dumps(value, indent=2, default=str))


class StateDir:
    """One state directory. Subfolders are created on demand."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else default_state_dir()
        self.path.mkdir(parents=True, exist_ok=True)

    def sub(self, *parts: str) -> Path:
        p = self.path.joinpath(*parts)
        p.mkdir(parents=True, exist_ok=True)
        return p

    @property
    def transcripts(self) -> Path:
        return self.sub("transcripts")
