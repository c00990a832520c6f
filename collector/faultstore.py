"""The faults injected into the stamp, kept in the state directory (`<state>/health/faults.json`).

`pep fault add|list|clear` writes here; everything that looks at the stamp's health (Test-AzureStack,
the alerts, the collection engine's reachable hosts) reads it again each time, so a running
`pep serve` sees a fault as soon as it is added. Writes are atomic (common.state) and serialised
across processes by a lock file (`<state>/health/.lock`).

Configuration seeds the same model (kept for older setups and tests): every host listed in
`faults.unreachable_hosts` is a fault of source "configuration" (a node: node-offline, a VM:
infra-vm-unavailable). Those are not in the store and cannot be cleared with `pep fault clear`.
"""
from __future__ import annotations

import fcntl
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from collector import faultkinds
from collector.faultkinds import FaultKind
from collector.settings import EngineEnv
from collector.stamp import ROLE_NAMES, Stamp
from common.state import atomic_write_json

SOURCE_PEP = "pep fault"
SOURCE_CONFIG = "configuration"


class FaultError(Exception):
    """A fault request that cannot be done (unknown kind, bad target, no such fault): a message."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Fault:
    id: str  # "1", "2", ... (store); "config:<kind>:<target>" (configuration)
    kind: str
    target: str | None
    added: str  # ISO 8601 UTC to the millisecond, "2026-11-25T12:00:00.000Z"
    source: str = SOURCE_PEP

    @property
    def spec(self) -> FaultKind:
        return faultkinds.BY_NAME[self.kind]

    @property
    def key(self) -> str:
        """What identifies the condition, whichever fault made it (one alert per condition)."""
        return f"{self.kind}:{(self.target or '').lower()}"

    def label(self) -> str:
        return f"{self.kind} {self.target}" if self.target else self.kind


def utc_text(t: datetime) -> str:
    """To the millisecond: a fault added right after a collection must not read as raised inside
    that collection's window (whole seconds made the automatic scheduler take it for covered)."""
    return t.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_utc(text: str) -> datetime:
    """Either form: with milliseconds, or whole seconds as earlier state files hold them."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def valid_targets(kind: FaultKind, stamp: Stamp) -> tuple[str, ...]:
    if kind.target == "node":
        return tuple(n.name for n in stamp.nodes)
    if kind.target == "vm":
        return tuple(v.name for v in stamp.vms)
    if kind.target == "role":
        return tuple(r for r in ROLE_NAMES if stamp.roles.get(r))
    if kind.target == "certificate":
        return faultkinds.certificates(kind)
    if kind.target == "share":
        return faultkinds.shares(len(stamp.nodes))
    return ()


def resolve(kind_name: str, target: str | None, stamp: Stamp) -> tuple[FaultKind, str | None]:
    """The kind and the target as the stamp spells it; FaultError with a message saying what is
    accepted otherwise."""
    kind = faultkinds.BY_NAME.get(kind_name.strip().lower())
    if kind is None:
        raise FaultError(f"unknown fault kind '{kind_name}'. Known kinds: {', '.join(faultkinds.BY_NAME)} "
                         "(pep fault kinds lists them with their alerts).")
    if kind.target is None:
        if target:
            raise FaultError(f"fault kind '{kind.name}' takes no target (it is on the whole stamp), got '{target}'.")
        return kind, None
    choices = valid_targets(kind, stamp)
    if not target:
        raise FaultError(f"fault kind '{kind.name}' needs a {kind.target}: one of {', '.join(choices)}.")
    for choice in choices:
        if choice.lower() == target.strip().lower():
            return kind, choice
    raise FaultError(f"'{target}' is not a {kind.target} of stamp {stamp.name}. "
                     f"Fault kind '{kind.name}' takes one of: {', '.join(choices)}.")


def seeded(get: Callable[[str, Any], Any], stamp: Stamp, now: datetime) -> list[Fault]:
    """Faults the configuration seeds: hosts in `faults.unreachable_hosts` (unknown names are left
    alone: the engine still treats them as unreachable, as before)."""
    out: list[Fault] = []
    for name in get("faults.unreachable_hosts", None) or []:
        host = stamp.host(str(name))
        if host is None:
            continue
        kind = "node-offline" if host.kind == "node" else "infra-vm-unavailable"
        out.append(Fault(f"config:{kind}:{host.name}", kind, host.name, utc_text(now), SOURCE_CONFIG))
    return out


class FaultStore:
    def __init__(self, health_dir: Path):
        self.dir = Path(health_dir)
        self.path = self.dir / "faults.json"

    @classmethod
    def of(cls, env: EngineEnv) -> FaultStore:
        return cls(env.state.sub("health"))

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Serialise read-modify-write of the health files across processes."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / ".lock", "a+b") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)

    def _read(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {"next_id": 1, "faults": []}
        except ValueError:
            # A file damaged by hand: start again rather than fail every health read.
            return {"next_id": 1, "faults": []}
        return data

    def active(self) -> list[Fault]:
        out = []
        for f in self._read().get("faults", []):
            if isinstance(f, dict) and f.get("kind") in faultkinds.BY_NAME:
                out.append(Fault(str(f["id"]), str(f["kind"]), f.get("target"), str(f["added"]),
                                 str(f.get("source", SOURCE_PEP))))
        return out

    def add(self, kind: FaultKind, target: str | None, now: datetime) -> tuple[Fault, bool]:
        """(the fault, True) when added; (the active fault, False) when the same one is already there."""
        with self.locked():
            data = self._read()
            key = f"{kind.name}:{(target or '').lower()}"
            for existing in self.active():
                if existing.key == key:
                    return existing, False
            fault = Fault(str(data.get("next_id", 1)), kind.name, target, utc_text(now))
            data["next_id"] = int(data.get("next_id", 1)) + 1
            data.setdefault("faults", []).append(asdict(fault))
            atomic_write_json(self.path, data)
            return fault, True

    def clear(self, fault_id: str) -> Fault:
        with self.locked():
            data = self._read()
            for fault in self.active():
                if fault.id == fault_id.strip():
                    data["faults"] = [f for f in data.get("faults", []) if str(f.get("id")) != fault.id]
                    atomic_write_json(self.path, data)
                    return fault
        if fault_id.startswith("config:"):
            raise FaultError(f"fault {fault_id} comes from the configuration (faults.unreachable_hosts): "
                             "remove it there.")
        raise FaultError(f"no active fault with id '{fault_id}' (pep fault list shows them).")

    def clear_all(self) -> list[Fault]:
        with self.locked():
            gone = self.active()
            data = self._read()
            data["faults"] = []
            atomic_write_json(self.path, data)
            return gone
