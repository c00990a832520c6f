"""The destination interface: where a finished bundle goes (folder, SMB share, blob container).

The engine builds every zip in a local staging folder, then hands each finished file to the sink.
A sink makes a file visible at the destination only when it is complete (temp name + rename, or
uncommitted blocks + commit), so an interrupted run never leaves a partial file that looks whole.

The stop rule, the same for every sink: when `stop` is set during a delivery the sink raises
CollectionStopped (never DestinationError), leaving only its resumable partial state behind; the
engine then reports the zip as stopped, not as a delivery failure.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


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
        `progress(n)` is called with bytes sent since the last call. Raises DestinationError;
        CollectionStopped when `stop` is set (the module's stop rule)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class ListsBundles(Protocol):
    """A sink that can find bundles whose manifest still says "running" (the folder sink)."""

    def running_bundles(self) -> Iterator[tuple[str, dict[str, Any]]]: ...

    def rewrite_manifest(self, bundle_name: str, text: str) -> str: ...


class ReportsResume(Protocol):
    """A sink that says, per delivered file, how much of an interrupted copy it did not send again:
    stats[relpath] with bytes, bytes_skipped and, for blocks, blocks and blocks_skipped."""

    stats: dict[str, dict[str, int]]
