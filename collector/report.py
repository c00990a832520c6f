"""What the engine says while it runs, and to whom: a small typed Reporter a front end implements.

The engine never prints. It calls a Reporter: `line` (the informational text a console shows as
Write-Host), `warning`, `verbose` (detail a front end may hide), `error` (a non-terminating
failure, as a CollectionError value) and `progress` (throttled byte counts). The cmdlets implement
it over their PowerShell command context (cmdlets/engine_bridge.py); the Help + Support service implements it
over its own page; NullReporter drops everything (tests, benchmarks).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from collector.errors import CollectionError


@dataclass(frozen=True)
class Progress:
    """One progress update. `role` None: the whole run; else one role's share. `finished`: the
    activity is over (its bar goes away). Bytes are log bytes read; totals grow while scanning."""

    role: str | None
    done: int
    total: int
    finished: bool = False


class Reporter(Protocol):
    def line(self, text: str) -> None: ...
    def warning(self, text: str) -> None: ...
    def verbose(self, text: str) -> None: ...
    def error(self, error: CollectionError) -> None: ...
    def progress(self, update: Progress) -> None: ...


class NullReporter:
    """Says nothing: for callers that only want the result (and the bundle's output log)."""

    def line(self, text: str) -> None:
        pass

    def warning(self, text: str) -> None:
        pass

    def verbose(self, text: str) -> None:
        pass

    def error(self, error: CollectionError) -> None:
        pass

    def progress(self, update: Progress) -> None:
        pass
