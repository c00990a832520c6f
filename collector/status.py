"""Statuses of a collection and of each of its units, with the transitions allowed between them.

A unit is one role on one host. Its life:

    pending --scan--> scanned --settle--> ok | partial | failed | timed out | stopped
    pending --scan--> failed (host unreachable) | timed out | stopped (before or while listing)

`scanned` is only ever a passing state: the report step settles every scanned unit from what was
delivered and what was cut (collector.manifest.settle_unit). A run:

    running --report--> complete | partial | timed out | stopped | failed
    running --a later run finds its process gone--> incomplete

Anything else is a bug: `advance` refuses it with IllegalTransition.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar


class UnitStatus(StrEnum):
    PENDING = "pending"
    SCANNED = "scanned"
    OK = "ok"
    PARTIAL = "partial"
    FAILED = "failed"
    TIMED_OUT = "timed out"
    STOPPED = "stopped"


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETE = "complete"
    PARTIAL = "partial"
    TIMED_OUT = "timed out"
    STOPPED = "stopped"
    FAILED = "failed"
    INCOMPLETE = "incomplete"


_SETTLED = frozenset({UnitStatus.OK, UnitStatus.PARTIAL, UnitStatus.FAILED, UnitStatus.TIMED_OUT, UnitStatus.STOPPED})

UNIT_TRANSITIONS: dict[UnitStatus, frozenset[UnitStatus]] = {
    UnitStatus.PENDING: frozenset({UnitStatus.SCANNED, UnitStatus.FAILED, UnitStatus.TIMED_OUT, UnitStatus.STOPPED}),
    UnitStatus.SCANNED: _SETTLED,
    **{s: frozenset() for s in _SETTLED},
}

RUN_TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.RUNNING: frozenset(set(RunStatus) - {RunStatus.RUNNING}),
    **{s: frozenset() for s in RunStatus if s is not RunStatus.RUNNING},
}


class IllegalTransition(RuntimeError):
    """A status change the tables above do not allow: a bug in the engine, never a user's error."""


S = TypeVar("S", UnitStatus, RunStatus)


def advance(table: dict[S, frozenset[S]], current: S, new: S) -> S:
    """`new` when `table` allows current -> new; else IllegalTransition."""
    if new not in table[current]:
        raise IllegalTransition(f"{type(current).__name__}: {current.value!r} -> {new.value!r} is not allowed")
    return new


class CutKind(StrEnum):
    """Why a file in the window is not (whole) in the bundle."""

    STOPPED = "stopped"              # the stop signal
    TIMED_OUT = "timed out"          # TimeOutInMinutes or the host's timeout (also: truncated by it)
    UNREADABLE = "unreadable"        # access denied and the like
    UNREACHABLE = "unreachable"      # its host went away after the listing
    NOT_DELIVERED = "not delivered"  # its zip was built but the destination refused it
    BUILD_FAILED = "build failed"    # an unexpected error while building its zip


@dataclass(frozen=True)
class Cut:
    kind: CutKind
    reason: str  # the sentence the manifest's not_collected and the warnings show


STOPPED_CUT = Cut(CutKind.STOPPED, "stopped")
