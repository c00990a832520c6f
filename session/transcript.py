"""Session transcripts: every command and its output, as Start-Transcript writes them.

One file per session under <state>/transcripts. Each command's block is appended and flushed to
the operating system when the command ends, so a crash of the process loses at most the command
that was running; the file is fsynced when the session closes (an fsync per command cost ~4 ms,
a third of a remoting round trip). Secrets are scrubbed: SAS signatures in typed input or output
never reach the file.
"""
from __future__ import annotations

import os
import threading
from datetime import datetime
from pathlib import Path


def _scrub(text: str) -> str:
    try:
        from collector.sas import redact_text
    except ImportError:  # pragma: no cover - the scrubber lives with the blob destination
        return text
    return redact_text(text)


_open_paths: set[Path] = set()  # transcripts of this process's sessions still running
_open_lock = threading.Lock()


def is_open(path: Path) -> bool:
    """Whether a session of this process still writes `path` (Close-PrivilegedEndpoint leaves it alone)."""
    with _open_lock:
        return Path(path) in _open_paths


class Transcript:
    def __init__(self, directory: Path, user: str, machine: str):
        self.started = datetime.now()
        stamp = self.started.strftime("%Y%m%d%H%M%S")
        self.path = Path(directory) / f"PowerShell_transcript.{machine.upper()}.{os.getpid()}.{stamp}.{id(self) & 0xFFFF:04x}.txt"
        self._lock = threading.Lock()
        header = (
            "**********************\n"
            "Windows PowerShell transcript start\n"
            f"Start time: {stamp}\n"
            f"Username: {user}\n"
            f"RunAs User: {user}\n"
            f"Configuration Name: PrivilegedEndpoint\n"
            f"Machine: {machine.upper()} (Microsoft Windows NT 10.0.17763.0)\n"
            f"Process ID: {os.getpid()}\n"
            "**********************\n"
        )
        self._append(header)
        with _open_lock:
            _open_paths.add(self.path)

    def _append(self, text: str, sync: bool = False) -> None:
        with self._lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(_scrub(text))
            f.flush()
            if sync:
                os.fsync(f.fileno())

    def command(self, input_text: str, rendered: str) -> None:
        block = f"PS>{input_text}\n{rendered}"
        if rendered and not rendered.endswith("\n"):
            block += "\n"
        self._append(block)

    def close(self) -> None:
        end = datetime.now().strftime("%Y%m%d%H%M%S")
        self._append(f"**********************\nWindows PowerShell transcript end\nEnd time: {end}\n**********************\n", sync=True)
        with _open_lock:
            _open_paths.discard(self.path)
