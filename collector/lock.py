"""One collection at a time per stamp: a lock file in the state directory that survives crashes.

The file holds who, when and which window. Ownership is an exclusive flock on it, not the file's
existence: the kernel drops the flock when its process dies (kill -9, power loss), so a stale lock
is simply one nobody has flocked, and two processes can never both win (checking "is the file
there, is its pid alive" and then acting on it raced: a lock being written was read as empty and
taken over). A flock belongs to one open file, so sessions of one process (the listener) exclude
each other too.
"""
from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from typing import Any

from common.processes import this_host
from common.state import StateDir


class LockBusy(Exception):
    def __init__(self, holder: dict[str, Any]):
        self.holder = holder
        super().__init__(
            "A log collection is already running on this stamp: started "
            f"{holder.get('started', '?')} by {holder.get('user', '?')} (process {holder.get('pid', '?')}) "
            f"for the window {holder.get('window', '?')}. Wait for it to finish, or stop it, before starting another."
        )


class CollectionLock:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, info: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise LockBusy(self._holder()) from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # the holder released (and removed) the file between our open and flock: retry
        data = {**info, "pid": os.getpid(), "hostname": this_host()}
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(data).encode())
        os.fsync(fd)
        self._fd = fd

    def _holder(self) -> dict[str, Any]:
        # The holder writes its details just after taking the flock: give it a moment.
        for _ in range(20):
            holder = self.read()
            if holder is not None:
                return holder
            time.sleep(0.005)
        return {}

    def read(self) -> dict[str, Any] | None:
        try:
            holder: dict[str, Any] = json.loads(self.path.read_text())
            return holder
        except (OSError, ValueError):
            return None

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            os.unlink(self.path)  # while still flocked, so nobody flocks the old file after we let go
        except FileNotFoundError:
            pass
        os.close(self._fd)
        self._fd = None


def collection_lock(state: StateDir, stamp_name: str) -> CollectionLock:
    """The one lock of a stamp's collections: every front end's runs take it, and readers look at it."""
    return CollectionLock(state.sub("collector", "locks") / f"{stamp_name}.lock")
