"""The destination interface: where a finished bundle goes (folder, SMB share, blob container).

The engine builds every zip in a local staging folder, then hands each finished file to the sink.
A sink makes a file visible at the destination only when it is complete (temp name + rename, or
uncommitted blocks + commit), so an interrupted run never leaves a partial file that looks whole.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable, Protocol


class DestinationError(Exception):
    """A destination cannot be used. `error_id` becomes the FullyQualifiedErrorId prefix."""

    def __init__(self, message: str, error_id: str = "DestinationUnavailable", category: str = "ResourceUnavailable"):
        super().__init__(message)
        self.message = message
        self.error_id = error_id
        self.category = category  # name of a psrpcore ErrorCategory member


class Sink(Protocol):
    # A description safe to print and log: never a SAS signature, password or token.
    description: str

    def preflight(self) -> None:
        """Prove the destination accepts writes (logon, permissions, a marker written and removed).
        Raises DestinationError. Called before any collection starts."""
        ...

    def open_bundle(self, bundle_name: str) -> str:
        """Create the bundle folder/prefix (AzureStackLogs-<yyyyMMddHHmmss>-<ERCS>); returns its
        printable location."""
        ...

    def has(self, relpath: str, size: int) -> bool:
        """True when `relpath` inside the bundle is already delivered completely (for resume)."""
        ...

    def deliver(
        self,
        local_path: Path,
        relpath: str,
        progress: Callable[[int], None] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        """Copy/upload one finished file into the bundle; visible at `relpath` only when whole.
        `progress(n)` is called with bytes sent since the last call. Raises DestinationError."""
        ...

    def close(self) -> None: ...
