"""One collection at a time per stamp: a lock file in the state directory that survives crashes.

The file holds who, when and which window; it is created with O_EXCL so two processes cannot both
win. A lock whose process is gone (kill -9, power loss) is stale and taken over.
"""
from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path
from typing import Any

_local_holders: set[str] = set()  # lock paths held by this process (the listener runs many sessions)
_mutex = threading.Lock()


class LockBusy(Exception):
    def __init__(self, holder: dict[str, Any]):
        self.holder = holder
        super().__init__(
            "A log collection is already running on this stamp: started "
            f"{holder.get('started', '?')} by {holder.get('user', '?')} (process {holder.get('pid', '?')}) "
            f"for the window {holder.get('window', '?')}. Wait for it to finish, or stop it, before starting another."
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class CollectionLock:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.held = False

    def acquire(self, info: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {**info, "pid": os.getpid(), "hostname": socket.gethostname()}
        for _ in range(3):
            with _mutex:
                try:
                    fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                except FileExistsError:
                    holder = self.read()
                    if holder is None or self._stale(holder):
                        try:
                            os.unlink(self.path)
                        except FileNotFoundError:
                            pass
                        continue
                    raise LockBusy(holder) from None
                with os.fdopen(fd, "w") as f:
                    json.dump(data, f)
                    f.flush()
                    os.fsync(f.fileno())
                _local_holders.add(str(self.path))
                self.held = True
                return
        raise LockBusy(self.read() or {})

    def _stale(self, holder: dict[str, Any]) -> bool:
        pid = holder.get("pid")
        if holder.get("hostname") not in (None, socket.gethostname()):
            return False
        if not isinstance(pid, int):
            return True
        if pid == os.getpid():  # ours: busy only while a session of this process really holds it
            return str(self.path) not in _local_holders
        return not _alive(pid)

    def read(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None

    def release(self) -> None:
        if not self.held:
            return
        with _mutex:
            _local_holders.discard(str(self.path))
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
        self.held = False
